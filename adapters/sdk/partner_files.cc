#include "adapters/sdk/partner_files.h"

#include "adapters/translation/native.h"
#include "core/bytes.h"
#include "core/subject.h"

namespace relais::sdk {

Result<StatusFileRequest> ParseStatusFile(const nlohmann::ordered_json& doc) {
  static const std::map<std::string, wire::RecipientState> kStates = {
      {"received", wire::RecipientState::Received},
      {"in_progress", wire::RecipientState::InProgress},
      {"done", wire::RecipientState::Done},
      {"rejected", wire::RecipientState::Rejected}};
  const auto field = [&](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>()
                                              : std::string();
  };
  RELAIS_RETURN_IF_ERROR(translation::native::CheckKnownFields(
      doc, {"case_id", "message_id", "status", "reason"}, ""));
  StatusFileRequest out;
  if (const std::string hex = field("message_id"); !hex.empty()) {
    auto id = HexDecode(hex);
    if (!id.ok() || id->size() != 16) {
      return Status::InvalidArgument(
          "field message_id: 32 hexadecimal digits expected");
    }
    out.message_id = *id;
  } else {
    out.case_id = field("case_id");
    if (out.case_id.empty()) {
      return Status::InvalidArgument(
          "field message_id or case_id: one is required");
    }
  }
  auto state = kStates.find(field("status"));
  if (state == kStates.end()) {
    return Status::InvalidArgument(
        "field status: received, in_progress, done or rejected expected");
  }
  out.state = state->second;
  out.reason = field("reason");
  if (out.state == wire::RecipientState::Rejected && out.reason.empty()) {
    return Status::InvalidArgument("field reason: required to reject");
  }
  return out;
}

Result<std::map<std::string, std::vector<std::string>>> ParseSubjectsFile(
    const nlohmann::ordered_json& doc, std::string_view subject_key) {
  std::map<std::string, std::vector<std::string>> refs;
  for (const auto& [key, value] : doc.items()) {
    if (key != "register" && key != "unregister") {
      // Not repeated: a key may be anything (a NIR), and this is logged.
      return Status::InvalidArgument(
          "the document: a key is not register or unregister");
    }
    if (!value.is_array()) {
      return Status::InvalidArgument("field " + key +
                                     ": must be an array of NIRs");
    }
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string field = key + "[" + std::to_string(i) + "]";
      if (!value[i].is_string()) {
        return Status::InvalidArgument("field " + field +
                                       ": must be a NIR (a string)");
      }
      auto ref = SubjectRef(subject_key, value[i].get<std::string>());
      if (!ref.ok()) {
        return Status::InvalidArgument("field " + field + ": " +
                                       ref.status().message());
      }
      refs[key].push_back(*ref);
    }
  }
  return refs;
}

}  // namespace relais::sdk
