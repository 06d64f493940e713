#include "adapters/dgfip/translator.h"

#include <cmath>
#include <cstring>
#include <map>

#include "adapters/sdk/native.h"
#include "core/bytes.h"
#include "core/flatbuf.h"
#include "core/identifiers.h"

namespace relais::adapters::dgfip {
namespace {

namespace native = sdk::native;
using native::json;

// sitFam codes: M marié, O pacsé, C célibataire, D divorcé, V veuf.
const std::map<std::string, wire::FamilySituation>& SitFam() {
  static const std::map<std::string, wire::FamilySituation> m = {
      {"M", wire::FamilySituation::Married},  {"O", wire::FamilySituation::Pacsed},
      {"C", wire::FamilySituation::Single},   {"D", wire::FamilySituation::Divorced},
      {"V", wire::FamilySituation::Widowed}};
  return m;
}

// {"adr": [...], "cp", "ville", "cog"} <-> PostalAddress.
json AftJson(const wire::PostalAddress* a) {
  json j = native::AddressToJson(a);
  return {{"adr", j.value("lignes", json::array())},
          {"cp", j.value("code_postal", "")},
          {"ville", j.value("commune", "")},
          {"cog", j.value("code_commune", "")}};
}

Result<std::unique_ptr<wire::PostalAddressT>> AftFromJson(const json& aft) {
  if (!aft.is_object()) return Status::InvalidArgument("field aft: must be an object");
  json common = {{"lignes", aft.value("adr", json())},
                 {"code_postal", aft.value("cp", json())},
                 {"commune", aft.value("ville", json())},
                 {"code_commune", aft.value("cog", json())}};
  auto a = native::AddressFromJson(common, "aft");
  if (!a.ok()) {  // name the DGFiP fields, not the common ones
    std::string m = a.status().message();
    for (auto [from, to] : {std::pair{"aft.lignes", "aft.adr"}, {"aft.code_postal", "aft.cp"},
                            {"aft.commune", "aft.ville"}, {"aft.code_commune", "aft.cog"}}) {
      if (auto p = m.find(from); p != std::string::npos) m.replace(p, strlen(from), to);
    }
    return Status::InvalidArgument(m);
  }
  return a;
}

// A taxpayer or dependant: {"nir"?, "nom", "prenoms", "dateNaissance", "sexe"}.
Result<std::unique_ptr<wire::CitizenT>> PersonFromJson(const json& p, const std::string& path,
                                                       bool nir_required) {
  if (!p.is_object()) return Status::InvalidArgument("field " + path + ": must be an object");
  json common = {{"nom_naissance", p.value("nom", json())},
                 {"prenoms", p.value("prenoms", json())},
                 {"date_naissance", p.value("dateNaissance", json())},
                 {"sexe", p.value("sexe", json())}};
  if (p.contains("nir")) common["nir"] = p["nir"];
  auto c = native::CitizenFromJson(common, path, nir_required);
  if (!c.ok()) {
    std::string m = c.status().message();
    for (auto [from, to] : {std::pair{".nom_naissance", ".nom"},
                            {".date_naissance", ".dateNaissance"}}) {
      if (auto pos = m.find(from); pos != std::string::npos) m.replace(pos, strlen(from), to);
    }
    return Status::InvalidArgument(m);
  }
  return c;
}

Result<wire::ResourcesUpdateT> ReadResources(const json& doc) {
  wire::ResourcesUpdateT r;
  RELAIS_ASSIGN_OR_RETURN(r.tax_number, native::String(doc, "spi", ""));
  if (Status st = ValidateFiscalNumber(r.tax_number); !st.ok()) {
    return Status::InvalidArgument("field spi: " + st.message());
  }
  RELAIS_ASSIGN_OR_RETURN(r.citizen, PersonFromJson(doc, "declarant", true));
  RELAIS_ASSIGN_OR_RETURN(int64_t year, native::Integer(doc, "anneeRevenus", 2000, 2100, ""));
  r.income_year = static_cast<uint16_t>(year);
  RELAIS_ASSIGN_OR_RETURN(r.reference_tax_income_eur,
                          native::Integer(doc, "rfr", 0, 1000000000, ""));
  auto parts = doc.find("nbPart");
  if (parts == doc.end() || !parts->is_number() || parts->get<double>() < 1 ||
      parts->get<double>() > 50 || std::fmod(parts->get<double>() * 4, 1.0) != 0) {
    return Status::InvalidArgument("field nbPart: must be a number of parts like 2.5");
  }
  r.tax_parts = parts->get<double>();
  RELAIS_ASSIGN_OR_RETURN(std::string sitfam, native::String(doc, "sitFam", ""));
  auto it = SitFam().find(sitfam);
  if (it == SitFam().end()) {
    return Status::InvalidArgument("field sitFam: must be M, O, C, D or V, not '" + sitfam + "'");
  }
  r.family_situation = it->second;
  const json pac = doc.value("pac", json::array());
  if (!pac.is_array()) return Status::InvalidArgument("field pac: must be an array");
  for (size_t i = 0; i < pac.size(); ++i) {
    const std::string path = "pac[" + std::to_string(i) + "]";
    auto d = std::make_unique<wire::DependantT>();
    RELAIS_ASSIGN_OR_RETURN(d->person, PersonFromJson(pac[i], path, false));
    d->shared_custody = pac[i].value("gardeAlternee", false);
    r.dependants.push_back(std::move(d));
  }
  if (doc.contains("aft")) {
    RELAIS_ASSIGN_OR_RETURN(r.tax_address, AftFromJson(doc["aft"]));
  }
  return r;
}

}  // namespace

bool DgfipTranslator::Accepts(std::string_view name) const { return name.ends_with(".json"); }

Result<std::vector<sdk::OutgoingCase>> DgfipTranslator::ReadInbox(
    std::string_view, std::string_view contents) const {
  RELAIS_ASSIGN_OR_RETURN(json doc, native::ParseJson(contents));
  RELAIS_ASSIGN_OR_RETURN(wire::ResourcesUpdateT r, ReadResources(doc));
  auto ref = std::make_unique<wire::AgencyReferenceT>();
  ref->agency = "dgfip";
  ref->identifier = r.tax_number;
  r.references.push_back(std::move(ref));
  RELAIS_ASSIGN_OR_RETURN(auto caf_number, native::OptionalString(doc, "numeroAllocataire", ""));
  if (caf_number) {
    auto caf = std::make_unique<wire::AgencyReferenceT>();
    caf->agency = "caf";
    caf->identifier = *caf_number;
    r.references.push_back(std::move(caf));
  }
  sdk::OutgoingCase out;
  out.case_type = wire::CaseType::ResourcesUpdate;
  out.recipients = {"caf"};
  wire::CaseEventT event;
  event.body.Set(std::move(r));
  out.payload = native::PackEvent(event);
  return std::vector<sdk::OutgoingCase>{std::move(out)};
}

Result<sdk::NativeFile> DgfipTranslator::WriteOutbox(const EnvelopeView& env,
                                                     const wire::CaseEvent& event) const {
  const auto* change = event.body_as_AddressChange();
  if (change == nullptr) return native::NotTaken("dgfip", event);
  const json person = native::CitizenToJson(change->citizen());
  json doc = {{"typeEvt", "CHGT_ADR"},
              {"dossier", std::string(env.case_id)},
              {"message", HexEncode(env.message_id)},
              {"emetteur", std::string(env.sender)},
              {"nir", person.value("nir", "")},
              {"nom", person.value("nom_naissance", "")},
              {"prenoms", person.value("prenoms", json::array())},
              {"dateNaissance", person.value("date_naissance", "")},
              {"dateEffet", StringView(change->effective_date())},
              {"aft", AftJson(change->new_address())},
              {"ancienneAdresse", AftJson(change->old_address())}};
  if (const auto* ref = native::ReferenceFor(change->references(), "dgfip")) {
    doc["spi"] = StringView(ref->identifier());
  }
  return sdk::NativeFile{native::OutboxFileName(env, ".json"), doc.dump(2) + "\n"};
}

}  // namespace relais::adapters::dgfip
