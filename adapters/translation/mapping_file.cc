#include "adapters/translation/mapping.h"

// Mapping::Parse: reading and checking the tables of a mapping file
// (mapping.h lists them). The translation itself, both ways, is in
// mapping.cc.

#include <flatbuffers/idl.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/cases.h"
#include "core/ids.h"
#include "core/toml_file.h"

namespace relais::translation {
namespace {

// InvalidArgument "<origin>: <what>": a mistake in the mapping file.
Status FileError(const std::string& origin, const std::string& what) {
  return Status::InvalidArgument(origin + ": " + what);
}

// The string values of table `node` into `out`.
Status Strings(const toml::node& node, const std::string& where,
               const std::string& origin,
               std::map<std::string, std::string>& out) {
  const toml::table* t = node.as_table();
  if (t == nullptr) return FileError(origin, where + " must be a table");
  for (const auto& [k, v] : *t) {
    if (!v.is_string()) {
      return FileError(
          origin, where + "." + std::string(k.str()) + " must be a string");
    }
    out[std::string(k.str())] = *v.value<std::string>();
  }
  return Status::OK();
}

}  // namespace

Status Mapping::Load(const std::string& origin, const void* toml_table) {
  const auto& root = *static_cast<const toml::table*>(toml_table);
  for (const auto& [key, node] : root) {
    const std::string k(key.str());
    if (k == "document" || k == "format" || k == "inbox" || k == "values" ||
        k == "references") {
      continue;
    }
    if (k == "types") {
      RELAIS_RETURN_IF_ERROR(Strings(node, k, origin, types_));
    } else if (k == "fields") {
      RELAIS_RETURN_IF_ERROR(Strings(node, k, origin, fields_));
    } else if (k == "xml_items") {
      RELAIS_RETURN_IF_ERROR(Strings(node, k, origin, xml_items_));
    } else {
      return FileError(origin, "unknown table [" + k + "]");
    }
  }
  RELAIS_RETURN_IF_ERROR(LoadDocument(origin, &root));
  RELAIS_RETURN_IF_ERROR(LoadFormat(origin, &root));
  if (const auto* values = root["values"].as_table()) {
    for (const auto& [name, codes] : *values) {
      const std::string e(name.str());
      RELAIS_RETURN_IF_ERROR(Strings(codes, "values." + e, origin, values_[e]));
    }
  }
  if (auto b = values_.find("bool");
      b != values_.end() &&
      (!b->second.contains("true") || !b->second.contains("false"))) {
    return FileError(origin, "[values.bool] needs true and false");
  }
  RELAIS_RETURN_IF_ERROR(LoadReferences(origin, &root));
  for (const auto& [type, native] : types_) {
    if (!CaseTypeFromName(type)) {
      return FileError(origin, "[types] " + type + " is not a case type");
    }
  }
  RELAIS_ASSIGN_OR_RETURN(schema_, CasesSchemaParser());
  if (Status st = CheckNativeNames(); !st.ok()) {
    return FileError(origin, st.message());
  }
  // Its conditions name fields of the schema CheckNativeNames loaded.
  return LoadInbox(origin, &root);
}

Status Mapping::LoadDocument(const std::string& origin, const void* table) {
  const auto& root = *static_cast<const toml::table*>(table);
  std::map<std::string, std::string> document;
  if (const auto* d = root.get("document")) {
    RELAIS_RETURN_IF_ERROR(Strings(*d, "document", origin, document));
  }
  const std::map<std::string, std::string*> keys = {{"agency", &agency_},
                                                    {"type", &type_key_},
                                                    {"case", &case_key_},
                                                    {"message", &message_key_},
                                                    {"sender", &sender_key_}};
  for (const auto& [k, v] : document) {
    auto it = keys.find(k);
    if (it == keys.end()) return FileError(origin, "unknown key document." + k);
    *it->second = v;
  }
  if (agency_.empty()) return FileError(origin, "document.agency is missing");
  return Status::OK();
}

Status Mapping::LoadFormat(const std::string& origin, const void* table) {
  const auto& root = *static_cast<const toml::table*>(table);
  const auto* format = root["format"].as_table();
  if (format == nullptr) return Status::OK();
  for (const auto& [key, v] : *format) {
    const std::string k(key.str());
    if (k == "dates") {
      const auto s = v.value<std::string>();
      if (s != "YYYY-MM-DD" && s != "DD/MM/YYYY") {
        return FileError(
            origin, "format.dates must be \"YYYY-MM-DD\" or \"DD/MM/YYYY\"");
      }
      french_dates_ = *s == "DD/MM/YYYY";
    } else if (k == "nir") {
      const auto n = v.value<int64_t>();
      if (n != 13 && n != 15)
        return FileError(origin, "format.nir must be 13 or 15");
      nir_length_ = static_cast<int>(*n);
    } else if (k == "text_values") {
      const auto b = v.value<bool>();
      if (!b)
        return FileError(origin, "format.text_values must be true or false");
      text_values_ = *b;
    } else if (k == "amount_digits") {
      const auto n = v.value<int64_t>();
      if (!n || *n < 0 || *n > 15) {
        return FileError(origin, "format.amount_digits: 0 to 15");
      }
      amount_digits_ = static_cast<int>(*n);
    } else {
      return FileError(origin, "unknown key format." + k);
    }
  }
  return Status::OK();
}

Status Mapping::LoadReferences(const std::string& origin, const void* table) {
  const auto& root = *static_cast<const toml::table*>(table);
  const auto* refs = root["references"].as_table();
  if (refs == nullptr) return Status::OK();
  for (const auto& [agency, v] : *refs) {
    Reference r{std::string(agency.str()), "", ""};
    if (auto s = v.value<std::string>()) {
      r.identifier_key = *s;
    } else if (const auto* t = v.as_table()) {
      r.identifier_key = (*t)["identifier"].value_or(std::string());
      r.scope_key = (*t)["scope"].value_or(std::string());
    }
    if (r.identifier_key.empty()) {
      return FileError(
          origin, "references." + r.agency + " must name the identifier's key");
    }
    references_.push_back(std::move(r));
  }
  return Status::OK();
}

Status Mapping::LoadInbox(const std::string& origin, const void* table) {
  const auto& root = *static_cast<const toml::table*>(table);
  const auto* inbox = root["inbox"].as_table();
  if (inbox == nullptr) return Status::OK();
  for (const auto& [type, v] : *inbox) {
    const std::string t(type.str());
    const auto case_type = CaseTypeFromName(t);
    if (!case_type || TypeName(*case_type).empty()) {
      return FileError(
          origin, "[inbox." + t + "] is not a case type with a native name");
    }
    const toml::table* spec = v.as_table();
    if (spec == nullptr) {
      return FileError(origin, "[inbox." + t + "] must be a table");
    }
    RELAIS_RETURN_IF_ERROR(LoadInboxType(origin, *case_type, spec));
  }
  return Status::OK();
}

Status Mapping::LoadInboxType(const std::string& origin,
                              wire::CaseType case_type, const void* table) {
  const auto& spec = *static_cast<const toml::table*>(table);
  const std::string where =
      "[inbox." + std::string(CaseTypeName(case_type)) + "]";
  Inbox inbox;
  for (const auto& [key, v] : spec) {
    if (key.str() == "reader") {
      const auto reader = v.value<std::string>();
      if (reader != "agency" && reader != "mapping") {
        return FileError(origin, where + " reader: \"agency\" or \"mapping\"");
      }
      inbox.by_agency = reader == "agency";
    } else if (key.str() != "recipients") {
      return FileError(origin, where + ": unknown key \"" +
                                   std::string(key.str()) +
                                   "\" (it has recipients and reader)");
    }
  }
  const toml::node* to = spec.get("recipients");
  if (to != nullptr && to->value<std::string>() == "subscribers") {
    inbox.by_subscription = true;
  } else if (const toml::array* list = to ? to->as_array() : nullptr) {
    for (const toml::node& r : *list) {
      Result<Recipient> one = LoadRecipient(where, case_type, &r);
      if (!one.ok()) return FileError(origin, one.status().message());
      for (const Recipient& earlier : inbox.recipients) {
        if (earlier.agency == one->agency) {
          return FileError(origin, where + " recipients: " + one->agency +
                                       " is listed twice");
        }
      }
      inbox.recipients.push_back(std::move(*one));
    }
  }
  if (!inbox.by_subscription && inbox.recipients.empty()) {
    return FileError(origin,
                     where + " needs recipients = [...] or \"subscribers\"");
  }
  inbox_[case_type] = std::move(inbox);
  return Status::OK();
}

Result<Mapping::Recipient> Mapping::LoadRecipient(const std::string& where,
                                                  wire::CaseType case_type,
                                                  const void* node) const {
  const auto& r = *static_cast<const toml::node*>(node);
  if (auto name = r.value<std::string>()) {
    if (!IsValidParticipantId(*name)) {
      return Status::InvalidArgument(where + " recipients: \"" + *name +
                                     "\" is not a participant id");
    }
    return Recipient{*name, {}};
  }
  const toml::table* spec = r.as_table();
  const auto agency = spec ? (*spec)["to"].value<std::string>() : std::nullopt;
  const toml::table* when = spec ? (*spec)["when"].as_table() : nullptr;
  if (!agency || when == nullptr || spec->size() != 2) {
    return Status::InvalidArgument(
        where +
        " recipients: each is an agency's name or {to = \"...\", "
        "when = {field = value}}");
  }
  if (!IsValidParticipantId(*agency)) {
    return Status::InvalidArgument(where + " recipients: \"" + *agency +
                                   "\" is not a participant id");
  }
  const flatbuffers::StructDef* body = schema_->LookupStruct(
      "relais.wire." + std::string(wire::EnumNameCaseType(case_type)));
  Recipient out{*agency, {}};
  for (const auto& [name, value] : *when) {
    const std::string f(name.str());
    const flatbuffers::FieldDef* field = body->fields.Lookup(f);
    if (field == nullptr ||
        !flatbuffers::IsInteger(field->value.type.base_type)) {
      return Status::InvalidArgument(where + " when: " + f +
                                     " is not a boolean, integer or "
                                     "enumeration field of " +
                                     body->name);
    }
    const flatbuffers::EnumDef* e = field->value.type.enum_def;
    const auto text = value.value<std::string>();
    const flatbuffers::EnumVal* named = e && text ? e->Lookup(*text) : nullptr;
    std::optional<int64_t> v;
    if (flatbuffers::IsBool(field->value.type.base_type)) {
      if (value.is_boolean()) v = *value.value<bool>() ? 1 : 0;
    } else if (e != nullptr) {
      if (named != nullptr) v = named->GetAsInt64();
    } else if (value.is_integer()) {
      v = value.value<int64_t>();
    }
    if (!v) {
      return Status::InvalidArgument(
          where + " when: " + f + " takes " +
          (flatbuffers::IsBool(field->value.type.base_type) ? "true or false"
           : e != nullptr ? "one of " + e->name + "'s values (cases.fbs)"
                          : std::string("an integer")));
    }
    out.when.push_back({field, *v});
  }
  return out;
}

Result<MappingPtr> Mapping::Parse(std::string_view toml_text,
                                  const std::string& origin) {
  RELAIS_ASSIGN_OR_RETURN(toml::table root,
                          ParseToml(std::string(toml_text), origin));
  std::shared_ptr<Mapping> m(new Mapping());
  RELAIS_RETURN_IF_ERROR(m->Load(origin, &root));
  return MappingPtr(std::move(m));
}

}  // namespace relais::translation
