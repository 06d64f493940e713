#pragma once

// France Travail's native formats (adapters/README.md, "France Travail"),
// JSON in UTF-8:
//   inbox   *.json  a job seeker's registration and payments -> one
//                   `job_seeker_status` case to "caf" and "cpam"
//                   ("evenement" absent or "INSCRIPTION"; any other
//                   "evenement" is an unknown case type)
//   outbox  *.json  every case type, in the vocabulary of mapping.toml
//                   ({"evenement": "CHANGEMENT_ADRESSE", ...})
// Immutable after construction: safe to call from any thread.

#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/mapping.h"
#include "adapters/translation/translator.h"

namespace relais::adapters::france_travail {

// The France Travail's mapping file (adapters/france_travail/mapping.toml),
// compiled in.
Result<translation::MappingPtr> FranceTravailMapping();

class FranceTravailTranslator : public translation::Translator {
 public:
  FranceTravailTranslator() : mapping_(FranceTravailMapping()) {}
  // True for "*.json".
  bool Accepts(std::string_view file_name) const override;
  std::string InboxFiles() const override { return "*.json"; }
  // Exactly one case per file. InvalidArgument "field <path>: ..." naming
  // the JSON field that is missing or wrong ("field inscription.categorie:
  // ...", "field paiements[0].montant: ..."), or "not valid JSON: ...".
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

}  // namespace relais::adapters::france_travail
