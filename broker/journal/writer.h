#pragma once

// JournalWriter: the one thread that writes the journal, with group commit.
//
// Requests queue up while a batch is being synced; the next batch takes
// every request that arrived meanwhile (up to a cap), so many messages share
// one fsync under load and a lone message is synced at once: no fixed
// sleep. For each batch it assigns sequences, detects duplicates, updates
// case states, appends audit records, seals the status reports owed to the
// senders of messages (dead letters, replays, refused deliveries, partner
// statuses), commits with sync, and only then reports the outcomes (an
// Accepted is never sent before its sync).
//
// After a failed write every batch is refused (JournalUnavailable) until
// the journal recovers; the writer asks it to (Journal::Recover) before each
// batch and on its sweep timer, so recovery needs no new traffic. After a
// reopen it reads its sequence and audit head from the journal again.
//
// Thread-safety: Post* may be called from any thread. The report callback
// runs on the writer thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/audit/audit_chain.h"
#include "broker/journal/journal.h"
#include "core/clock.h"
#include "core/keys.h"
#include "core/status.h"
#include "schemas/case_state_generated.h"
#include "schemas/frames_generated.h"

namespace relais::broker::journal {

// A verified message to journal. The envelope bytes are kept as received.
struct SubmitRequest {
  std::string routing_id;  // where the receipt goes
  uint64_t request_id = 0;
  std::string envelope;
  std::string message_id;
  std::string case_id;
  std::string sender;
  std::string header_sha256;
  std::string subject_ref;
  std::vector<std::string> recipients;
  wire::CaseType case_type = wire::CaseType::Unknown;
  int64_t expires_at_ms = 0;
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
  std::string routing_id;  // where the AdminReply goes
  uint64_t request_id = 0;
  std::string operator_id;
  bool replay = false;  // else drop
  std::string recipient;
  uint64_t sequence = 0;
};

struct OperatorOutcome {
  std::string routing_id;
  uint64_t request_id = 0;
  bool replay = false;
  // OK, NotFound (no such dead letter) or the journal's error.
  Status status;
  std::string dead_letter;  // DeadLetter FlatBuffer, when found
};

// A recipient's StatusUpdate: its partner system's progress with a message.
struct StatusRequest {
  std::string routing_id;  // where StatusRecorded goes
  uint64_t request_id = 0;
  std::string participant;
  std::string message_id;
  wire::RecipientState state = wire::RecipientState::Received;
  std::string reason;
};

struct StatusOutcome {
  std::string routing_id;
  uint64_t request_id = 0;
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
  std::string routing_id;  // where SubjectsRegistered goes
  uint64_t request_id = 0;
  std::string participant;
  std::vector<std::string> subject_refs;  // 32 bytes each
  bool unregister = false;
};

struct SubjectOutcome {
  std::string routing_id;
  uint64_t request_id = 0;
  uint32_t changed = 0;
  uint32_t count = 0;
  // OK, or the journal's error.
  Status status;
};

// Who the broker is, for the status reports it seals to the senders of
// messages (not necessarily the cases' originators).
struct BrokerSigner {
  std::string id;
  SigningKey key;
  // Lifetime of a status report (its expires_at_ms - created_at_ms).
  int64_t report_ttl_ms = 30LL * 24 * 3600 * 1000;
};

struct SubmitOutcome {
  std::string routing_id;
  uint64_t request_id = 0;
  std::string message_id;
  // OK: accepted (and synced). Rejected: DuplicateConflict, NotAuthorised
  // or JournalUnavailable.
  Status status;
  uint64_t sequence = 0;
  int64_t accepted_at_ms = 0;
  bool duplicate = false;
  size_t envelope_bytes = 0;
};

// What one committed (or failed) batch produced.
struct CommitReport {
  std::vector<SubmitOutcome> submits;
  // Recipients that have new messages in their outbox.
  std::vector<std::string> recipients;
  size_t acks = 0;
  Status commit_status;  // the batch's write
  // When the write failed: recipients whose acks were lost with it. Their
  // deliveries must be sent again (the broker restarts their sessions).
  std::vector<std::string> failed_ack_recipients;
  // (recipient, sequence) that became dead letters: no longer in flight.
  std::vector<std::pair<std::string, uint64_t>> dead_letters;
  // (recipient, sequence) put back in the outbox by an operator.
  std::vector<std::pair<std::string, uint64_t>> replayed;
  std::vector<OperatorOutcome> operator_outcomes;
  std::vector<StatusOutcome> status_outcomes;
  std::vector<SubjectOutcome> subject_outcomes;
  // The journal became writable again before this batch (or with no batch
  // at all): outboxes may hold entries that no session read yet.
  bool journal_recovered = false;
};

struct WriterStats {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> submits{0};
  std::atomic<uint64_t> largest_batch{0};
  std::atomic<uint64_t> failed_batches{0};
  std::atomic<uint64_t> dead_letters{0};
  // Expiry sweeps done, counted once their dead letters are reported.
  std::atomic<uint64_t> sweeps{0};
};

// The DeadLetter table of a `dead` value; null if it does not verify.
const wire::DeadLetter* ParseDeadLetter(std::string_view bytes);

class JournalWriter {
 public:
  using ReportFn = std::function<void(CommitReport)>;

  // `journal` and `clock` must outlive the writer. Reads the next sequence
  // and audit head from the journal.
  // `signer` seals the status reports sent to messages' senders.
  static Result<std::unique_ptr<JournalWriter>> Create(Journal* journal,
                                                       const Clock* clock,
                                                       BrokerSigner signer,
                                                       ReportFn report);
  ~JournalWriter();  // Stops, after committing what was queued.

  void Start();
  // Commits what is queued, then joins the thread.
  void Stop();

  void PostSubmit(SubmitRequest request);
  void PostAck(AckRequest request);
  void PostDeadLetter(DeadLetterRequest request);
  void PostOperator(OperatorRequest request);
  void PostStatus(StatusRequest request);
  void PostSubjects(SubjectRequest request);

  const WriterStats& stats() const { return stats_; }
  // Cap on requests in one batch. Default: 2048.
  static constexpr size_t kMaxBatchRequests = 2048;
  // Cap on envelope bytes in one batch. Default: 32 MiB.
  static constexpr size_t kMaxBatchBytes = 32 << 20;
  // How often expired messages are looked for, and how many at most per
  // sweep (the rest wait for the next one).
  static constexpr std::chrono::milliseconds kSweepInterval{500};
  static constexpr size_t kMaxSweep = 1024;

 private:
  struct Request;
  class BatchBuilder;
  JournalWriter(Journal* journal, const Clock* clock, BrokerSigner signer,
                ReportFn report);
  void Run();
  void Post(Request request);
  void CommitBatch(std::vector<Request>* requests, bool sweep);
  // Reads the next sequence and the audit head from the journal.
  Status LoadState();
  // Asks an unhealthy journal to recover; true if it did.
  bool RecoverJournal();

  Journal* journal_;
  const Clock* clock_;
  BrokerSigner signer_;
  ReportFn report_;
  uint64_t next_sequence_ = 1;
  audit::AuditChain audit_;
  // Not OK while the state could not be read again after a reopen: batches
  // are refused until it is.
  Status state_status_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::thread thread_;
  WriterStats stats_;
};

}  // namespace relais::broker::journal
