#pragma once

// France Travail's native formats (adapters/README.md, "France Travail"),
// JSON in UTF-8:
//   inbox   *.json  a job seeker's registration and payments -> one
//                   `job_seeker_status` case to "caf" and "cpam"
//   outbox  *.json  address_change as {"evenement": "CHANGEMENT_ADRESSE",
//                   ...} with France Travail's "identifiant" of the citizen
// Stateless: safe to call from any thread.

#include <string_view>
#include <vector>

#include "adapters/sdk/adapter.h"

namespace relais::adapters::france_travail {

class FranceTravailTranslator : public sdk::Translator {
 public:
  // True for "*.json".
  bool Accepts(std::string_view file_name) const override;
  // Exactly one case per file. InvalidArgument "field <path>: ..." naming
  // the JSON field that is missing or wrong ("field inscription.categorie:
  // ...", "field paiements[0].montant: ..."), or "not valid JSON: ...".
  Result<std::vector<sdk::OutgoingCase>> ReadInbox(
      std::string_view file_name, std::string_view contents) const override;
  // address_change -> "<case id>-<hex of the first 8 message id bytes>.json".
  // InvalidArgument for a string that is not UTF-8; NotFound
  // "france-travail does not take <type> cases yet" for other types.
  Result<sdk::NativeFile> WriteOutbox(
      const EnvelopeView& envelope,
      const wire::CaseEvent& event) const override;
};

}  // namespace relais::adapters::france_travail
