#pragma once

// JournalWriter's batch (writer.h), for the writer's files only: one
// BatchBuilder per batch assigns sequences, detects duplicates, updates
// case states, appends audit records and seals the status reports owed,
// with in-memory overlays so that requests of one batch see each other.
// Its methods are in three files, by concern:
//   batch_builder.cc   the batch itself: commit (or undo), case states,
//                      audit, the envelope store, dead letters, reports
//   batch_messages.cc  submits (with dedup), acks and dead letters
//   batch_partners.cc  operator actions, partner statuses, subjects
//
// Thread-safety: used on the writer thread only.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/journal/writer.h"
#include "core/envelope.h"

namespace relais::broker::journal {

class JournalWriter::BatchBuilder {
 public:
  // (recipient, sequence): an outbox or dead-letter entry.
  using Key = std::pair<std::string, uint64_t>;

  // `reserved_bytes`: about what the batch will write.
  BatchBuilder(JournalWriter* w, int64_t now_ms, size_t reserved_bytes = 0)
      : w_(w),
        now_ms_(now_ms),
        batch_(w->TakeBatch(reserved_bytes)),
        first_sequence_(w->next_sequence_),
        audit_start_(w->audit_.head()) {}

  // A verified message: a duplicate gets the first receipt (or a
  // conflict); else a sequence, its outbox entries, dedup and expiry
  // entries, its case opened or moved, an audit record. Refused if its
  // case exists and the sender is not a party to it.
  void Add(SubmitRequest& r);
  // A recipient's ack: the outbox entry removed, the case moved, audited;
  // a Rejected ack also reports to the message's sender.
  void Add(AckRequest& r);
  // A delivery out of attempts, unless acknowledged since: a dead letter.
  void Add(DeadLetterRequest& r);
  // An operator's replay (back to the outbox, reported to the sender) or
  // drop of a dead letter.
  void Add(OperatorRequest& r);

  // A recipient's StatusUpdate: checked against the case as this batch
  // leaves it, recorded, and relayed to the originator.
  void Add(StatusRequest& r);

  // Registers or unregisters references for a participant; `changed`
  // counts those whose registration changes (as this batch leaves them).
  void Add(SubjectRequest& r);

  // Every message whose expiry passed becomes a dead letter for each
  // recipient that has not acknowledged it (replayed ones excepted), and
  // its envelope's retention starts (the purge index); then Purge. Called
  // after every Add of the batch. True if more may be due than one sweep
  // took (kMaxSweep of the expiry or of the purge index).
  bool Sweep();

  // Commits the batch and returns the report to send. `durability` is
  // what the requests need; a sweep that made dead letters is always
  // synced (their reports go to the messages' senders). With `defer_sync`
  // the batch is only written, and the report's `synced` says whether the
  // writer's sync thread must sync the log before the report goes.
  CommitReport Commit(Journal::Durability durability, bool defer_sync);
  // What FailReport needs to refuse this batch's outcomes, should its
  // deferred sync fail.
  BatchUndo Undo() const;

  bool empty() const { return changes_ == 0; }

  // The batch, once Commit is done with it (or without a commit).
  std::unique_ptr<Batch> ReleaseBatch() { return std::move(batch_); }

  // The message ids this batch accepted, with their dedup entries (for the
  // writer's RecentReceipts once it has committed).
  std::vector<std::pair<std::string, DedupEntry>> TakeAccepted();

 private:
  // `recipient`'s pending outbox entry of `sequence`, as this batch leaves it.
  std::optional<OutboxEntry> OutboxEntryOf(const std::string& recipient,
                                           uint64_t sequence);

  // The journaled envelope of `message_id`, parsed; its bytes in `*bytes`.
  // Errors are logged: the journal is damaged.
  Result<EnvelopeView> LoadEnvelope(const std::string& message_id,
                                    std::string* bytes);

  // Deletes the envelopes whose retention is over, except those still in
  // a recipient's queue (an operator replayed them: RetainFromNow starts
  // their retention again when that delivery ends), each with an audit
  // record (PayloadDeleted). The audit chain, the case, the dedup entry and
  // the dead letters stay. True if more may be due than it took.
  bool Purge();
  void RetainFromNow(const EnvelopeView& v, uint64_t sequence);
  Result<bool> InAQueue(const std::string& recipient, uint64_t sequence);

  // Moves `recipient`'s delivery of `v` to the dead letters (`reason`
  // Expired or Undeliverable), moves the case, audits, and reports to the
  // sender.
  void MakeDead(const std::string& recipient, uint64_t sequence,
                const EnvelopeView& v, wire::RecipientState reason,
                uint32_t attempts, const std::string& detail);

  // Journals a StatusReport, sealed by the broker, for the sender of `v`
  // (never for the broker's own reports).
  void ReportToSender(const EnvelopeView& v, const std::string& recipient,
                      wire::RecipientState state, uint32_t attempts,
                      const std::string& detail);

  // True if `r`'s message id is known: `out` then holds the first receipt
  // or a refusal, and `in_batch` says whether it was accepted by this batch.
  // Reads the journal only if ingress's lookup (r.prior) cannot be trusted.
  bool FindDuplicate(const SubmitRequest& r, SubmitOutcome* out,
                     bool* in_batch);

  // The case's state in this batch: loaded from the journal once, or empty
  // if the case is new. Null if the journal cannot be read.
  wire::CaseStateT* LoadCase(const std::string& case_id);

  // Chains `entry` onto the audit log, in this batch.
  void AppendAudit(const audit::AuditEntry& entry);

  // Whether the log shows case events (info): only then are they written.
  static bool LogsEvents();

  JournalWriter* w_;
  const int64_t now_ms_;
  std::unique_ptr<Batch> batch_;
  const uint64_t first_sequence_;
  const audit::AuditHead audit_start_;
  std::map<std::string, std::unique_ptr<wire::CaseStateT>> cases_;
  std::map<std::string, bool> subjects_;        // ref || participant -> held
  std::map<std::string, DedupEntry> accepted_;  // this batch's, and reports
  std::set<std::string> recipients_;
  // Indexes of the outcomes that hold only if this batch commits: first
  // accepts, and duplicates of them in the same batch.
  std::vector<size_t> depends_on_batch_;
  std::set<std::string> ack_recipients_;
  std::set<Key> removed_outbox_;  // acked or dead in this batch
  std::set<Key> dead_removed_;    // replayed or dropped in this batch
  std::set<Key> replayed_;        // put back in an outbox by this batch
  // Messages whose retention this batch started again (RetainFromNow).
  std::set<std::string> retained_;
  size_t changes_ = 0;  // requests and dead letters in the batch
  CommitReport report_;
};

}  // namespace relais::broker::journal
