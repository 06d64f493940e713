#pragma once

// The CPAM's native formats (adapters/README.md, "CPAM"), JSON in UTF-8:
//   inbox   *.json  pregnancy declaration or birth -> `birth` case to the
//                   CAF (and the DGFiP for a birth)
//   outbox  *.json  address_change as {"type": "changement_adresse", ...}
// Stateless: safe to call from any thread.

#include "adapters/sdk/adapter.h"

namespace relais::adapters::cpam {

class CpamTranslator : public sdk::Translator {
 public:
  bool Accepts(std::string_view file_name) const override;
  Result<std::vector<sdk::OutgoingCase>> ReadInbox(std::string_view file_name,
                                                   std::string_view contents) const override;
  Result<sdk::NativeFile> WriteOutbox(const EnvelopeView& envelope,
                                      const wire::CaseEvent& event) const override;
};

}  // namespace relais::adapters::cpam
