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

#include "adapters/translation/mapping.h"
#include "adapters/translation/translator.h"

namespace relais::adapters::cpam {

// The CPAM's mapping file (adapters/cpam/mapping.toml), compiled in.
Result<translation::MappingPtr> CpamMapping();

class CpamTranslator : public translation::Translator {
 public:
  CpamTranslator() : mapping_(CpamMapping()) {}
  // True for "*.json".
  bool Accepts(std::string_view file_name) const override;
  std::string InboxFiles() const override { return "*.json"; }
  // Exactly one case per file. InvalidArgument "field <path>: ..." naming
  // the JSON field that is missing or wrong ("field assure.nir: NIR key
  // does not match the first 13 characters ..."), or "not valid JSON: ...".
  Result<std::vector<translation::OutgoingCase>> ReadInbox(
      std::string_view file_name, std::string_view contents) const override;
  // Any case type -> "<case id>-<hex of the first 8 message id bytes>.json"
  // (Mapping::Render). InvalidArgument for a value that cannot be written
  // (a bad NIR, a string that is not UTF-8).
  Result<translation::NativeFile> WriteOutbox(
      const EnvelopeView& envelope,
      const wire::CaseEvent& event) const override;

 private:
  Result<translation::MappingPtr> mapping_;
};

}  // namespace relais::adapters::cpam
