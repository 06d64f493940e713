#pragma once

// What the console's case endpoints read from a request body before
// anything else looks at it (docs/CONSOLE.md, "Cases"): the envelope of
// an opening or a check, not the case event's own fields, which
// core/case_check.h checks field by field. Every byte comes from a
// browser or a script on the network; errors are in French and name the
// field, never what was sent. Fuzz target: tests/fuzz/console_request_fuzz.cc.
//
// Thread-safety: pure functions.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/case_extras.h"
#include "core/status.h"

namespace relais::console {

// The largest body of POST /api/cases and /api/cases/check, without the
// attachments.
inline constexpr size_t kMaxCaseRequestBytes = 64 * 1024;
// The attachments' total size by default (console.toml's
// attachments_max_kib): with the case, under relaisd's default envelope
// limit of 1 MiB.
inline constexpr size_t kDefaultMaxAttachmentBytes = 768 * 1024;

// The largest body of an opening whose attachments total
// `max_attachment_bytes`: the rest, and the attachments in base64.
inline constexpr size_t MaxOpeningBytes(size_t max_attachment_bytes) {
  return kMaxCaseRequestBytes + (max_attachment_bytes + 2) / 3 * 4 +
         kMaxAttachments * 512;
}
// At most this many recipients (docs/PROTOCOL.md's limit).
inline constexpr size_t kMaxCaseRecipients = 32;

// The implicit move is noexcept as nlohmann::json's is; clang-tidy cannot
// see through the library's invariant checks.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct CaseRequest {
  // 16 to 64 of [A-Za-z0-9_-], chosen by the page for one form: the same
  // id opens one case however often it is sent. Empty for a check.
  std::string request_id;
  // {"body_type": ..., "body": {...}}, cases.fbs's JSON form; checked
  // later, field by field.
  nlohmann::json event;
  // nullopt: the agencies the broker names by subscription.
  std::optional<std::vector<std::string>> recipients;
  std::string mandate_kind;  // "Oral" or "Written"
  std::string mandate_date;  // a valid date YYYY-MM-DD
  // The citizen's documents, decoded and checked (core/case_extras.h).
  std::vector<AttachmentFile> attachments;
};

// The body {"request_id"?, "event", "recipients"?, "mandate": {"kind",
// "date"}, "attachments"?: [{"name", "media_type", "content_base64"}]},
// with `request_id` required when `opening`. InvalidArgument (in French,
// naming the field, an attachment by its position) when it is not JSON,
// has an unknown or missing key, or a key of the wrong type or form:
// recipients 1 to 32 distinct participant ids; mandate kind Oral or
// Written and date a valid date; at most 10 attachments, each named as
// CheckAttachmentName says, a PDF, PNG or JPEG file whose first bytes say
// so (a renamed file is refused), not empty, together at most
// `max_attachment_bytes`.
Result<CaseRequest> ParseCaseRequest(
    std::string_view body, bool opening,
    size_t max_attachment_bytes = kDefaultMaxAttachmentBytes);

struct ListQuery {
  std::string state;  // empty: any
  std::string q;      // empty: any
  size_t limit = 100;
};

// The query string of GET /api/cases ("state=open&q=dupont&limit=50",
// percent-encoded, '+' a space): each key at most once, no other key,
// limit 1 to 500, each value at most 200 bytes of UTF-8. The state's
// value is checked by CheckFilter (case_index.h). InvalidArgument in
// French otherwise.
Result<ListQuery> ParseListQuery(std::string_view query);

}  // namespace relais::console
