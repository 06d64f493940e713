#pragma once

// The partner system's status/ and subjects/ files (adapter.h), read into
// what the runtime sends to the broker. Pure functions of the document: the
// runtime reads the file (native::ParseJsonObject), calls these, then talks
// to the broker and moves the file. Thread-safe.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "schemas/case_state_generated.h"

namespace relais::sdk {

// A status file: {"message_id": "<32 hex>" or "case_id": "...", "status":
// "received" | "in_progress" | "done" | "rejected", "reason": "..."}.
struct StatusFileRequest {
  // 16 bytes, or empty: then `case_id` names the case and the runtime asks
  // the broker for this participant's latest message of it.
  std::string message_id;
  std::string case_id;
  wire::RecipientState state = wire::RecipientState::Received;
  std::string reason;  // may be empty unless `state` is Rejected
};

// InvalidArgument "field <name>: ..." for the first field that is wrong: a
// message_id that is not 32 hexadecimal digits, neither message_id nor
// case_id, an unknown status, no reason for "rejected". Fields that are not
// strings count as absent. Never throws.
Result<StatusFileRequest> ParseStatusFile(const nlohmann::ordered_json& doc);

// A subjects file: {"register": [NIR, ...], "unregister": [NIR, ...]}, both
// optional. The subject references (core/subject.h, with `subject_key`) of
// each list, by list name ("register", "unregister"; a list left out or
// empty has no entry). InvalidArgument "field <key>:
// ..." or "field <key>[i]: ..." for another key, a list that is not an
// array, an item that is not a valid NIR. Never throws.
Result<std::map<std::string, std::vector<std::string>>> ParseSubjectsFile(
    const nlohmann::ordered_json& doc, std::string_view subject_key);

}  // namespace relais::sdk
