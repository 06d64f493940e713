#pragma once

// What the journal writer is asked to do and what it answers: the requests
// the other stages post to it (ingress: a verified submit; delivery: acks
// and dead letters; the loop: operator actions, partner statuses, subject
// registrations) and the CommitReport of each batch. Plain data: the
// stages that post include this header, not the writer's.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"
#include "schemas/case_state_generated.h"
#include "schemas/frames_generated.h"

namespace relais::broker::journal {

// Where an answer goes: the connection's ROUTER routing id and the
// request id the answer carries; `bundled` if the request came in a Bundle,
// so that its answer may go in one too.
struct ReplyTo {
  std::string routing_id;
  uint64_t request_id = 0;
  bool bundled = false;
};

// The first acceptance of a message id (the journal's dedup family).
struct DedupEntry {
  uint64_t sequence = 0;
  int64_t accepted_at_ms = 0;
  std::string header_sha256;
  std::string sender;
};

// Whether `first` accepted the very message that `sender` now submits with
// a header of this SHA-256 (a resubmission), rather than another message
// under the same id (a conflict).
inline bool SameMessage(const DedupEntry& first, std::string_view sender,
                        std::string_view header_sha256) {
  return first.sender == sender && first.header_sha256 == header_sha256;
}

// What the journal knew of a message id when ingress looked it up
// (JournalWriter::LookUpReceipt), so that the writer need not read the
// journal again: it checks only the batches committed since.
struct PriorReceipt {
  // False if ingress did not look or the read failed: the writer reads.
  bool looked_up = false;
  // The number of batches committed before the lookup.
  uint64_t as_of_batch = 0;
  std::optional<DedupEntry> first;  // the first acceptance, if any
};

// A verified message to journal. The envelope bytes are kept as received.
struct SubmitRequest {
  ReplyTo reply;  // where the receipt goes
  PriorReceipt prior;
  std::string envelope;
  std::string message_id;
  std::string case_id;
  std::string sender;
  std::string header_sha256;
  std::string subject_ref;
  std::vector<std::string> recipients;
  wire::CaseType case_type = wire::CaseType::Unknown;
  int64_t expires_at_ms = 0;
  // The Accepted trail entry's detail: who opened the case at a counter
  // (core/case_extras.h), or empty.
  std::string trail_detail;
  // When its frame reached the broker, and when ingress handed it to the
  // journal writer, verified (for the accept latency and its stages).
  std::chrono::steady_clock::time_point received{};
  std::chrono::steady_clock::time_point posted{};
};

// A recipient's acknowledgement of a delivery it had in flight. An ack
// Rejected also seals a status report for the message's sender.
struct AckRequest {
  std::string recipient;
  uint64_t sequence = 0;
  std::string message_id;
  std::string case_id;
  wire::AckOutcome outcome = wire::AckOutcome::Processed;
  std::string reason;
};

// A delivery that ran out of attempts (from the broker's sessions).
struct DeadLetterRequest {
  std::string recipient;
  uint64_t sequence = 0;
  std::string message_id;
  uint32_t attempts = 0;
  std::string detail;
};

// An operator's replay or drop of one dead letter.
struct OperatorRequest {
  ReplyTo reply;  // where the AdminReply goes
  std::string operator_id;
  bool replay = false;  // else drop
  std::string recipient;
  uint64_t sequence = 0;
};

struct OperatorOutcome {
  ReplyTo reply;
  bool replay = false;
  // OK, NotFound (no such dead letter) or the journal's error.
  Status status;
  std::string dead_letter;  // DeadLetter FlatBuffer, when found
};

// A recipient's StatusUpdate: its partner system's progress with a message.
struct StatusRequest {
  ReplyTo reply;  // where StatusRecorded goes
  std::string participant;
  std::string message_id;
  wire::RecipientState state = wire::RecipientState::Received;
  std::string reason;
};

struct StatusOutcome {
  ReplyTo reply;
  std::string message_id;
  wire::RecipientState state = wire::RecipientState::Received;
  bool changed = false;
  int64_t at_ms = 0;
  // OK, Rejected(StatusNotAllowed), or Rejected(JournalUnavailable) when
  // the message or its case cannot be read or the batch fails.
  Status status;
};

// A participant registers or unregisters citizens in the reference
// directory (SubjectRegistration).
struct SubjectRequest {
  ReplyTo reply;  // where SubjectsRegistered goes
  std::string participant;
  std::vector<std::string> subject_refs;  // 32 bytes each
  bool unregister = false;
};

struct SubjectOutcome {
  ReplyTo reply;
  uint32_t changed = 0;
  uint32_t count = 0;
  // OK, or the journal's error.
  Status status;
};

struct SubmitOutcome {
  ReplyTo reply;
  std::string message_id;
  // OK: accepted (and synced). Rejected: DuplicateConflict, NotAuthorised
  // or JournalUnavailable.
  Status status;
  uint64_t sequence = 0;
  int64_t accepted_at_ms = 0;
  bool duplicate = false;
  size_t envelope_bytes = 0;
  // A message accepted by this batch (not a duplicate): its bytes, for the
  // deliveries (delivery/recent_envelopes.h). Empty otherwise.
  std::string envelope;
  std::string sender;
  std::chrono::steady_clock::time_point received{};  // SubmitRequest's
  std::chrono::steady_clock::time_point posted{};    // SubmitRequest's
};

// An acknowledgement the batch journaled.
struct AckDone {
  std::string recipient;
  bool refused = false;  // AckOutcome Rejected
  // When its message was accepted; 0 if the journal could not say.
  int64_t accepted_at_ms = 0;
};

// An operator asks for a copy of the journal (AdminOp Backup), made by
// the writer between two batches.
struct BackupRequest {
  ReplyTo reply;
  std::string operator_id;
};

struct BackupOutcome {
  ReplyTo reply;
  // OK, or Rejected(JournalUnavailable) if the copy could not be made.
  Status status;
  std::string folder;
  uint64_t sequence = 0;
  uint64_t bytes = 0;
  int64_t made_at_ms = 0;
};

// Anything the writer is asked to do (JournalWriter::Post).
using Request =
    std::variant<SubmitRequest, AckRequest, DeadLetterRequest, OperatorRequest,
                 StatusRequest, SubjectRequest, BackupRequest>;

// What one committed (or failed) batch produced.
struct CommitReport {
  std::vector<SubmitOutcome> submits;
  // Recipients that have new messages in their outbox.
  std::vector<std::string> recipients;
  size_t acks = 0;
  Status commit_status;  // the batch's write
  // Whether the write was synced (every batch but those holding only acks
  // Processed: PROTOCOL.md 7 lets an ack be lost with the machine, since
  // the delivery then comes again and the recipient's processed ids
  // answer it).
  bool synced = true;
  // How long the journal's write took (with its sync, if synced).
  double write_seconds = 0;
  // When the writer took the batch's requests from its queue.
  std::chrono::steady_clock::time_point taken{};
  // When the write failed: recipients whose acks were lost with it. Their
  // deliveries must be sent again (the broker restarts their sessions).
  std::vector<std::string> failed_ack_recipients;
  // (recipient, sequence) that became dead letters: no longer in flight.
  std::vector<std::pair<std::string, uint64_t>> dead_letters;
  // Envelopes this batch deleted, their retention over.
  size_t payloads_deleted = 0;
  // (recipient, sequence) put back in the outbox by an operator.
  std::vector<std::pair<std::string, uint64_t>> replayed;
  std::vector<OperatorOutcome> operator_outcomes;
  std::vector<StatusOutcome> status_outcomes;
  std::vector<SubjectOutcome> subject_outcomes;
  std::vector<BackupOutcome> backups;
  // Outbox entries added (> 0) or removed (< 0) per recipient by this
  // batch, and the acknowledgements it journaled (for the metrics).
  std::map<std::string, int64_t> outbox_changes;
  std::vector<AckDone> acked;
  // The log's lines for what this batch did to cases (accepted, delivered,
  // refused by a recipient, dead letters, statuses, operator actions):
  // ids, participants and codes only. Empty if it failed, or if the log
  // does not show info.
  std::vector<std::string> events;
  // The journal became writable again before this batch (or with no batch
  // at all): outboxes may hold entries that no session read yet.
  bool journal_recovered = false;
};

}  // namespace relais::broker::journal
