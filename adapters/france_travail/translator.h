#pragma once

// France Travail's native formats (adapters/README.md, "France Travail"),
// JSON in UTF-8:
//   inbox   *.json  a job seeker's registration and payments -> one
//                   `job_seeker_status` case (recipients: mapping.toml's
//                   [inbox] tables)
//                   ("evenement" absent or "INSCRIPTION"; any other
//                   "evenement" is an unknown case type)
//   outbox  *.json  every case type, in the vocabulary of mapping.toml
//                   ({"evenement": "CHANGEMENT_ADRESSE", ...})
// Immutable after construction: safe to call from any thread.

#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/mapped_translator.h"

namespace relais::adapters::france_travail {

class FranceTravailTranslator : public translation::MappedTranslator {
 public:
  // adapters/france_travail/mapping.toml, compiled in; inbox "*.json".
  FranceTravailTranslator();

 protected:
  // Exactly one case per file. InvalidArgument "field <path>: ..." naming
  // the JSON field that is missing or wrong ("field inscription.categorie:
  // ...", "field paiements[0].montant: ..."), or "not valid JSON: ...".
  Result<std::vector<translation::OutgoingCase>> ReadCases(
      std::string_view file_name, std::string_view contents) const override;
};

}  // namespace relais::adapters::france_travail
