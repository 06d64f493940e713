#include "adapters/france_travail/translator.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/france_travail/mapping_text.h"
#include "adapters/translation/native.h"
#include "core/bytes.h"
#include "core/flatbuf.h"

namespace relais::adapters::france_travail {
namespace {

namespace native = translation::native;
using native::json;

Status Bad(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("field " + field + ": " + what);
}

// France Travail's identifier: 1 to 11 digits and capital letters
// (commonly 7 digits and a letter, "1234567A").
bool IsJobSeekerId(std::string_view s) {
  if (s.empty() || s.size() > 11) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

// A benefit code: 2 to 8 capital letters ("ARE", "ASS", "AREF").
bool IsBenefitCode(std::string_view s) {
  if (s.size() < 2 || s.size() > 8) return false;
  for (char c : s) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// {"allocation", "debut", "fin", "montant": "1234.56"}.
Result<std::unique_ptr<wire::PaymentT>> ReadPayment(const json& p,
                                                    const std::string& path) {
  if (!p.is_object()) {
    return Status::InvalidArgument("field " + path + ": must be an object");
  }
  RELAIS_RETURN_IF_ERROR(native::CheckKnownFields(
      p, {"allocation", "debut", "fin", "montant"}, path));
  auto out = std::make_unique<wire::PaymentT>();
  RELAIS_ASSIGN_OR_RETURN(out->benefit, native::String(p, "allocation", path));
  if (!IsBenefitCode(out->benefit)) {
    return Bad(path + ".allocation",
               "not a benefit code (2 to 8 capitals, like ARE)");
  }
  RELAIS_ASSIGN_OR_RETURN(out->period_start, native::Date(p, "debut", path));
  RELAIS_ASSIGN_OR_RETURN(out->period_end, native::Date(p, "fin", path));
  if (out->period_end < out->period_start) {
    return Bad(path + ".fin", "before debut");
  }
  RELAIS_ASSIGN_OR_RETURN(std::string amount,
                          native::String(p, "montant", path));
  auto cents = native::ParseAmount(amount);
  if (!cents) {
    return Bad(path + ".montant", "not an amount like \"1234.56\"");
  }
  out->amount_cents = *cents;
  return out;
}

// inscription: {"debut", "fin": date or null, "categorie": 1 to 5}.
Status ReadRegistration(const json& doc, wire::JobSeekerStatusT& status) {
  auto it = doc.find("inscription");
  if (it == doc.end() || it->is_null()) return Bad("inscription", "missing");
  if (!it->is_object()) return Bad("inscription", "must be an object");
  const json& reg = *it;
  RELAIS_RETURN_IF_ERROR(native::CheckKnownFields(
      reg, {"debut", "fin", "categorie"}, "inscription"));
  RELAIS_ASSIGN_OR_RETURN(status.registration_start,
                          native::Date(reg, "debut", "inscription"));
  RELAIS_ASSIGN_OR_RETURN(auto end,
                          native::OptionalString(reg, "fin", "inscription"));
  if (end) {
    RELAIS_ASSIGN_OR_RETURN(status.registration_end,
                            native::Date(reg, "fin", "inscription"));
    if (status.registration_end < status.registration_start) {
      return Bad("inscription.fin", "before inscription.debut");
    }
  }
  RELAIS_ASSIGN_OR_RETURN(
      int64_t category, native::Integer(reg, "categorie", 1, 5, "inscription"));
  status.category = static_cast<uint8_t>(category);
  return Status::OK();
}

Result<wire::JobSeekerStatusT> ReadStatus(const json& doc) {
  RELAIS_RETURN_IF_ERROR(native::CheckKnownFields(
      doc, {"identifiant", "demandeur", "inscription", "paiements"}, ""));
  wire::JobSeekerStatusT status;
  RELAIS_ASSIGN_OR_RETURN(status.job_seeker_id,
                          native::String(doc, "identifiant", ""));
  if (!IsJobSeekerId(status.job_seeker_id)) {
    return Bad("identifiant",
               "must be 1 to 11 digits and capital letters (e.g. 1234567A)");
  }
  auto seeker = doc.find("demandeur");
  if (seeker == doc.end() || seeker->is_null()) {
    return Bad("demandeur", "missing");
  }
  RELAIS_ASSIGN_OR_RETURN(status.citizen,
                          native::CitizenFromJson(*seeker, "demandeur"));
  RELAIS_RETURN_IF_ERROR(ReadRegistration(doc, status));
  auto payments = doc.find("paiements");
  if (payments != doc.end() && !payments->is_null()) {
    if (!payments->is_array()) return Bad("paiements", "must be an array");
    for (size_t i = 0; i < payments->size(); ++i) {
      RELAIS_ASSIGN_OR_RETURN(
          auto p,
          ReadPayment((*payments)[i], "paiements[" + std::to_string(i) + "]"));
      status.payments.push_back(std::move(p));
    }
  }
  auto ref = std::make_unique<wire::AgencyReferenceT>();
  ref->agency = "france-travail";
  ref->identifier = status.job_seeker_id;
  status.references.push_back(std::move(ref));
  return status;
}

}  // namespace

FranceTravailTranslator::FranceTravailTranslator()
    : MappedTranslator(
          translation::CompiledMapping(kMappingText,
                                       "adapters/france_travail/mapping.toml"),
          {".json"}) {}

Result<std::vector<translation::OutgoingCase>>
FranceTravailTranslator::ReadCases(std::string_view,
                                   std::string_view contents) const {
  RELAIS_ASSIGN_OR_RETURN(json doc, native::ParseJsonObject(contents));
  RELAIS_ASSIGN_OR_RETURN(auto type,
                          native::OptionalString(doc, "evenement", ""));
  if (type && *type != "INSCRIPTION") {
    return Status::InvalidArgument(
        "field evenement: unknown case type (expected INSCRIPTION)");
  }
  doc.erase("evenement");
  RELAIS_ASSIGN_OR_RETURN(wire::JobSeekerStatusT status, ReadStatus(doc));
  std::vector<translation::OutgoingCase> cases;
  cases.push_back(native::CaseOf(std::move(status)));
  return cases;
}

}  // namespace relais::adapters::france_travail
