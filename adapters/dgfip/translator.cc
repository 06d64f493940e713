#include "adapters/dgfip/translator.h"

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/dgfip/mapping_text.h"
#include "adapters/translation/native.h"
#include "core/bytes.h"
#include "core/flatbuf.h"
#include "core/identifiers.h"

namespace relais::adapters::dgfip {
namespace {

namespace native = translation::native;
using native::Digits;
using native::json;

// sitFam codes: M marié, O pacsé, C célibataire, D divorcé, V veuf.
const std::map<std::string, wire::FamilySituation, std::less<>>& SitFam() {
  static const auto* m =
      new std::map<std::string, wire::FamilySituation, std::less<>>{
          {"M", wire::FamilySituation::Married},
          {"O", wire::FamilySituation::Pacsed},
          {"C", wire::FamilySituation::Single},
          {"D", wire::FamilySituation::Divorced},
          {"V", wire::FamilySituation::Widowed}};
  return *m;
}

// A non-empty array of non-empty strings at obj[key].
Result<std::vector<std::string>> Strings(const json& obj, const char* key,
                                         const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array() || it->empty()) {
    return native::FieldError(path, key,
                              "must be a non-empty array of strings");
  }
  std::vector<std::string> out;
  for (const json& s : *it) {
    if (!s.is_string() || s.get_ref<const std::string&>().empty()) {
      return native::FieldError(path, key, "must hold non-empty strings");
    }
    out.push_back(s.get<std::string>());
  }
  return out;
}

// An optional boolean; absent or null is false.
Result<bool> Flag(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean())
    return native::FieldError(path, key, "must be true or false");
  return it->get<bool>();
}

// A taxpayer or dependant: {"nir"?, "nom", "prenoms": [...],
// "dateNaissance", "sexe": "M"|"F"}.
Result<std::unique_ptr<wire::CitizenT>> ReadPerson(const json& p,
                                                   const std::string& path,
                                                   bool nir_required) {
  auto c = std::make_unique<wire::CitizenT>();
  if (nir_required || p.contains("nir")) {
    RELAIS_ASSIGN_OR_RETURN(c->nir, native::Nir(p, "nir", path));
  }
  auto id = std::make_unique<wire::IdentityPivotT>();
  RELAIS_ASSIGN_OR_RETURN(id->birth_name, native::String(p, "nom", path));
  RELAIS_ASSIGN_OR_RETURN(id->given_names, Strings(p, "prenoms", path));
  RELAIS_ASSIGN_OR_RETURN(id->birth_date,
                          native::Date(p, "dateNaissance", path, "birth_date"));
  RELAIS_ASSIGN_OR_RETURN(std::string sex, native::String(p, "sexe", path));
  if (sex != "M" && sex != "F")
    return native::FieldError(path, "sexe", "must be M or F");
  id->sex = sex == "F" ? wire::Sex::Female : wire::Sex::Male;
  if (Status st = NirAgreesWithSex(c->nir, sex == "F"); !st.ok()) {
    return native::FieldError(path, "sexe", st.message());
  }
  if (Status st = NirAgreesWithBirthDate(c->nir, id->birth_date); !st.ok()) {
    return native::FieldError(path, "dateNaissance", st.message());
  }
  c->identity = std::move(id);
  return c;
}

// aft: {"adr": [...], "cp", "ville", "cog"?, "pays"?}.
Result<std::unique_ptr<wire::PostalAddressT>> ReadAft(const json& doc) {
  auto it = doc.find("aft");
  if (it == doc.end() || !it->is_object()) {
    return native::FieldError("", "aft", "must be an object");
  }
  const json& aft = *it;
  RELAIS_RETURN_IF_ERROR(native::CheckKnownFields(
      aft, {"adr", "cp", "ville", "cog", "pays"}, "aft"));
  auto a = std::make_unique<wire::PostalAddressT>();
  RELAIS_ASSIGN_OR_RETURN(a->lines, Strings(aft, "adr", "aft"));
  RELAIS_ASSIGN_OR_RETURN(a->postcode, native::String(aft, "cp", "aft"));
  if (!Digits(a->postcode, 5, 5))
    return native::FieldError("aft", "cp", "must be 5 digits");
  RELAIS_ASSIGN_OR_RETURN(a->city, native::String(aft, "ville", "aft"));
  RELAIS_ASSIGN_OR_RETURN(auto cog, native::OptionalString(aft, "cog", "aft"));
  if (cog && cog->size() != 5) {
    return native::FieldError("aft", "cog", "must be a 5-character COG code");
  }
  RELAIS_ASSIGN_OR_RETURN(auto country,
                          native::OptionalString(aft, "pays", "aft"));
  a->city_cog = cog.value_or("");
  a->country_cog = country.value_or("99100");
  return a;
}

// rfr, nbPart, sitFam, anneeRevenus.
Status ReadTaxFigures(const json& doc, wire::ResourcesUpdateT& r) {
  RELAIS_ASSIGN_OR_RETURN(int64_t year,
                          native::Integer(doc, "anneeRevenus", 2000, 2100, ""));
  r.income_year = static_cast<uint16_t>(year);
  RELAIS_ASSIGN_OR_RETURN(r.reference_tax_income_eur,
                          native::Integer(doc, "rfr", 0, 1000000000000, ""));
  auto parts = doc.find("nbPart");
  if (parts == doc.end()) return native::FieldError("", "nbPart", "missing");
  if (!parts->is_number() || parts->get<double>() < 1 ||
      parts->get<double>() > 99 ||
      std::fmod(parts->get<double>() * 4, 1.0) != 0) {
    return native::FieldError(
        "", "nbPart",
        "must be a number of parts from 1, in quarters (e.g. 2.5)");
  }
  r.tax_parts = parts->get<double>();
  RELAIS_ASSIGN_OR_RETURN(std::string sitfam,
                          native::String(doc, "sitFam", ""));
  auto it = SitFam().find(sitfam);
  if (it == SitFam().end()) {
    return native::FieldError("", "sitFam", "must be M, O, C, D or V");
  }
  r.family_situation = it->second;
  return Status::OK();
}

// pac: [{person, "gardeAlternee"?, "invalidite"?}].
Status ReadDependants(const json& doc, wire::ResourcesUpdateT& r) {
  auto pac = doc.find("pac");
  if (pac == doc.end() || pac->is_null()) return Status::OK();
  if (!pac->is_array())
    return native::FieldError("", "pac", "must be an array");
  for (size_t i = 0; i < pac->size(); ++i) {
    const std::string path = "pac[" + std::to_string(i) + "]";
    const json& p = (*pac)[i];
    if (!p.is_object()) {
      return Status::InvalidArgument("field " + path + ": must be an object");
    }
    RELAIS_RETURN_IF_ERROR(
        native::CheckKnownFields(p,
                                 {"nir", "nom", "prenoms", "dateNaissance",
                                  "sexe", "gardeAlternee", "invalidite"},
                                 path));
    auto d = std::make_unique<wire::DependantT>();
    RELAIS_ASSIGN_OR_RETURN(d->person, ReadPerson(p, path, false));
    RELAIS_ASSIGN_OR_RETURN(d->shared_custody, Flag(p, "gardeAlternee", path));
    RELAIS_ASSIGN_OR_RETURN(d->disabled, Flag(p, "invalidite", path));
    r.dependants.push_back(std::move(d));
  }
  return Status::OK();
}

Result<wire::ResourcesUpdateT> ReadResources(const json& doc) {
  RELAIS_RETURN_IF_ERROR(native::CheckKnownFields(
      doc,
      {"spi", "nir", "nom", "prenoms", "dateNaissance", "sexe", "anneeRevenus",
       "rfr", "nbPart", "sitFam", "pac", "aft", "numeroAllocataire"},
      ""));
  wire::ResourcesUpdateT r;
  RELAIS_ASSIGN_OR_RETURN(r.tax_number, native::String(doc, "spi", ""));
  if (Status st = ValidateFiscalNumber(r.tax_number); !st.ok()) {
    return native::FieldError("", "spi", st.message());
  }
  RELAIS_ASSIGN_OR_RETURN(r.citizen, ReadPerson(doc, "", true));
  RELAIS_RETURN_IF_ERROR(ReadTaxFigures(doc, r));
  RELAIS_RETURN_IF_ERROR(ReadDependants(doc, r));
  RELAIS_ASSIGN_OR_RETURN(r.tax_address, ReadAft(doc));
  auto ref = std::make_unique<wire::AgencyReferenceT>();
  ref->agency = "dgfip";
  ref->identifier = r.tax_number;
  r.references.push_back(std::move(ref));
  RELAIS_ASSIGN_OR_RETURN(auto caf_number,
                          native::OptionalString(doc, "numeroAllocataire", ""));
  if (caf_number) {
    if (!Digits(*caf_number, 1, 7)) {
      return native::FieldError("", "numeroAllocataire",
                                "must be 1 to 7 digits");
    }
    auto caf = std::make_unique<wire::AgencyReferenceT>();
    caf->agency = "caf";
    caf->identifier = *caf_number;
    r.references.push_back(std::move(caf));
  }
  return r;
}

}  // namespace

DgfipTranslator::DgfipTranslator()
    : MappedTranslator(translation::CompiledMapping(
                           kMappingText, "adapters/dgfip/mapping.toml"),
                       {".json"}) {}

Result<std::vector<translation::OutgoingCase>> DgfipTranslator::ReadCases(
    std::string_view, std::string_view contents) const {
  RELAIS_ASSIGN_OR_RETURN(json doc, native::ParseJsonObject(contents));
  RELAIS_ASSIGN_OR_RETURN(auto type,
                          native::OptionalString(doc, "typeEvt", ""));
  std::vector<translation::OutgoingCase> cases(1);
  if (type && *type != "MAJ_RESSOURCES") {
    const translation::Mapping& m = **mapping();
    if (!m.Reads(*type)) {
      return Status::InvalidArgument(
          "field typeEvt: unknown case type (expected MAJ_RESSOURCES or "
          "CHGT_SITFAM)");
    }
    RELAIS_ASSIGN_OR_RETURN(cases[0], m.Read(doc));
    return cases;
  }
  doc.erase("typeEvt");
  RELAIS_ASSIGN_OR_RETURN(wire::ResourcesUpdateT r, ReadResources(doc));
  cases[0] = native::CaseOf(std::move(r));
  return cases;
}

}  // namespace relais::adapters::dgfip
