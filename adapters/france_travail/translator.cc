#include "adapters/france_travail/translator.h"

#include "adapters/sdk/native.h"
#include "core/bytes.h"
#include "core/flatbuf.h"

namespace relais::adapters::france_travail {
namespace {

namespace native = sdk::native;
using native::json;

Result<std::unique_ptr<wire::PaymentT>> ReadPayment(const json& p, const std::string& path) {
  auto out = std::make_unique<wire::PaymentT>();
  RELAIS_ASSIGN_OR_RETURN(out->benefit, native::String(p, "allocation", path));
  RELAIS_ASSIGN_OR_RETURN(out->period_start, native::Date(p, "debut", path));
  RELAIS_ASSIGN_OR_RETURN(out->period_end, native::Date(p, "fin", path));
  RELAIS_ASSIGN_OR_RETURN(out->amount_cents, native::Cents(p, "montant", path));
  return out;
}

}  // namespace

bool FranceTravailTranslator::Accepts(std::string_view name) const {
  return name.ends_with(".json");
}

Result<std::vector<sdk::OutgoingCase>> FranceTravailTranslator::ReadInbox(
    std::string_view, std::string_view contents) const {
  RELAIS_ASSIGN_OR_RETURN(json doc, native::ParseJson(contents));
  wire::JobSeekerStatusT status;
  RELAIS_ASSIGN_OR_RETURN(status.job_seeker_id, native::String(doc, "identifiant", ""));
  RELAIS_ASSIGN_OR_RETURN(status.citizen,
                          native::CitizenFromJson(doc.value("demandeur", json()), "demandeur"));
  const json reg = doc.value("inscription", json());
  if (!reg.is_object()) return Status::InvalidArgument("field inscription: missing");
  RELAIS_ASSIGN_OR_RETURN(status.registration_start, native::Date(reg, "debut", "inscription"));
  if (reg.contains("fin") && !reg["fin"].is_null()) {
    RELAIS_ASSIGN_OR_RETURN(status.registration_end, native::Date(reg, "fin", "inscription"));
  }
  RELAIS_ASSIGN_OR_RETURN(int64_t category,
                          native::Integer(reg, "categorie", 1, 5, "inscription"));
  status.category = static_cast<uint8_t>(category);
  const json payments = doc.value("paiements", json::array());
  if (!payments.is_array()) return Status::InvalidArgument("field paiements: must be an array");
  for (size_t i = 0; i < payments.size(); ++i) {
    RELAIS_ASSIGN_OR_RETURN(auto p,
                            ReadPayment(payments[i], "paiements[" + std::to_string(i) + "]"));
    status.payments.push_back(std::move(p));
  }
  auto ref = std::make_unique<wire::AgencyReferenceT>();
  ref->agency = "france-travail";
  ref->identifier = status.job_seeker_id;
  status.references.push_back(std::move(ref));
  sdk::OutgoingCase out;
  out.case_type = wire::CaseType::JobSeekerStatus;
  out.recipients = {"caf", "cpam"};
  wire::CaseEventT event;
  event.body.Set(std::move(status));
  out.payload = native::PackEvent(event);
  return std::vector<sdk::OutgoingCase>{std::move(out)};
}

Result<sdk::NativeFile> FranceTravailTranslator::WriteOutbox(
    const EnvelopeView& env, const wire::CaseEvent& event) const {
  const auto* change = event.body_as_AddressChange();
  if (change == nullptr) return native::NotTaken("france-travail", event);
  json doc = {{"evenement", "CHANGEMENT_ADRESSE"},
              {"dossier", std::string(env.case_id)},
              {"message", HexEncode(env.message_id)},
              {"emetteur", std::string(env.sender)},
              {"demandeur", native::CitizenToJson(change->citizen())},
              {"date_effet", StringView(change->effective_date())},
              {"ancienne_adresse", native::AddressToJson(change->old_address())},
              {"nouvelle_adresse", native::AddressToJson(change->new_address())}};
  if (const auto* ref = native::ReferenceFor(change->references(), "france-travail")) {
    doc["identifiant"] = StringView(ref->identifier());
  }
  if (const auto* c = change->contact()) {
    doc["contact"] = {{"courriel", StringView(c->email())}, {"telephone", StringView(c->phone())}};
  }
  return sdk::NativeFile{native::OutboxFileName(env, ".json"), doc.dump(2) + "\n"};
}

}  // namespace relais::adapters::france_travail
