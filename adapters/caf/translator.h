#pragma once

// The CAF's native formats (adapters/README.md, "CAF"), both ISO-8859-1:
//   inbox   *.csv  rsa_application batch: ';'-separated, one header line
//                  (kRsaColumns), NIR as 13 characters without key, dates
//                  DD/MM/YYYY, amounts like 0001675.00. Each line becomes
//                  one case (recipients: mapping.toml's [inbox] tables).
//          *.xml   a birth or a change of household, read by the mapping.
//   outbox  *.xml  every case type, in the vocabulary of mapping.toml
//                  (<changementAdresse dossier=...>), NIR without key,
//                  dates DD/MM/YYYY, amounts 0001675.00, booleans O/N.
// Immutable after construction: safe to call from any thread.

#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/mapped_translator.h"

namespace relais::adapters::caf {

class CafTranslator : public translation::MappedTranslator {
 public:
  // adapters/caf/mapping.toml, compiled in; inbox "*.csv" and "*.xml".
  CafTranslator();
  // Any case type -> "<case id>-<hex of the first 8 message id bytes>.xml"
  // in ISO-8859-1. InvalidArgument "field F: ..." for a value that cannot be
  // written (a character outside Latin-1, a control character, a bad NIR or
  // date).
  Result<translation::NativeFile> WriteOutbox(
      const EnvelopeView& envelope,
      const wire::CaseEvent& event) const override;

 protected:
  // *.csv: one rsa_application per data line, in file order.
  // InvalidArgument "line N, field F: ..." for a bad value, "line N: ..."
  // for a line with the wrong number of fields, a wrong header, or a file
  // that is not ISO-8859-1 text (CheckLatin1Text in latin1.h). A file with
  // a header and no data line gives an empty vector.
  // *.xml: a birth (<naissance>) or a change of household
  // (<changementSituation>) in the outbox's XML shape (xml_reader.h), read
  // by the mapping file.
  Result<std::vector<translation::OutgoingCase>> ReadCases(
      std::string_view file_name, std::string_view contents) const override;
};

// The CSV columns, in order; the header line is exactly these names joined
// by ';'.
inline constexpr const char* kRsaColumns[] = {"nir",
                                              "nom_naissance",
                                              "prenoms",
                                              "date_naissance",
                                              "sexe",
                                              "commune_naissance",
                                              "pays_naissance",
                                              "date_demande",
                                              "opposition_css",
                                              "ressources_mensuelles",
                                              "numero_allocataire",
                                              "organisme",
                                              "courriel"};

}  // namespace relais::adapters::caf
