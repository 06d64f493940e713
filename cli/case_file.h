#pragma once

// The case file of `relais case open` (docs/CASES.md, "A case as JSON"):
// read and checked whole before anything is sent.
//
//   {"case_id"?, "recipients": [...] | "subscribers", "ttl_hours"?,
//    "event": <CaseEvent JSON>}

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "schemas/cases_generated.h"

namespace relais::cli {

// The longest time to live a case file may ask for: the broker's default
// max_ttl_days (90 days).
inline constexpr int kMaxTtlHours = 90 * 24;
inline constexpr int kDefaultTtlHours = 7 * 24;
// At most this many recipients (docs/PROTOCOL.md §11).
inline constexpr size_t kMaxRecipients = 32;

struct CaseFile {
  std::string case_id;  // empty: drawn when the case is sealed
  // 1 to kMaxRecipients distinct ids, none the sender; empty with
  // `subscribers` (the broker names them: RouteQuery).
  std::vector<std::string> recipients;
  bool subscribers = false;
  int ttl_hours = kDefaultTtlHours;
  std::string payload;  // CaseEvent bytes ("RLC1")
  wire::CaseType case_type = wire::CaseType::Unknown;
};

// Reads `text`, the contents of the file called `name`. InvalidArgument
// listing every problem found (at most 20), one per line, as
// "NAME:LINE:COLUMN: FIELD: WHAT" (the line and column of the value in the
// file, or of its enclosing object when it is missing), naming the rule and
// never repeating the file's values: JSON syntax, repeated keys, unknown
// keys, wrong types, the recipients (participant ids, 1 to 32, no repeat,
// not `sender`), ttl_hours (1 to kMaxTtlHours), the case id, and the whole
// event (core/case_check.h).
Result<CaseFile> ParseCaseFile(std::string_view text, const std::string& name,
                               const std::string& sender);

}  // namespace relais::cli
