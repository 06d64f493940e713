#pragma once

// The audit chain (schemas/audit.fbs): every state change appends a record
// whose prev_hash is the SHA-256 of the previous record's bytes.
//
// AuditChain builds records; it does not store them (the JournalWriter puts
// them in the journal's `audit` family in the same batch as the change they
// record). Not thread-safe: owned by the writer thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "schemas/audit_generated.h"

namespace relais::broker::audit {

inline constexpr char kAuditIdentifier[] = "RLA1";

struct AuditHead {
  uint64_t sequence = 0;  // 0: empty chain
  std::string hash = std::string(32, '\0');
};
std::string EncodeHead(const AuditHead& head);
// InvalidArgument... Corruption if `value` is not 40 bytes.
Result<AuditHead> DecodeHead(std::string_view value);

struct AuditEntry {
  int64_t at_ms = 0;
  wire::TraceEvent event = wire::TraceEvent::Unknown;
  std::string_view message_id;
  std::string_view case_id;
  std::string_view party;
  std::string_view header_sha256;  // may be empty
  std::string_view detail;         // may be empty
};

class AuditChain {
 public:
  explicit AuditChain(AuditHead head) : head_(std::move(head)) {}

  // The next record's bytes; advances the head to it.
  std::string Append(const AuditEntry& entry);
  const AuditHead& head() const { return head_; }
  // Puts the head back (after a batch that failed to commit).
  void Reset(AuditHead head) { head_ = std::move(head); }

 private:
  AuditHead head_;
};

// Checks that `records` (consecutive, oldest first) are valid AuditRecords,
// numbered without gaps from `start.sequence + 1`, each linked to the one
// before by its prev_hash. Corruption names the first bad record.
Result<AuditHead> VerifyChain(const AuditHead& start,
                              const std::vector<std::string>& records);

}  // namespace relais::broker::audit
