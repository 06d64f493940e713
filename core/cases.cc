#include "core/cases.h"

#include <flatbuffers/idl.h>

#include <array>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/envelope.h"
#include "core/flatbuf.h"
#include "schemas/cases_schema_text.h"

namespace relais {
namespace {

constexpr std::array<std::string_view, 9> kNames = {
    "unknown",          "address_change",     "birth",
    "household_change", "rsa_application",    "job_seeker_status",
    "resources_update", "death_notification", "assisted_case"};

}  // namespace

Result<std::unique_ptr<flatbuffers::Parser>> CasesSchemaParser() {
  flatbuffers::IDLOptions opts;
  opts.strict_json = true;
  opts.natural_utf8 = true;
  auto parser = std::make_unique<flatbuffers::Parser>(opts);
  if (!parser->Parse(wire::kCasesSchemaText)) {
    return Status::Internal("cases.fbs does not parse: " + parser->error_);
  }
  return parser;
}

std::string_view CaseTypeName(wire::CaseType type) {
  const auto i = static_cast<size_t>(type);
  return i < kNames.size() ? kNames[i] : kNames[0];
}

std::optional<wire::CaseType> CaseTypeFromName(std::string_view name) {
  for (size_t i = 1; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<wire::CaseType>(i);
  }
  return std::nullopt;
}

const wire::Citizen* PrimaryCitizen(const wire::CaseEvent& e) {
  using wire::CaseBody;
  switch (e.body_type()) {
    case CaseBody::AddressChange:
      return e.body_as_AddressChange()->citizen();
    case CaseBody::Birth: {
      const auto* parents = e.body_as_Birth()->parents();
      return parents && parents->size() > 0 ? parents->Get(0) : nullptr;
    }
    case CaseBody::HouseholdChange:
      return e.body_as_HouseholdChange()->declarant();
    case CaseBody::RsaApplication:
      return e.body_as_RsaApplication()->applicant();
    case CaseBody::JobSeekerStatus:
      return e.body_as_JobSeekerStatus()->citizen();
    case CaseBody::ResourcesUpdate:
      return e.body_as_ResourcesUpdate()->citizen();
    case CaseBody::DeathNotification:
      return e.body_as_DeathNotification()->deceased();
    case CaseBody::AssistedCase:
      return e.body_as_AssistedCase()->citizen();
    default:
      return nullptr;
  }
}

Result<std::string> CaseEventFromJson(std::string_view json) {
  RELAIS_ASSIGN_OR_RETURN(auto parser, CasesSchemaParser());
  const std::string text(json);
  if (!parser->ParseJson(text.c_str())) {
    return Status::InvalidArgument("case event JSON: " + parser->error_);
  }
  std::string bytes = BufferBytes(parser->builder_);
  if (VerifiedRoot<wire::CaseEvent>(bytes, kCaseEventIdentifier) == nullptr ||
      flatbuffers::GetRoot<wire::CaseEvent>(bytes.data())->body() == nullptr) {
    return Status::InvalidArgument(
        "case event JSON: needs \"body_type\" and \"body\"");
  }
  return bytes;
}

Result<nlohmann::ordered_json> CaseEventJson(std::string_view bytes) {
  const auto* event =
      VerifiedRoot<wire::CaseEvent>(bytes, kCaseEventIdentifier);
  if (event == nullptr) {
    return Status::InvalidArgument("not a valid CaseEvent FlatBuffer");
  }
  if (event->body() == nullptr || event->body_type() == wire::CaseBody::NONE ||
      event->body_type() > wire::CaseBody::MAX) {
    return Status::InvalidArgument("case event has no body of a known type");
  }
  // Writing text only reads the parser's definitions: one per thread, made
  // once (adapters render every delivery through here).
  thread_local std::unique_ptr<flatbuffers::Parser> parser;
  if (!parser) {
    RELAIS_ASSIGN_OR_RETURN(parser, CasesSchemaParser());
    parser->opts.natural_utf8 = false;  // raw control characters are not JSON
  }
  std::string text;
  if (!flatbuffers::GenerateText(*parser, bytes.data(), &text)) {
    return Status::InvalidArgument("case event has strings that are not UTF-8");
  }
  // FlatBuffers wrote ASCII with \u escapes; give people readable UTF-8,
  // in schema field order, and refuse what is not JSON (e.g. a NaN).
  auto json = nlohmann::ordered_json::parse(text, nullptr, false);
  if (json.is_discarded()) {
    return Status::InvalidArgument("case event cannot be written as JSON");
  }
  return json;
}

Result<std::string> CaseEventToJson(std::string_view bytes) {
  RELAIS_ASSIGN_OR_RETURN(nlohmann::ordered_json json, CaseEventJson(bytes));
  return json.dump(2);
}

}  // namespace relais
