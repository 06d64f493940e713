#pragma once

// The DGFiP's native formats (adapters/README.md, "DGFiP"), JSON in UTF-8
// with the DGFiP's short codes (spi, rfr, nbPart, sitFam, pac, aft):
//   inbox   *.json  a tax household's resources -> one `resources_update`
//                   case to "caf"
//                   (a document without "typeEvt", or with "MAJ_RESSOURCES");
//                   a change of family situation ("typeEvt": "CHGT_SITFAM",
//                   read by the mapping file) -> one `household_change`
//                   case to "caf"
//   outbox  *.json  every case type, in the vocabulary of mapping.toml
//                   ({"typeEvt": "CHGT_ADR", ...}; an address change's new
//                   address is "aft", the adresse fiscale de taxation)
// Immutable after construction: safe to call from any thread.

#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/mapping.h"
#include "adapters/translation/translator.h"

namespace relais::adapters::dgfip {

// The DGFiP's mapping file (adapters/dgfip/mapping.toml), compiled in.
Result<translation::MappingPtr> DgfipMapping();

class DgfipTranslator : public translation::Translator {
 public:
  DgfipTranslator() : mapping_(DgfipMapping()) {}
  // True for "*.json".
  bool Accepts(std::string_view file_name) const override;
  std::string InboxFiles() const override { return "*.json"; }
  // Exactly one case per file. InvalidArgument "field <path>: ..." naming
  // the DGFiP field that is missing or wrong ("field spi: ...", "field
  // pac[0].dateNaissance: ...", "field aft.cp: ..."), or "not valid JSON".
  Result<std::vector<translation::OutgoingCase>> ReadInbox(
      std::string_view file_name, std::string_view contents) const override;
  // Any case type -> "<case id>-<hex of the first 8 message id bytes>.json"
  // (Mapping::Render). InvalidArgument for a value that cannot be written
  // (a bad NIR or reference, a string that is not UTF-8).
  Result<translation::NativeFile> WriteOutbox(
      const EnvelopeView& envelope,
      const wire::CaseEvent& event) const override;

 private:
  Result<translation::MappingPtr> mapping_;
};

}  // namespace relais::adapters::dgfip
