#pragma once

// France Travail's native formats (adapters/README.md, "France Travail"),
// JSON in UTF-8:
//   inbox   *.json  job seeker registration and payments ->
//                   `job_seeker_status` to the CAF and the CPAM
//   outbox  *.json  address_change as {"evenement": "CHANGEMENT_ADRESSE", ...}
// Stateless: safe to call from any thread.

#include "adapters/sdk/adapter.h"

namespace relais::adapters::france_travail {

class FranceTravailTranslator : public sdk::Translator {
 public:
  bool Accepts(std::string_view file_name) const override;
  Result<std::vector<sdk::OutgoingCase>> ReadInbox(std::string_view file_name,
                                                   std::string_view contents) const override;
  Result<sdk::NativeFile> WriteOutbox(const EnvelopeView& envelope,
                                      const wire::CaseEvent& event) const override;
};

}  // namespace relais::adapters::france_travail
