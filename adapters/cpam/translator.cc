#include "adapters/cpam/translator.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/cpam/mapping_text.h"
#include "adapters/translation/native.h"
#include "core/bytes.h"
#include "core/flatbuf.h"
#include "core/identifiers.h"
#include "core/ids.h"

namespace relais::adapters::cpam {
namespace {

namespace native = translation::native;
using native::Digits;
using native::json;

// doc[key] if present and not null, else nullptr.
const json* Member(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it == doc.end() || it->is_null() ? nullptr : &*it;
}

// "numero_allocataire_caf" (1 to 7 digits) and its "organisme_caf" (3
// digits), both optional.
Status ReadCafReference(
    const json& doc,
    std::vector<std::unique_ptr<wire::AgencyReferenceT>>& refs) {
  RELAIS_ASSIGN_OR_RETURN(
      auto number, native::OptionalString(doc, "numero_allocataire_caf", ""));
  RELAIS_ASSIGN_OR_RETURN(auto scope,
                          native::OptionalString(doc, "organisme_caf", ""));
  if (!number) {
    if (scope) {
      return Status::InvalidArgument(
          "field organisme_caf: without numero_allocataire_caf");
    }
    return Status::OK();
  }
  if (!Digits(*number, 1, 7)) {
    return Status::InvalidArgument(
        "field numero_allocataire_caf: must be 1 to 7 digits");
  }
  if (scope && !Digits(*scope, 3, 3)) {
    return Status::InvalidArgument(
        "field organisme_caf: must be 3 digits (e.g. 331)");
  }
  auto ref = std::make_unique<wire::AgencyReferenceT>();
  ref->agency = "caf";
  ref->identifier = *number;
  ref->scope = scope.value_or("");
  refs.push_back(std::move(ref));
  return Status::OK();
}

// The stage-specific part: the expected date, or the child.
Status ReadStage(const json& doc, const std::string& type,
                 wire::BirthT& birth) {
  if (type == "declaration_grossesse") {
    birth.stage = wire::BirthStage::Pregnancy;
    RELAIS_ASSIGN_OR_RETURN(birth.expected_date,
                            native::Date(doc, "date_prevue_accouchement", ""));
    return Status::OK();
  }
  birth.stage = wire::BirthStage::Birth;
  const json* child = Member(doc, "enfant");
  if (child == nullptr) return Status::InvalidArgument("field enfant: missing");
  if (child->is_object() && child->contains("nir")) {
    return Status::InvalidArgument(
        "field enfant.nir: not carried (the newborn has none yet)");
  }
  RELAIS_ASSIGN_OR_RETURN(auto c,
                          native::CitizenFromJson(*child, "enfant", false));
  birth.child = std::move(c->identity);
  return Status::OK();
}

Result<translation::OutgoingCase> ReadDeclaration(const json& doc) {
  RELAIS_ASSIGN_OR_RETURN(std::string type, native::String(doc, "type", ""));
  // The stage's own key: the expected date, or the child.
  const bool pregnancy = type == "declaration_grossesse";
  RELAIS_RETURN_IF_ERROR(native::CheckKnownFields(
      doc,
      {"type", "dossier", "assure", "conjoint",
       pregnancy ? "date_prevue_accouchement" : "enfant",
       "numero_allocataire_caf", "organisme_caf"},
      ""));
  wire::BirthT birth;
  const json* insured = Member(doc, "assure");
  if (insured == nullptr) {
    return Status::InvalidArgument("field assure: missing");
  }
  RELAIS_ASSIGN_OR_RETURN(auto parent,
                          native::CitizenFromJson(*insured, "assure"));
  birth.parents.push_back(std::move(parent));
  if (const json* partner = Member(doc, "conjoint")) {
    RELAIS_ASSIGN_OR_RETURN(
        auto other, native::CitizenFromJson(*partner, "conjoint", false));
    birth.parents.push_back(std::move(other));
  }
  RELAIS_RETURN_IF_ERROR(ReadStage(doc, type, birth));
  RELAIS_RETURN_IF_ERROR(ReadCafReference(doc, birth.references));
  RELAIS_ASSIGN_OR_RETURN(auto case_id,
                          native::OptionalString(doc, "dossier", ""));
  if (case_id && !CaseIdProblem(*case_id).empty()) {
    return Status::InvalidArgument("field dossier: " + CaseIdProblem(*case_id));
  }
  translation::OutgoingCase out = native::CaseOf(std::move(birth));
  out.case_id = case_id.value_or("");
  return out;
}

}  // namespace

CpamTranslator::CpamTranslator()
    : MappedTranslator(translation::CompiledMapping(
                           kMappingText, "adapters/cpam/mapping.toml"),
                       {".json"}) {}

Result<std::vector<translation::OutgoingCase>> CpamTranslator::ReadCases(
    std::string_view, std::string_view contents) const {
  RELAIS_ASSIGN_OR_RETURN(json doc, native::ParseJsonObject(contents));
  RELAIS_ASSIGN_OR_RETURN(std::string type, native::String(doc, "type", ""));
  translation::OutgoingCase c;
  if (type == "declaration_grossesse" || type == "naissance") {
    RELAIS_ASSIGN_OR_RETURN(c, ReadDeclaration(doc));
  } else {
    const translation::Mapping& m = **mapping();
    if (!m.Reads(type)) {
      return Status::InvalidArgument(
          "field type: unknown case type (expected declaration_grossesse, "
          "naissance or deces)");
    }
    RELAIS_ASSIGN_OR_RETURN(c, m.Read(doc));
  }
  std::vector<translation::OutgoingCase> out;
  out.push_back(std::move(c));
  return out;
}

}  // namespace relais::adapters::cpam
