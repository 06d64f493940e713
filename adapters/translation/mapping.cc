#include "adapters/translation/mapping.h"

#include <flatbuffers/idl.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "core/bytes.h"
#include "core/case_check.h"
#include "core/cases.h"
#include "core/clock.h"
#include "core/identifiers.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais::translation {
namespace {

using flatbuffers::BaseType;
using flatbuffers::FieldDef;
using flatbuffers::StructDef;
using native::json;

constexpr const char* kMerge = "*";
constexpr const char* kLeftOut = "-";

// A native document without a required field (core/case_check.h) is
// refused naming the native field.
bool IsRequired(const StructDef& table, const FieldDef& field) {
  return IsRequiredCaseField(table.name, field.name);
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

Status Bad(const std::string& path, const std::string& what) {
  return Status::InvalidArgument("field " + path + ": " + what);
}

// The union member table of each case type ("AddressChange").
std::string BodyTableName(wire::CaseType type) {
  return wire::EnumNameCaseType(type);
}

// `cents` as euros with two decimals, the integer part zero-padded to
// `digits` ("0001675.00" for 7).
std::string Euros(int64_t cents, int digits) {
  std::string text = native::FormatAmount(cents < 0 ? -cents : cents);
  const size_t integer = text.find('.');
  if (static_cast<int>(integer) < digits) {
    text.insert(0, static_cast<size_t>(digits) - integer, '0');
  }
  return cents < 0 ? "-" + text : text;
}

std::pair<int64_t, int64_t> RangeOf(const FieldDef& f) {
  if (auto own = FieldRange(f.name)) return *own;
  switch (f.value.type.base_type) {
    case flatbuffers::BASE_TYPE_UCHAR:
      return {0, 255};
    case flatbuffers::BASE_TYPE_USHORT:
      return {0, 65535};
    case flatbuffers::BASE_TYPE_INT:
      return {INT32_MIN, INT32_MAX};
    default:
      return {INT64_MIN, INT64_MAX};
  }
}

// The value of the integer or boolean field `f` in `table` (its default
// if absent).
int64_t ScalarOf(const flatbuffers::Table& table, const FieldDef& f) {
  int64_t def = 0;
  flatbuffers::StringToNumber(f.value.constant.c_str(), &def);
  const auto off = f.value.offset;
  switch (f.value.type.base_type) {
    case flatbuffers::BASE_TYPE_CHAR:
      return table.GetField<int8_t>(off, static_cast<int8_t>(def));
    case flatbuffers::BASE_TYPE_SHORT:
      return table.GetField<int16_t>(off, static_cast<int16_t>(def));
    case flatbuffers::BASE_TYPE_USHORT:
      return table.GetField<uint16_t>(off, static_cast<uint16_t>(def));
    case flatbuffers::BASE_TYPE_INT:
      return table.GetField<int32_t>(off, static_cast<int32_t>(def));
    case flatbuffers::BASE_TYPE_UINT:
      return table.GetField<uint32_t>(off, static_cast<uint32_t>(def));
    case flatbuffers::BASE_TYPE_LONG:
    case flatbuffers::BASE_TYPE_ULONG:
      return table.GetField<int64_t>(off, def);
    default:  // bool, ubyte and the enumerations on them
      return table.GetField<uint8_t>(off, static_cast<uint8_t>(def));
  }
}

}  // namespace

// One document's walk in either direction.
struct Mapping::Walk {
  const Mapping& m;

  // --- Render: canonical JSON (CaseEventToJson) -> native --------------

  Result<json> RenderScalar(const FieldDef& f, const flatbuffers::Type& type,
                            const json& v, const std::string& path) const {
    if (type.enum_def != nullptr && !type.enum_def->is_union) {
      auto codes = m.values_.find(type.enum_def->name);
      if (codes == m.values_.end()) return v;
      auto code = v.is_string() ? codes->second.find(v.get<std::string>())
                                : codes->second.end();
      if (code == codes->second.end()) {
        return Bad(path, "value " + v.dump() + " has no native code");
      }
      return json(code->second);
    }
    if (type.base_type == flatbuffers::BASE_TYPE_STRING) {
      const std::string s = v.get<std::string>();
      if (f.name == "nir") {
        if (Status st = ValidateNir(s); !st.ok())
          return Bad(path, st.message());
        if (m.nir_length_ == 13) return json(*StripNirKey(s));
      } else if (IsDateField(f.name)) {
        if (!IsValidDate(s)) return Bad(path, "not a date YYYY-MM-DD");
        if (m.french_dates_) return json(native::IsoToFrenchDate(s));
      } else if (IsTaxNumberField(f.name)) {
        if (Status st = ValidateFiscalNumber(s); !st.ok()) {
          return Bad(path, st.message());
        }
      }
      return v;
    }
    if (f.name.ends_with("_cents") && v.is_number_integer()) {
      return json(Euros(v.get<int64_t>(), m.amount_digits_));
    }
    if (type.base_type == flatbuffers::BASE_TYPE_BOOL) {
      auto codes = m.values_.find("bool");
      if (codes != m.values_.end()) {
        return json(codes->second.at(v.get<bool>() ? "true" : "false"));
      }
    }
    return v;
  }

  Status RenderReferences(const json& refs, const std::string& path,
                          json& out) const {
    for (const Reference& r : m.references_) {
      for (const json& ref : refs) {
        if (ref.value("agency", "") != r.agency) continue;
        const std::string id = ref.value("identifier", "");
        const std::string scope = ref.value("scope", "");
        if (Status st = CheckAgencyReference(r.agency, id, scope); !st.ok()) {
          return Bad(Join(path, r.identifier_key), st.message());
        }
        out[r.identifier_key] = id;
        if (!r.scope_key.empty() && !scope.empty()) out[r.scope_key] = scope;
        break;
      }
    }
    return Status::OK();
  }

  Status RenderTable(const StructDef& table, const json& canon,
                     const std::string& path, json& out) const {
    for (const FieldDef* f : table.fields.vec) {
      auto it = canon.find(f->name);
      if (f->deprecated || it == canon.end() || it->is_null()) continue;
      if (f->name == "references") {
        RELAIS_RETURN_IF_ERROR(RenderReferences(*it, path, out));
        continue;
      }
      const std::string& name = *m.NativeName(table, *f);
      const flatbuffers::Type& type = f->value.type;
      if (name == kLeftOut) continue;
      if (name == kMerge) {
        RELAIS_RETURN_IF_ERROR(RenderTable(*type.struct_def, *it, path, out));
        continue;
      }
      const std::string p = Join(path, name);
      if (type.base_type == flatbuffers::BASE_TYPE_STRUCT) {
        json child = json::object();
        RELAIS_RETURN_IF_ERROR(RenderTable(*type.struct_def, *it, p, child));
        out[name] = std::move(child);
      } else if (type.base_type == flatbuffers::BASE_TYPE_VECTOR) {
        json items = json::array();
        for (size_t i = 0; i < it->size(); ++i) {
          const std::string ip = p + "[" + std::to_string(i) + "]";
          if (type.element == flatbuffers::BASE_TYPE_STRUCT) {
            json child = json::object();
            RELAIS_RETURN_IF_ERROR(
                RenderTable(*type.struct_def, (*it)[i], ip, child));
            items.push_back(std::move(child));
          } else {
            RELAIS_ASSIGN_OR_RETURN(
                json v, RenderScalar(*f, type.VectorType(), (*it)[i], ip));
            items.push_back(std::move(v));
          }
        }
        out[name] = std::move(items);
      } else {
        RELAIS_ASSIGN_OR_RETURN(out[name], RenderScalar(*f, type, *it, p));
      }
    }
    return Status::OK();
  }

  // --- Read: native JSON -> canonical JSON (CaseEventFromJson) ---------

  // Where a native key of one object goes: the canonical path below the
  // object (more than one name when tables are merged) and its field.
  struct Slot {
    std::vector<std::string> target;
    const FieldDef* field = nullptr;
  };

  // `clashes` (if not null) gets each native name used twice.
  void Collect(const StructDef& table, const std::vector<std::string>& prefix,
               std::map<std::string, Slot>& slots, bool& references,
               std::vector<std::string>* clashes = nullptr) const {
    for (const FieldDef* f : table.fields.vec) {
      if (f->deprecated) continue;
      if (f->name == "references") {
        references = true;
        continue;
      }
      const std::string& name = *m.NativeName(table, *f);
      std::vector<std::string> target = prefix;
      target.push_back(f->name);
      if (name == kLeftOut) continue;
      if (name == kMerge) {
        Collect(*f->value.type.struct_def, target, slots, references, clashes);
        continue;
      }
      if (!slots.emplace(name, Slot{std::move(target), f}).second && clashes) {
        clashes->push_back(name);
      }
    }
  }

  // An enumeration's value from its native code (or its name, without
  // [values.E]).
  Result<json> ReadEnum(const flatbuffers::EnumDef& e, const json& v,
                        const std::string& path) const {
    auto codes = m.values_.find(e.name);
    std::string allowed;
    if (v.is_string()) {
      const std::string s = v.get<std::string>();
      if (codes != m.values_.end()) {
        for (const auto& [name, code] : codes->second) {
          if (code == s) return json(name);
        }
      } else if (e.Lookup(s) != nullptr) {
        return json(s);
      }
    }
    if (codes != m.values_.end()) {
      for (const auto& [name, code] : codes->second) {
        allowed += (allowed.empty() ? "" : ", ") + code;
      }
    } else {
      for (const auto* val : e.Vals()) {
        allowed += (allowed.empty() ? "" : ", ") + val->name;
      }
    }
    return Bad(path, "must be one of " + allowed);
  }

  // A string field, with the NIR, dates and the numéro fiscal checked (and
  // written the way the case wants them).
  Result<json> ReadString(const FieldDef& f, const json& v,
                          const std::string& path) const {
    if (!v.is_string()) return Bad(path, "must be a string");
    std::string s = v.get<std::string>();
    if (s.empty()) return Bad(path, "must not be empty");
    // As PROTOCOL.md 11 asks of every sender (a recipient's format could
    // not carry them, or would carry a forged line).
    if (!IsCleanText(s, IsMultiLineField(f.name))) {
      return Bad(path, "holds a control character");
    }
    if (f.name == "nir") {
      if (m.nir_length_ == 13 && s.size() == 13) {
        auto with_key = AddNirKey(s);
        if (!with_key.ok()) return Bad(path, with_key.status().message());
        return json(*with_key);
      }
      if (Status st = ValidateNir(s); !st.ok()) {
        return Bad(path, st.message());
      }
    } else if (IsDateField(f.name)) {
      if (m.french_dates_) {
        auto iso = native::FrenchToIsoDate(s);
        if (!iso) return Bad(path, "not a date DD/MM/YYYY");
        if (Status st = CheckDateValue(f.name, *iso); !st.ok()) {
          return Bad(path, st.message());
        }
        return json(*iso);
      }
      if (Status st = CheckDateValue(f.name, s); !st.ok()) {
        return Bad(path, st.message());
      }
    } else if (IsTaxNumberField(f.name)) {
      if (Status st = ValidateFiscalNumber(s); !st.ok()) {
        return Bad(path, st.message());
      }
    }
    return json(std::move(s));
  }

  Result<json> ReadScalar(const FieldDef& f, const flatbuffers::Type& type,
                          const json& given, const std::string& path) const {
    json v = given;
    // Numbers written as text (XML): "2025", "2.5".
    if (m.text_values_ && v.is_string() && !f.name.ends_with("_cents") &&
        (flatbuffers::IsInteger(type.base_type) ||
         flatbuffers::IsFloat(type.base_type)) &&
        type.enum_def == nullptr) {
      const std::string s = v.get<std::string>();
      json parsed = json::parse(s, nullptr, false);
      if (!parsed.is_discarded() && parsed.is_number() &&
          s.find_first_not_of("-0123456789.") == std::string::npos) {
        v = std::move(parsed);
      }
    }
    if (type.enum_def != nullptr && !type.enum_def->is_union) {
      return ReadEnum(*type.enum_def, v, path);
    }
    switch (type.base_type) {
      case flatbuffers::BASE_TYPE_STRING:
        return ReadString(f, v, path);
      case flatbuffers::BASE_TYPE_BOOL: {
        auto codes = m.values_.find("bool");
        if (codes == m.values_.end()) {
          if (!v.is_boolean()) return Bad(path, "must be true or false");
          return v;
        }
        if (v.is_string() && v == codes->second.at("true")) return json(true);
        if (v.is_string() && v == codes->second.at("false")) return json(false);
        return Bad(path, "must be " + codes->second.at("true") + " or " +
                             codes->second.at("false"));
      }
      case flatbuffers::BASE_TYPE_FLOAT:
      case flatbuffers::BASE_TYPE_DOUBLE: {
        if (!v.is_number()) return Bad(path, "must be a number");
        const double d = v.get<double>();
        if (f.name == "tax_parts") {
          if (Status st = CheckTaxParts(d); !st.ok()) {
            return Bad(path, st.message());
          }
        }
        return v;
      }
      default:
        break;
    }
    if (f.name.ends_with("_cents")) {
      std::optional<int64_t> cents;
      if (v.is_string()) cents = native::ParseAmount(v.get<std::string>());
      if (!cents) {
        return Bad(path, "must be an amount in euros like \"" +
                             Euros(123456, m.amount_digits_) + "\"");
      }
      return json(*cents);
    }
    const auto [min, max] = RangeOf(f);
    if (!v.is_number_integer() || v.get<int64_t>() < min ||
        v.get<int64_t>() > max) {
      return Bad(path, "must be an integer from " + std::to_string(min) +
                           " to " + std::to_string(max));
    }
    return v;
  }

  Result<json> ReadValue(const FieldDef& f, const json& v,
                         const std::string& path) const {
    const flatbuffers::Type& type = f.value.type;
    if (type.base_type == flatbuffers::BASE_TYPE_STRUCT) {
      return ReadTable(*type.struct_def, v, path, {});
    }
    if (type.base_type != flatbuffers::BASE_TYPE_VECTOR) {
      return ReadScalar(f, type, v, path);
    }
    if (!v.is_array() || v.empty())
      return Bad(path, "must be a non-empty array");
    json items = json::array();
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string ip = path + "[" + std::to_string(i) + "]";
      if (type.element == flatbuffers::BASE_TYPE_STRUCT) {
        RELAIS_ASSIGN_OR_RETURN(json item,
                                ReadTable(*type.struct_def, v[i], ip, {}));
        items.push_back(std::move(item));
      } else {
        RELAIS_ASSIGN_OR_RETURN(json item,
                                ReadScalar(f, type.VectorType(), v[i], ip));
        items.push_back(std::move(item));
      }
    }
    return items;
  }

  // Reads the references of `obj` into canon["references"].
  Status ReadReferences(const json& obj, const std::string& path,
                        json& canon) const {
    for (const Reference& r : m.references_) {
      auto id = obj.find(r.identifier_key);
      auto scope = r.scope_key.empty() ? obj.end() : obj.find(r.scope_key);
      const bool has_scope = scope != obj.end() && !scope->is_null();
      if (id == obj.end() || id->is_null()) {
        if (has_scope) {
          return Bad(Join(path, r.scope_key), "without " + r.identifier_key);
        }
        continue;
      }
      if (!id->is_string() || (has_scope && !scope->is_string())) {
        return Bad(
            Join(path, has_scope && !scope->is_string() ? r.scope_key
                                                        : r.identifier_key),
            "must be a string");
      }
      const std::string scope_text = has_scope ? scope->get<std::string>() : "";
      if (Status st = CheckAgencyReference(r.agency, id->get<std::string>(),
                                           scope_text);
          !st.ok()) {
        return Bad(Join(path, r.identifier_key), st.message());
      }
      json ref = {{"agency", r.agency}, {"identifier", *id}};
      if (has_scope) ref["scope"] = scope_text;
      canon["references"].push_back(std::move(ref));
    }
    return Status::OK();
  }

  Status CheckRequired(const StructDef& table, const json& canon,
                       const std::string& path) const {
    for (const FieldDef* f : table.fields.vec) {
      if (f->deprecated || f->name == "references") continue;
      const std::string& name = *m.NativeName(table, *f);
      const bool present = canon.contains(f->name);
      if (name == kMerge) {
        if (present || IsRequired(table, *f)) {
          RELAIS_RETURN_IF_ERROR(CheckRequired(
              *f->value.type.struct_def,
              present ? canon.at(f->name) : json::object(), path));
        }
      } else if (!present && IsRequired(table, *f)) {
        return Bad(Join(path, name), "missing");
      }
    }
    return Status::OK();
  }

  // `skip`: header keys of the document (type, case id) at the top.
  Result<json> ReadTable(const StructDef& table, const json& obj,
                         const std::string& path,
                         const std::set<std::string>& skip) const {
    if (!obj.is_object()) {
      return Status::InvalidArgument(
          (path.empty() ? std::string("the document") : "field " + path) +
          ": must be an object");
    }
    std::map<std::string, Slot> slots;
    bool references = false;
    Collect(table, {}, slots, references);
    std::set<std::string> reference_keys;
    if (references) {
      for (const Reference& r : m.references_) {
        reference_keys.insert(r.identifier_key);
        if (!r.scope_key.empty()) reference_keys.insert(r.scope_key);
      }
    }
    // Every key first, null or not: a misspelt one would drop its field.
    std::vector<std::string_view> known(skip.begin(), skip.end());
    for (const auto& [key, slot] : slots) known.push_back(key);
    known.insert(known.end(), reference_keys.begin(), reference_keys.end());
    RELAIS_RETURN_IF_ERROR(native::CheckKnownFields(obj, known, path));
    json canon = json::object();
    for (const auto& [key, value] : obj.items()) {
      if (skip.contains(key) || reference_keys.contains(key) ||
          value.is_null()) {
        continue;
      }
      auto slot = slots.find(key);
      // (CheckKnownFields above names it by its place.)
      if (slot == slots.end()) return Bad(path, "an unknown field");
      RELAIS_ASSIGN_OR_RETURN(
          json v, ReadValue(*slot->second.field, value, Join(path, key)));
      json* at = &canon;
      for (size_t i = 0; i + 1 < slot->second.target.size(); ++i) {
        at = &(*at)[slot->second.target[i]];
      }
      (*at)[slot->second.target.back()] = std::move(v);
    }
    if (references) RELAIS_RETURN_IF_ERROR(ReadReferences(obj, path, canon));
    RELAIS_RETURN_IF_ERROR(CheckRequired(table, canon, path));
    if (table.name == "Citizen")
      RELAIS_RETURN_IF_ERROR(CheckPivot(table, canon, path));
    return canon;
  }

  // A citizen's identity pivot must agree with its NIR (sex, birth year
  // and month); the error names the identity's native field.
  Status CheckPivot(const StructDef& citizen, const json& canon,
                    const std::string& path) const {
    const FieldDef* identity = citizen.fields.Lookup("identity");
    if (!canon.contains("nir") || !canon.contains("identity") ||
        identity == nullptr) {
      return Status::OK();
    }
    const std::string nir = canon["nir"];
    const json& id = canon["identity"];
    const StructDef& pivot = *identity->value.type.struct_def;
    const std::string& merged = *m.NativeName(citizen, *identity);
    const std::string base = merged == kMerge ? path : Join(path, merged);
    auto where = [&](const char* field) {
      return Join(base, *m.NativeName(pivot, *pivot.fields.Lookup(field)));
    };
    if (id.contains("sex") && id["sex"] != "Unspecified") {
      if (Status st = NirAgreesWithSex(nir, id["sex"] == "Female"); !st.ok()) {
        return Bad(where("sex"), st.message());
      }
    }
    if (id.contains("birth_date")) {
      if (Status st =
              NirAgreesWithBirthDate(nir, id["birth_date"].get<std::string>());
          !st.ok()) {
        return Bad(where("birth_date"), st.message());
      }
    }
    return Status::OK();
  }
};

Mapping::Mapping() = default;
Mapping::~Mapping() = default;

const std::string* Mapping::NativeName(const StructDef& table,
                                       const FieldDef& field) const {
  auto it = fields_.find(table.name + "." + field.name);
  if (it == fields_.end()) it = fields_.find(field.name);
  return it == fields_.end() ? nullptr : &it->second;
}

Status Mapping::CheckNamed(const StructDef* table,
                           std::vector<const StructDef*>& seen) const {
  if (std::find(seen.begin(), seen.end(), table) != seen.end()) {
    return Status::OK();
  }
  seen.push_back(table);
  for (const FieldDef* f : table->fields.vec) {
    if (f->deprecated || f->name == "references") continue;
    const std::string* name = NativeName(*table, *f);
    if (name == nullptr) {
      return Status::InvalidArgument("[fields] has no native name for " +
                                     table->name + "." + f->name);
    }
    const auto& type = f->value.type;
    if (*name == kMerge && type.base_type != flatbuffers::BASE_TYPE_STRUCT) {
      return Status::InvalidArgument("[fields] " + table->name + "." + f->name +
                                     ": only a table can be \"*\"");
    }
    if (type.enum_def != nullptr && !type.enum_def->is_union) {
      auto codes = values_.find(type.enum_def->name);
      if (codes != values_.end()) {
        for (const auto* v : type.enum_def->Vals()) {
          if (!codes->second.contains(v->name)) {
            return Status::InvalidArgument("[values." + type.enum_def->name +
                                           "] has no code for " + v->name);
          }
        }
      }
    }
    if (type.struct_def != nullptr && *name != kLeftOut) {
      RELAIS_RETURN_IF_ERROR(CheckNamed(type.struct_def, seen));
    }
  }
  return Status::OK();
}

// Every field of every case table has a native name, and no native name is
// used twice in one object (header keys and references included).
Status Mapping::CheckNativeNames() const {
  std::vector<const StructDef*> seen, bodies;
  for (int i = 1; i <= static_cast<int>(wire::CaseType::AssistedCase); ++i) {
    const auto* table = schema_->LookupStruct(
        "relais.wire." + BodyTableName(static_cast<wire::CaseType>(i)));
    if (table == nullptr) return Status::Internal("cases.fbs lost a table");
    bodies.push_back(table);
    RELAIS_RETURN_IF_ERROR(CheckNamed(table, seen));
  }
  for (const StructDef* object : seen) {
    std::map<std::string, Walk::Slot> slots;
    bool references = false;
    std::vector<std::string> clashes;
    Walk{*this}.Collect(*object, {}, slots, references, &clashes);
    std::vector<std::string> keys;
    if (references) {
      for (const Reference& r : references_) {
        keys.push_back(r.identifier_key);
        if (!r.scope_key.empty()) keys.push_back(r.scope_key);
      }
    }
    if (std::find(bodies.begin(), bodies.end(), object) != bodies.end()) {
      keys.insert(keys.end(),
                  {type_key_, case_key_, message_key_, sender_key_});
    }
    for (const std::string& k : keys) {
      if (!slots.emplace(k, Walk::Slot{}).second) clashes.push_back(k);
    }
    if (!clashes.empty()) {
      return Status::InvalidArgument("native name \"" + clashes.front() +
                                     "\" used twice in " + object->name);
    }
  }
  return Status::OK();
}

std::string Mapping::TypeName(wire::CaseType case_type) const {
  auto it = types_.find(std::string(CaseTypeName(case_type)));
  return it == types_.end() ? "" : it->second;
}

Result<json> Mapping::Render(const EnvelopeView& env,
                             const wire::CaseEvent& event) const {
  const auto case_type = static_cast<wire::CaseType>(event.body_type());
  const std::string type = TypeName(case_type);
  if (type.empty()) {
    return Status::NotFound(agency_ + " does not take " +
                            std::string(CaseTypeName(case_type)) + " cases");
  }
  RELAIS_ASSIGN_OR_RETURN(const json canon, CaseEventJson(env.payload));
  const StructDef* table =
      schema_->LookupStruct("relais.wire." + BodyTableName(case_type));
  json doc = {{type_key_, type},
              {case_key_, std::string(env.case_id)},
              {message_key_, HexEncode(env.message_id)},
              {sender_key_, std::string(env.sender)}};
  RELAIS_RETURN_IF_ERROR(
      Walk{*this}.RenderTable(*table, canon.at("body"), "", doc));
  return doc;
}

std::string Mapping::XmlItem(const std::string& array) const {
  if (auto it = xml_items_.find(array); it != xml_items_.end()) {
    return it->second;
  }
  return array.ends_with('s') ? array.substr(0, array.size() - 1)
                              : array + "Element";
}

bool Mapping::Reads(std::string_view native_type) const {
  for (const auto& [type, inbox] : inbox_) {
    if (!inbox.by_agency && TypeName(type) == native_type) return true;
  }
  return false;
}

std::vector<std::string> Mapping::MappedInboxTypes() const {
  std::vector<std::string> out;
  for (const auto& [type, inbox] : inbox_) {
    if (!inbox.by_agency) out.push_back(TypeName(type));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<OutgoingCase> Mapping::Read(const json& doc) const {
  RELAIS_ASSIGN_OR_RETURN(std::string type, native::String(doc, type_key_, ""));
  if (!Reads(type)) {
    std::string known;
    for (const std::string& t : MappedInboxTypes()) {
      known += (known.empty() ? "" : ", ") + t;
    }
    return Bad(type_key_, "unknown case type (expected " + known + ")");
  }
  RELAIS_ASSIGN_OR_RETURN(auto case_id,
                          native::OptionalString(doc, case_key_, ""));
  if (case_id && !CaseIdProblem(*case_id).empty()) {
    return Bad(case_key_, CaseIdProblem(*case_id));
  }
  OutgoingCase out;
  RELAIS_ASSIGN_OR_RETURN(out.payload, ReadEvent(doc, {case_key_}));
  out.case_id = case_id.value_or("");
  out.case_type = static_cast<wire::CaseType>(
      flatbuffers::GetRoot<wire::CaseEvent>(out.payload.data())->body_type());
  return out;
}

Status Mapping::Address(OutgoingCase& c) const {
  const std::string type(CaseTypeName(c.case_type));
  auto it = inbox_.find(c.case_type);
  if (it == inbox_.end()) {
    return Status::Internal(agency_ + "'s mapping file has no [inbox." + type +
                            "]: it names no recipients for " + type + " cases");
  }
  const Inbox& inbox = it->second;
  c.recipients.clear();
  c.by_subscription = inbox.by_subscription;
  flatbuffers::Verifier verifier(
      reinterpret_cast<const uint8_t*>(c.payload.data()), c.payload.size());
  const auto* event = flatbuffers::GetRoot<wire::CaseEvent>(c.payload.data());
  if (!wire::VerifyCaseEventBuffer(verifier) ||
      event->body_type() != static_cast<wire::CaseBody>(c.case_type)) {
    return Status::Internal("a " + type + " case whose payload is not one");
  }
  const auto* body = static_cast<const flatbuffers::Table*>(event->body());
  for (const Recipient& r : inbox.recipients) {
    if (std::all_of(r.when.begin(), r.when.end(), [&](const Condition& k) {
          return ScalarOf(*body, *k.field) == k.value;
        })) {
      c.recipients.push_back(r.agency);
    }
  }
  return Status::OK();
}

Result<std::string> Mapping::ReadEvent(
    const json& doc, const std::vector<std::string>& ignored) const {
  RELAIS_ASSIGN_OR_RETURN(std::string type, native::String(doc, type_key_, ""));
  auto known = std::find_if(types_.begin(), types_.end(),
                            [&](const auto& t) { return t.second == type; });
  if (known == types_.end()) {
    return Bad(type_key_, "unknown case type");
  }
  const std::string body_name = BodyTableName(*CaseTypeFromName(known->first));
  std::set<std::string> skip(ignored.begin(), ignored.end());
  skip.insert(type_key_);
  RELAIS_ASSIGN_OR_RETURN(
      json body,
      Walk{*this}.ReadTable(*schema_->LookupStruct("relais.wire." + body_name),
                            doc, "", skip));
  const json event = {{"body_type", body_name}, {"body", std::move(body)}};
  return CaseEventFromJson(event.dump());
}

}  // namespace relais::translation
