#pragma once

// Identifiers that travel in headers: participant ids, case ids, message
// ids, key ids (docs/PROTOCOL.md, "Identifiers").

#include <string>
#include <string_view>

#include "core/status.h"

namespace relais {

inline constexpr size_t kMessageIdSize = 16;
// A subject reference (core/subject.h) is an HMAC-SHA256: 32 bytes.
inline constexpr size_t kSubjectRefSize = 32;
// At most this many references in one SubjectRegistration.
inline constexpr size_t kMaxSubjectRefs = 1000;
inline constexpr size_t kMaxParticipantIdSize = 64;
inline constexpr size_t kMaxCaseIdSize = 64;
// Text fields of frames (docs/PROTOCOL.md §11): a reason (DeliveryAck,
// StatusUpdate) and Hello.software, in bytes of UTF-8 without control
// characters.
inline constexpr size_t kMaxReasonBytes = 1024;
inline constexpr size_t kMaxSoftwareBytes = 128;

// A participant id: 1 to 64 characters, one or two segments separated by
// '/', each of [a-z0-9-] starting and ending with a letter or digit
// ("caf", "france-travail", "france-services/paris-15").
bool IsValidParticipantId(std::string_view id);
// The four agencies relais carries cases to, each with its adapter.
inline constexpr std::string_view kAgencyIds[] = {"caf", "cpam", "dgfip",
                                                  "france-travail"};
// One of kAgencyIds.
bool IsAgency(std::string_view participant_id);
// A case id's syntax: 1 to 64 characters of [A-Za-z0-9._:-]. What names
// a case that exists (a query, a delivery, a journal written before the
// NIR rule) is checked with this.
bool IsValidCaseId(std::string_view id);
// Why `id` may not open or carry a new message ("" if it may), for a
// message that never repeats it: "must be 1 to 64 characters of A-Z a-z
// 0-9 . _ : -", or "holds a NIR ..." (HoldsNir, core/identifiers.h: a case
// id is logged and shown to every party of the case). Checked where a
// case id comes in: sealing, relaisd's ingress, the partner readers.
std::string CaseIdProblem(std::string_view id);

// A ZeroMQ TCP endpoint "tcp://HOST:PORT": HOST an IPv4 address, a name
// (letters, digits, '-', '.'), "[IPv6]" or, when `listening`, "*"; PORT 1 to
// 65535, or 0 when `listening` (any free port). InvalidArgument naming
// `what` and the expected form otherwise (the text itself is escaped).
Status CheckTcpEndpoint(std::string_view endpoint, bool listening,
                        std::string_view what);

// 16 random bytes.
Result<std::string> NewMessageId();
// "c-YYYYMMDD-" followed by 12 random hex characters, e.g.
// "c-20261123-9f2c41d07ab3". `now_ms` gives the date.
Result<std::string> NewCaseId(int64_t now_ms);
// The key id of an Ed25519 public key: the first 8 bytes of SHA-256 over
// the raw 32-byte key, as 16 lowercase hex characters.
std::string KeyIdOf(std::string_view raw_public_key);
// A participant id made safe as a file name ("france-services/paris-15" ->
// "france-services_paris-15").
std::string FileNameOf(std::string_view participant_id);

}  // namespace relais
