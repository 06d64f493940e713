#include "core/case_check.h"

#include <flatbuffers/idl.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <set>

#include "core/cases.h"
#include "core/clock.h"
#include "core/identifiers.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais {
namespace {

using flatbuffers::FieldDef;
using flatbuffers::StructDef;
using json = nlohmann::json;
using Pointer = json::json_pointer;

// Fields the case cannot do without, by table (docs/CASES.md, "What each
// case type carries").
const std::map<std::string, std::set<std::string>, std::less<>>&
RequiredFields() {
  static const auto* required =
      new std::map<std::string, std::set<std::string>, std::less<>>{
          {"IdentityPivot", {"birth_name", "given_names", "birth_date", "sex"}},
          {"Citizen", {"identity"}},
          {"PostalAddress", {"lines", "postcode", "city"}},
          {"Dependant", {"person"}},
          {"HouseholdMember", {"person", "relationship"}},
          {"Payment",
           {"benefit", "period_start", "period_end", "amount_cents"}},
          {"Mandate", {"kind", "date"}},
          {"AddressChange", {"citizen", "effective_date", "new_address"}},
          {"Birth", {"stage", "parents"}},
          {"HouseholdChange", {"event", "event_date", "declarant"}},
          {"RsaApplication", {"applicant", "application_date"}},
          {"JobSeekerStatus", {"citizen", "registration_start", "category"}},
          {"ResourcesUpdate",
           {"citizen", "tax_number", "income_year", "reference_tax_income_eur",
            "tax_parts", "family_situation"}},
          {"DeathNotification",
           {"deceased", "death_date", "death_record_number"}},
          {"AssistedCase", {"category", "subject", "citizen", "mandate"}},
          {"AgencyReference", {"agency", "identifier"}},
      };
  return *required;
}

std::string FieldList(const StructDef& table) {
  std::string names;
  for (const FieldDef* f : table.fields.vec) {
    if (f->deprecated) continue;
    names += (names.empty() ? "" : ", ") + f->name;
  }
  return names;
}

std::string EnumNames(const flatbuffers::EnumDef& e) {
  std::string names;
  for (const auto* v : e.Vals()) {
    names += (names.empty() ? "" : ", ") + v->name;
  }
  return names;
}

// One event's walk; problems in document order.
class Checker {
 public:
  explicit Checker(std::vector<CaseProblem>& out) : out_(out) {}

  void Table(const StructDef& table, const json& v, const Pointer& at) {
    if (!v.is_object())
      return Add(at, CaseRule::kNotObject, "must be an object");
    for (const auto& [key, value] : v.items()) {
      const FieldDef* f = table.fields.Lookup(key);
      if (f == nullptr || f->deprecated) {
        Add(at / key, CaseRule::kUnknownField,
            "unknown field; " + table.name + " has " + FieldList(table));
        continue;
      }
      Value(*f, value, at / key);
    }
    for (const FieldDef* f : table.fields.vec) {
      if (!f->deprecated && IsRequiredCaseField(table.name, f->name) &&
          !v.contains(f->name)) {
        Add(at / f->name, CaseRule::kMissing,
            "missing (" + table.name + " needs it)");
      }
    }
    if (table.name == "Citizen") Pivot(v, at);
    if (table.name == "Birth") BirthStage(v, at);
  }

  void Body(const flatbuffers::Parser& schema, const json& event) {
    if (!event.is_object()) {
      return Add(Pointer(), CaseRule::kNotObject, "must be an object");
    }
    for (const auto& [key, value] : event.items()) {
      if (key != "body_type" && key != "body") {
        Add(Pointer() / key, CaseRule::kUnknownField,
            "unknown field; CaseEvent has body_type, body");
      }
    }
    const flatbuffers::EnumDef* bodies =
        schema.enums_.Lookup("relais.wire.CaseBody");
    auto type = event.find("body_type");
    if (type == event.end()) {
      return Add(Pointer("/body_type"), CaseRule::kMissing,
                 "missing (one of " + UnionNames(*bodies) + ")");
    }
    const flatbuffers::EnumVal* member =
        type->is_string() ? bodies->Lookup(type->get<std::string>()) : nullptr;
    if (member == nullptr || member->union_type.struct_def == nullptr) {
      return Add(Pointer("/body_type"), CaseRule::kNotOneOf,
                 "must be one of " + UnionNames(*bodies));
    }
    auto body = event.find("body");
    if (body == event.end()) {
      return Add(Pointer("/body"), CaseRule::kMissing, "missing");
    }
    Table(*member->union_type.struct_def, *body, Pointer("/body"));
  }

 private:
  static std::string UnionNames(const flatbuffers::EnumDef& e) {
    std::string names;
    for (const auto* v : e.Vals()) {
      if (v->union_type.struct_def == nullptr) continue;
      names += (names.empty() ? "" : ", ") + v->name;
    }
    return names;
  }

  void Add(const Pointer& at, CaseRule rule, std::string what) {
    out_.push_back({at, std::move(what), rule, 0, 0});
  }

  void Value(const FieldDef& f, const json& v, const Pointer& at) {
    const flatbuffers::Type& type = f.value.type;
    if (v.is_null()) {
      return Add(at, CaseRule::kNull, "must not be null (leave it out)");
    }
    if (f.name == "references") return References(v, at);
    if (type.base_type == flatbuffers::BASE_TYPE_STRUCT) {
      return Table(*type.struct_def, v, at);
    }
    if (type.base_type != flatbuffers::BASE_TYPE_VECTOR) {
      return Scalar(f, type, v, at);
    }
    if (!v.is_array()) return Add(at, CaseRule::kNotArray, "must be an array");
    if (v.empty()) {
      return Add(at, CaseRule::kEmpty, "must not be empty (leave it out)");
    }
    for (size_t i = 0; i < v.size(); ++i) {
      if (type.element == flatbuffers::BASE_TYPE_STRUCT) {
        Table(*type.struct_def, v[i], at / i);
      } else {
        Scalar(f, type.VectorType(), v[i], at / i);
      }
    }
  }

  void Scalar(const FieldDef& f, const flatbuffers::Type& type, const json& v,
              const Pointer& at) {
    if (type.enum_def != nullptr && !type.enum_def->is_union) {
      if (!v.is_string() ||
          type.enum_def->Lookup(v.get<std::string>()) == nullptr) {
        Add(at, CaseRule::kNotOneOf,
            "must be one of " + EnumNames(*type.enum_def));
      }
      return;
    }
    switch (type.base_type) {
      case flatbuffers::BASE_TYPE_STRING:
        return Text(f.name, v, at);
      case flatbuffers::BASE_TYPE_BOOL:
        if (!v.is_boolean()) {
          Add(at, CaseRule::kNotBool, "must be true or false");
        }
        return;
      case flatbuffers::BASE_TYPE_FLOAT:
      case flatbuffers::BASE_TYPE_DOUBLE:
        if (!v.is_number()) {
          return Add(at, CaseRule::kNotNumber, "must be a number");
        }
        if (f.name == "tax_parts") {
          if (Status st = CheckTaxParts(v.get<double>()); !st.ok()) {
            Add(at, CaseRule::kTaxParts, st.message());
          }
        }
        return;
      default:
        break;
    }
    if (!v.is_number_integer()) {
      return Add(at, CaseRule::kNotInteger, "must be an integer");
    }
    std::pair<int64_t, int64_t> range{INT64_MIN, INT64_MAX};
    if (auto own = FieldRange(f.name)) {
      range = *own;
    } else if (type.base_type == flatbuffers::BASE_TYPE_UCHAR) {
      range = {0, 255};
    } else if (type.base_type == flatbuffers::BASE_TYPE_USHORT) {
      range = {0, 65535};
    } else if (type.base_type == flatbuffers::BASE_TYPE_INT) {
      range = {INT32_MIN, INT32_MAX};
    }
    const bool fits =
        (!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t(INT64_MAX)) &&
        v.get<int64_t>() >= range.first && v.get<int64_t>() <= range.second;
    if (!fits) {
      Add(at, CaseRule::kOutOfRange,
          "must be an integer from " + std::to_string(range.first) + " to " +
              std::to_string(range.second));
      out_.back().min = range.first;
      out_.back().max = range.second;
    }
  }

  void Text(const std::string& field, const json& v, const Pointer& at) {
    if (!v.is_string())
      return Add(at, CaseRule::kNotString, "must be a string");
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty()) {
      return Add(at, CaseRule::kEmpty, "must not be empty (leave it out)");
    }
    if (const size_t bad = InvalidUtf8At(s); bad != s.size()) {
      return Add(at, CaseRule::kNotUtf8,
                 "not UTF-8 at byte " + std::to_string(bad));
    }
    if (!IsCleanText(s, IsMultiLineField(field))) {
      return Add(at, CaseRule::kControlCharacter, "holds a control character");
    }
    if (field == "nir") {
      if (Status st = ValidateNir(s); !st.ok()) {
        Add(at, CaseRule::kNir, st.message());
      }
    } else if (IsDateField(field)) {
      if (Status st = CheckDateValue(field, s); !st.ok()) {
        Add(at, CaseRule::kDate, st.message());
      }
    } else if (IsTaxNumberField(field)) {
      if (Status st = ValidateFiscalNumber(s); !st.ok()) {
        Add(at, CaseRule::kTaxNumber, st.message());
      }
    } else if (field.ends_with("_cog")) {
      const bool corsica = s.size() == 5 && s[0] == '2' &&
                           (s[1] == 'A' || s[1] == 'B') &&
                           IsDigits(s.substr(2));
      if (!(s.size() == 5 && IsDigits(s)) && !corsica) {
        Add(at, CaseRule::kCog,
            "not a COG code (5 digits, or 2A/2B and 3 digits)");
      }
    } else if (field == "postcode") {
      if (s.size() != 5 || !IsDigits(s)) {
        Add(at, CaseRule::kPostcode, "not a postcode (5 digits)");
      }
    }
  }

  void References(const json& v, const Pointer& at) {
    if (!v.is_array()) return Add(at, CaseRule::kNotArray, "must be an array");
    std::set<std::string> agencies;
    for (size_t i = 0; i < v.size(); ++i) {
      const json& r = v[i];
      const Pointer here = at / i;
      if (!r.is_object()) {
        Add(here, CaseRule::kNotObject,
            "must be an object with agency, identifier and scope");
        continue;
      }
      bool typed = true;
      for (const auto& [key, value] : r.items()) {
        if (key != "agency" && key != "identifier" && key != "scope") {
          Add(here / key, CaseRule::kUnknownField,
              "unknown field; AgencyReference has agency, identifier, scope");
          typed = false;
        } else if (!value.is_string() || value.get<std::string>().empty()) {
          Add(here / key,
              value.is_string() ? CaseRule::kEmpty : CaseRule::kNotString,
              "must be a non-empty string");
          typed = false;
        }
      }
      for (const char* key : {"agency", "identifier"}) {
        if (!r.contains(key)) {
          Add(here / key, CaseRule::kMissing,
              "missing (AgencyReference needs it)");
          typed = false;
        }
      }
      if (!typed) continue;
      const std::string agency = r["agency"];
      if (!IsValidParticipantId(agency)) {
        Add(here / "agency", CaseRule::kParticipantId, "not a participant id");
        continue;
      }
      if (!agencies.insert(agency).second) {
        Add(here / "agency", CaseRule::kSecondReference,
            "a second reference for the same agency");
        continue;
      }
      if (Status st = CheckAgencyReference(
              agency, r["identifier"].get<std::string>(), r.value("scope", ""));
          !st.ok()) {
        Add(here / "identifier", CaseRule::kAgencyReference, st.message());
      }
    }
  }

  // The identity pivot against the NIR; the NIR itself is checked as a
  // field, so only a well-formed one is compared.
  void Pivot(const json& citizen, const Pointer& at) {
    if (!citizen.is_object()) return;
    auto nir = citizen.find("nir");
    auto id = citizen.find("identity");
    if (nir == citizen.end() || id == citizen.end() || !nir->is_string() ||
        !id->is_object() || !ValidateNir(nir->get<std::string>()).ok()) {
      return;
    }
    const std::string n = nir->get<std::string>();
    auto sex = id->find("sex");
    if (sex != id->end() && sex->is_string() &&
        (*sex == "Male" || *sex == "Female") &&
        !NirAgreesWithSex(n, *sex == "Female").ok()) {
      Add(at / "identity" / "sex", CaseRule::kNirSex,
          "does not agree with the NIR's first digit");
    }
    auto born = id->find("birth_date");
    if (born != id->end() && born->is_string() &&
        IsValidDate(born->get<std::string>()) &&
        !NirAgreesWithBirthDate(n, born->get<std::string>()).ok()) {
      Add(at / "identity" / "birth_date", CaseRule::kNirBirthDate,
          "does not agree with the birth year and month in the NIR");
    }
  }

  // A birth needs the child's identity, a pregnancy the expected date.
  void BirthStage(const json& birth, const Pointer& at) {
    if (!birth.is_object()) return;
    auto stage = birth.find("stage");
    if (stage == birth.end() || !stage->is_string()) return;
    if (*stage == "Birth" && !birth.contains("child")) {
      Add(at / "child", CaseRule::kMissing,
          "missing (a birth needs the child's identity)");
    }
    if (*stage == "Pregnancy" && !birth.contains("expected_date")) {
      Add(at / "expected_date", CaseRule::kMissing,
          "missing (a pregnancy needs the expected date of birth)");
    }
  }

  std::vector<CaseProblem>& out_;
};

}  // namespace

std::string_view CaseRuleName(CaseRule rule) {
  switch (rule) {
    case CaseRule::kNotObject:
      return "not_object";
    case CaseRule::kUnknownField:
      return "unknown_field";
    case CaseRule::kMissing:
      return "missing";
    case CaseRule::kNull:
      return "null";
    case CaseRule::kNotArray:
      return "not_array";
    case CaseRule::kEmpty:
      return "empty";
    case CaseRule::kNotOneOf:
      return "not_one_of";
    case CaseRule::kNotBool:
      return "not_bool";
    case CaseRule::kNotNumber:
      return "not_number";
    case CaseRule::kNotInteger:
      return "not_integer";
    case CaseRule::kOutOfRange:
      return "out_of_range";
    case CaseRule::kNotString:
      return "not_string";
    case CaseRule::kNotUtf8:
      return "not_utf8";
    case CaseRule::kControlCharacter:
      return "control_character";
    case CaseRule::kNir:
      return "nir";
    case CaseRule::kDate:
      return "date";
    case CaseRule::kTaxNumber:
      return "tax_number";
    case CaseRule::kCog:
      return "cog";
    case CaseRule::kPostcode:
      return "postcode";
    case CaseRule::kTaxParts:
      return "tax_parts";
    case CaseRule::kParticipantId:
      return "participant_id";
    case CaseRule::kSecondReference:
      return "second_reference";
    case CaseRule::kAgencyReference:
      return "agency_reference";
    case CaseRule::kNirSex:
      return "nir_sex";
    case CaseRule::kNirBirthDate:
      return "nir_birth_date";
  }
  return "unknown";
}

bool IsRequiredCaseField(std::string_view table, std::string_view field) {
  auto it = RequiredFields().find(table);
  return it != RequiredFields().end() &&
         it->second.contains(std::string(field));
}

bool IsMultiLineField(std::string_view field) { return field == "description"; }

Status CheckDateValue(std::string_view field, std::string_view iso) {
  if (!IsValidDate(iso)) {
    return Status::InvalidArgument("not a date YYYY-MM-DD");
  }
  if (field != "birth_date" && field != "death_date") return Status::OK();
  // Tomorrow's date in UTC: today somewhere on Earth.
  const time_t tomorrow =
      static_cast<time_t>(Clock::System()->NowMs() / 1000 + 24 * 3600);
  std::tm tm{};
  gmtime_r(&tomorrow, &tm);
  char latest[16];
  std::strftime(latest, sizeof(latest), "%Y-%m-%d", &tm);
  if (iso > std::string_view(latest)) {
    return Status::InvalidArgument(std::string("after today: a ") +
                                   (field == "birth_date" ? "birth" : "death") +
                                   " cannot be in the future");
  }
  return Status::OK();
}

bool IsDateField(std::string_view field) {
  static const std::set<std::string_view> kDates = {"birth_date",
                                                    "effective_date",
                                                    "expected_date",
                                                    "event_date",
                                                    "application_date",
                                                    "registration_start",
                                                    "registration_end",
                                                    "period_start",
                                                    "period_end",
                                                    "death_date",
                                                    "date"};
  return kDates.contains(field);
}

bool IsTaxNumberField(std::string_view field) {
  return field == "tax_number" || field.ends_with("_tax_number");
}

std::optional<std::pair<int64_t, int64_t>> FieldRange(std::string_view field) {
  if (field == "category") return std::pair<int64_t, int64_t>{1, 5};
  if (field == "income_year") return std::pair<int64_t, int64_t>{2000, 2100};
  if (field == "reference_tax_income_eur") {
    return std::pair<int64_t, int64_t>{0, INT64_MAX};
  }
  return std::nullopt;
}

Status CheckTaxParts(double parts) {
  if (!(parts >= 1 && parts <= 99) || std::floor(parts * 4) != parts * 4) {
    return Status::InvalidArgument(
        "must be a number of parts >= 1 in quarters");
  }
  return Status::OK();
}

Status CheckAgencyReference(std::string_view agency, std::string_view id,
                            std::string_view scope) {
  auto digits = [](std::string_view s, size_t min, size_t max) {
    return s.size() >= min && s.size() <= max && IsDigits(s);
  };
  if (agency == "caf") {
    if (!digits(id, 1, 7))
      return Status::InvalidArgument("must be 1 to 7 digits");
    if (!scope.empty() && !digits(scope, 3, 3)) {
      return Status::InvalidArgument("organism must be 3 digits (e.g. 751)");
    }
  } else if (agency == "dgfip") {
    return ValidateFiscalNumber(id);
  } else if (agency == "france-travail") {
    const bool ok = !id.empty() && id.size() <= 11 &&
                    std::all_of(id.begin(), id.end(), [](char c) {
                      return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
                    });
    if (!ok)
      return Status::InvalidArgument("must be 1 to 11 digits or capitals");
  } else if (id.empty() || id.size() > 32) {
    return Status::InvalidArgument("must be 1 to 32 characters");
  }
  return Status::OK();
}

std::string CaseProblem::Path() const {
  std::string path;
  // json_pointer's tokens are not public before 3.11: walk its text.
  const std::string text = where.to_string();
  size_t i = 0;
  while (i < text.size()) {
    const size_t next = text.find('/', i + 1);
    std::string token = text.substr(
        i + 1, next == std::string::npos ? std::string::npos : next - i - 1);
    // ~1 is '/', ~0 is '~' (RFC 6901).
    for (size_t p = 0; (p = token.find('~', p)) != std::string::npos; ++p) {
      token.replace(p, 2, token.compare(p, 2, "~1") == 0 ? "/" : "~");
    }
    if (!token.empty() && IsDigits(token)) {
      path += "[" + token + "]";
    } else {  // a key may be anything a person typed
      path += (path.empty() ? "" : ".") + Escaped(token, 64);
    }
    if (next == std::string::npos) break;
    i = next;
  }
  return path;
}

Result<std::vector<CaseProblem>> CheckCaseEventJson(const json& event) {
  RELAIS_ASSIGN_OR_RETURN(auto schema, CasesSchemaParser());
  std::vector<CaseProblem> problems;
  Checker(problems).Body(*schema, event);
  return problems;
}

}  // namespace relais
