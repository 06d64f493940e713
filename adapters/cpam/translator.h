#pragma once

// The CPAM's native formats (adapters/README.md, "CPAM"), JSON in UTF-8:
//   inbox   *.json  a pregnancy declaration ("declaration_grossesse") or a
//                   birth ("naissance") -> one `birth` case to "caf", and to
//                   "dgfip" too for a birth
//   outbox  *.json  address_change as {"type": "changement_adresse", ...},
//                   the insured person ("assure") with the 15-character NIR
// Stateless: safe to call from any thread.

#include <string_view>
#include <vector>

#include "adapters/sdk/adapter.h"

namespace relais::adapters::cpam {

class CpamTranslator : public sdk::Translator {
 public:
  // True for "*.json".
  bool Accepts(std::string_view file_name) const override;
  // Exactly one case per file. InvalidArgument "field <path>: ..." naming
  // the JSON field that is missing or wrong ("field assure.nir: NIR key is
  // 00, expected 87"), or "not valid JSON: ...".
  Result<std::vector<sdk::OutgoingCase>> ReadInbox(
      std::string_view file_name, std::string_view contents) const override;
  // address_change -> "<case id>-<hex of the first 8 message id bytes>.json".
  // InvalidArgument for a value that cannot be written (a bad NIR, a string
  // that is not UTF-8); NotFound "cpam does not take <type> cases yet" for
  // other types.
  Result<sdk::NativeFile> WriteOutbox(
      const EnvelopeView& envelope,
      const wire::CaseEvent& event) const override;
};

}  // namespace relais::adapters::cpam
