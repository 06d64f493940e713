#pragma once

// The DGFiP's native formats (adapters/README.md, "DGFiP"), JSON in UTF-8
// with the DGFiP's short codes (spi, rfr, nbPart, sitFam, pac, aft):
//   inbox   *.json  tax resources -> `resources_update` to the CAF
//   outbox  *.json  address_change as {"typeEvt": "CHGT_ADR", ...} with the
//                   new address as "aft" (adresse fiscale de taxation)
// Stateless: safe to call from any thread.

#include "adapters/sdk/adapter.h"

namespace relais::adapters::dgfip {

class DgfipTranslator : public sdk::Translator {
 public:
  bool Accepts(std::string_view file_name) const override;
  Result<std::vector<sdk::OutgoingCase>> ReadInbox(std::string_view file_name,
                                                   std::string_view contents) const override;
  Result<sdk::NativeFile> WriteOutbox(const EnvelopeView& envelope,
                                      const wire::CaseEvent& event) const override;
};

}  // namespace relais::adapters::dgfip
