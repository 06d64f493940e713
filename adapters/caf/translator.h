#pragma once

// The CAF's native formats (adapters/README.md, "CAF"):
//   inbox   *.csv  rsa_application batch, ISO-8859-1, ';'-separated, one
//                  header line, NIR as 13 characters without key, dates
//                  DD/MM/YYYY, amounts like 0001675.00
//   outbox  *.xml  address_change, ISO-8859-1 XML
// Stateless: safe to call from any thread.

#include "adapters/sdk/adapter.h"

namespace relais::adapters::caf {

class CafTranslator : public sdk::Translator {
 public:
  bool Accepts(std::string_view file_name) const override;
  Result<std::vector<sdk::OutgoingCase>> ReadInbox(std::string_view file_name,
                                                   std::string_view contents) const override;
  Result<sdk::NativeFile> WriteOutbox(const EnvelopeView& envelope,
                                      const wire::CaseEvent& event) const override;
};

// The CSV columns, in order.
inline constexpr const char* kRsaColumns[] = {
    "nir",          "nom_naissance",   "prenoms",        "date_naissance",
    "sexe",         "commune_naissance", "pays_naissance", "date_demande",
    "opposition_css", "ressources_mensuelles", "numero_allocataire", "organisme",
    "courriel"};

}  // namespace relais::adapters::caf
