#pragma once

// The DGFiP's native formats (adapters/README.md, "DGFiP"), JSON in UTF-8
// with the DGFiP's short codes (spi, rfr, nbPart, sitFam, pac, aft):
//   inbox   *.json  a tax household's resources -> one `resources_update`
//                   case (a document without "typeEvt", or with
//                   "MAJ_RESSOURCES");
//                   a change of family situation ("typeEvt": "CHGT_SITFAM",
//                   read by the mapping file) -> one `household_change`
//                   case
//                   (recipients: mapping.toml's [inbox] tables)
//   outbox  *.json  every case type, in the vocabulary of mapping.toml
//                   ({"typeEvt": "CHGT_ADR", ...}; an address change's new
//                   address is "aft", the adresse fiscale de taxation)
// Immutable after construction: safe to call from any thread.

#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/mapped_translator.h"

namespace relais::adapters::dgfip {

class DgfipTranslator : public translation::MappedTranslator {
 public:
  // adapters/dgfip/mapping.toml, compiled in; inbox "*.json".
  DgfipTranslator();

 protected:
  // Exactly one case per file. InvalidArgument "field <path>: ..." naming
  // the DGFiP field that is missing or wrong ("field spi: ...", "field
  // pac[0].dateNaissance: ...", "field aft.cp: ..."), or "not valid JSON".
  Result<std::vector<translation::OutgoingCase>> ReadCases(
      std::string_view file_name, std::string_view contents) const override;
};

}  // namespace relais::adapters::dgfip
