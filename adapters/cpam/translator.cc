#include "adapters/cpam/translator.h"

#include "adapters/sdk/native.h"
#include "core/bytes.h"
#include "core/flatbuf.h"

namespace relais::adapters::cpam {
namespace {

namespace native = sdk::native;
using native::json;

json ContactJson(const wire::Contact* c) {
  if (c == nullptr) return json::object();
  return {{"courriel", StringView(c->email())}, {"telephone", StringView(c->phone())}};
}

}  // namespace

bool CpamTranslator::Accepts(std::string_view name) const { return name.ends_with(".json"); }

Result<std::vector<sdk::OutgoingCase>> CpamTranslator::ReadInbox(
    std::string_view, std::string_view contents) const {
  RELAIS_ASSIGN_OR_RETURN(json doc, native::ParseJson(contents));
  RELAIS_ASSIGN_OR_RETURN(std::string type, native::String(doc, "type", ""));
  if (type != "declaration_grossesse" && type != "naissance") {
    return Status::InvalidArgument(
        "field type: must be declaration_grossesse or naissance, not '" + type + "'");
  }
  wire::BirthT birth;
  RELAIS_ASSIGN_OR_RETURN(auto insured, native::CitizenFromJson(doc.value("assure", json()),
                                                                "assure"));
  birth.parents.push_back(std::move(insured));
  if (doc.contains("conjoint")) {
    RELAIS_ASSIGN_OR_RETURN(auto partner, native::CitizenFromJson(doc["conjoint"], "conjoint"));
    birth.parents.push_back(std::move(partner));
  }
  sdk::OutgoingCase out;
  out.recipients = {"caf"};
  if (type == "declaration_grossesse") {
    birth.stage = wire::BirthStage::Pregnancy;
    RELAIS_ASSIGN_OR_RETURN(birth.expected_date,
                            native::Date(doc, "date_prevue_accouchement", ""));
  } else {
    birth.stage = wire::BirthStage::Birth;
    RELAIS_ASSIGN_OR_RETURN(auto child, native::CitizenFromJson(doc.value("enfant", json()),
                                                                "enfant", false));
    birth.child = std::move(child->identity);
    out.recipients.push_back("dgfip");
  }
  RELAIS_ASSIGN_OR_RETURN(auto caf_number,
                          native::OptionalString(doc, "numero_allocataire_caf", ""));
  if (caf_number) {
    auto ref = std::make_unique<wire::AgencyReferenceT>();
    ref->agency = "caf";
    ref->identifier = *caf_number;
    birth.references.push_back(std::move(ref));
  }
  RELAIS_ASSIGN_OR_RETURN(auto case_id, native::OptionalString(doc, "dossier", ""));
  out.case_id = case_id.value_or("");
  out.case_type = wire::CaseType::Birth;
  wire::CaseEventT event;
  event.body.Set(std::move(birth));
  out.payload = native::PackEvent(event);
  return std::vector<sdk::OutgoingCase>{std::move(out)};
}

Result<sdk::NativeFile> CpamTranslator::WriteOutbox(const EnvelopeView& env,
                                                    const wire::CaseEvent& event) const {
  const auto* change = event.body_as_AddressChange();
  if (change == nullptr) return native::NotTaken("cpam", event);
  json doc = {{"type", "changement_adresse"},
              {"dossier", std::string(env.case_id)},
              {"message", HexEncode(env.message_id)},
              {"emetteur", std::string(env.sender)},
              {"assure", native::CitizenToJson(change->citizen())},
              {"date_effet", StringView(change->effective_date())},
              {"ancienne_adresse", native::AddressToJson(change->old_address())},
              {"nouvelle_adresse", native::AddressToJson(change->new_address())},
              {"contact", ContactJson(change->contact())}};
  if (const auto* ref = native::ReferenceFor(change->references(), "cpam")) {
    doc["numero_assure"] = StringView(ref->identifier());
  }
  return sdk::NativeFile{native::OutboxFileName(env, ".json"), doc.dump(2) + "\n"};
}

}  // namespace relais::adapters::cpam
