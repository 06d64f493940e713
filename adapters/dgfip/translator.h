#pragma once

// The DGFiP's native formats (adapters/README.md, "DGFiP"), JSON in UTF-8
// with the DGFiP's short codes (spi, rfr, nbPart, sitFam, pac, aft):
//   inbox   *.json  a tax household's resources -> one `resources_update`
//                   case to "caf"
//   outbox  *.json  address_change as {"typeEvt": "CHGT_ADR", ...} with the
//                   new address as "aft" (adresse fiscale de taxation) and
//                   the numéro fiscal as "spi"
// Stateless: safe to call from any thread.

#include <string_view>
#include <vector>

#include "adapters/sdk/adapter.h"

namespace relais::adapters::dgfip {

class DgfipTranslator : public sdk::Translator {
 public:
  // True for "*.json".
  bool Accepts(std::string_view file_name) const override;
  // Exactly one case per file. InvalidArgument "field <path>: ..." naming
  // the DGFiP field that is missing or wrong ("field spi: ...", "field
  // pac[0].dateNaissance: ...", "field aft.cp: ..."), or "not valid JSON".
  Result<std::vector<sdk::OutgoingCase>> ReadInbox(
      std::string_view file_name, std::string_view contents) const override;
  // address_change -> "<case id>-<hex of the first 8 message id bytes>.json".
  // InvalidArgument for a value that cannot be written (an invalid "dgfip"
  // reference, a string that is not UTF-8); NotFound "dgfip does not take
  // <type> cases yet" for other types.
  Result<sdk::NativeFile> WriteOutbox(
      const EnvelopeView& envelope,
      const wire::CaseEvent& event) const override;
};

}  // namespace relais::adapters::dgfip
