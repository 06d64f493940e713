#pragma once

// The CPAM's native formats (adapters/README.md, "CPAM"), JSON in UTF-8:
//   inbox   *.json  a pregnancy declaration ("declaration_grossesse") or a
//                   birth ("naissance") -> one `birth` case to "caf", and to
//                   "dgfip" too for a birth
//                   a death ("deces", read by the mapping file) -> one
//                   `death_notification` case to the other three agencies
//   outbox  *.json  every case type, in the vocabulary of mapping.toml
//                   ({"type": "changement_adresse", ...}), NIR with its key
// Immutable after construction: safe to call from any thread.

#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/mapped_translator.h"

namespace relais::adapters::cpam {

class CpamTranslator : public translation::MappedTranslator {
 public:
  // adapters/cpam/mapping.toml, compiled in; inbox "*.json".
  CpamTranslator();

 protected:
  // Exactly one case per file. InvalidArgument "field <path>: ..." naming
  // the JSON field that is missing or wrong ("field assure.nir: NIR key
  // does not match the first 13 characters ..."), or "not valid JSON: ...".
  Result<std::vector<translation::OutgoingCase>> ReadCases(
      std::string_view file_name, std::string_view contents) const override;
};

}  // namespace relais::adapters::cpam
