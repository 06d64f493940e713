#pragma once

// JournalWriter: the one thread that writes the journal, with group commit.
//
// Requests queue up while a batch is being built; the next batch takes
// every request that arrived meanwhile (up to a cap), so many messages share
// one fsync under load and a lone message is synced at once: no fixed
// sleep. For each batch it assigns sequences, detects duplicates, updates
// case states, appends audit records and seals the status reports owed to
// the senders of messages (dead letters, replays, refused deliveries,
// partner statuses).
//
// Pipelined sync: the writer thread writes each batch to the journal
// without a sync (RocksDB makes it readable at once, so the next batch is
// built on it) and hands its report to a second thread, which syncs the
// log (one SyncLog covers every batch written before it) and only then
// sends the reports, in the order the batches were written: an Accepted
// is never sent before its sync, and the writer builds the next batch
// while the last one syncs. Deliveries read the outboxes only up to
// synced_through(), so no recipient gets a message before it is synced.
// A failed sync refuses every batch written since the last good one, and
// the journal is opened again (its state read again) before the next
// write. Operator actions and backups wait for every sync in flight and
// commit with a sync of their own.
//
// After a failed write every batch is refused (JournalUnavailable) until
// the journal recovers; the writer asks it to (Journal::Recover) before each
// batch and on its sweep timer, so recovery needs no new traffic. After a
// reopen it reads its sequence and audit head from the journal again.
//
// Thread-safety: Post, LookUpReceipt and synced_through may be called from
// any thread. The report callback runs on the writer thread or the sync
// thread, never on both at once, in the order of the batches.

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
#include "broker/journal/recent_receipts.h"
#include "broker/journal/requests.h"
#include "core/clock.h"
#include "core/keys.h"
#include "core/status.h"

namespace relais::broker::journal {

// Who the broker is, for the status reports it seals to the senders of
// messages (not necessarily the cases' originators).
struct BrokerSigner {
  std::string id;
  SigningKey key;
  // Lifetime of a status report (its expires_at_ms - created_at_ms).
  int64_t report_ttl_ms = 30LL * 24 * 3600 * 1000;
};

struct WriterStats {
  // Batches synced (or failed), and batches written without a sync.
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> unsynced_batches{0};
  // Syncs of the log that succeeded: one may cover several batches.
  std::atomic<uint64_t> syncs{0};
  std::atomic<uint64_t> submits{0};
  std::atomic<uint64_t> largest_batch{0};
  std::atomic<uint64_t> failed_batches{0};
  std::atomic<uint64_t> dead_letters{0};
  // Expiry sweeps done, counted once their dead letters are reported.
  std::atomic<uint64_t> sweeps{0};
  // Envelopes deleted at the end of their retention.
  std::atomic<uint64_t> payloads_deleted{0};
};

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

  // Queues a request for the next batch.
  void Post(Request request);

  // What the journal knows of `message_id` now, with the number of batches
  // committed before it looked: ingress looks a submit up once, and the
  // writer then reads only what it remembers of the batches since
  // (recent_receipts.h). Any thread. The journal's error if it cannot read.
  Result<PriorReceipt> LookUpReceipt(std::string_view message_id) const;

  // The last sequence whose batch is synced: an outbox entry above it may
  // be readable but is not yet durable (deliveries stop below it).
  uint64_t synced_through() const {
    return synced_through_.load(std::memory_order_acquire);
  }

  const WriterStats& stats() const { return stats_; }
  // Where BackupRequests make their copies (a folder per backup). Call
  // before Start().
  void set_backup_dir(std::string dir) { backup_dir_ = std::move(dir); }
  // How long a message's envelope is kept after its expires_at_ms (or
  // after the end of an operator's replay of it), then deleted: see
  // BatchBuilder::Purge. Call before Start(). Default: 30 days.
  void set_payload_retention(std::chrono::milliseconds retention) {
    payload_retention_ = retention;
  }
  static constexpr std::chrono::milliseconds kDefaultPayloadRetention{
      30LL * 24 * 3600 * 1000};
  // Cap on requests in one batch. Default: 2048.
  static constexpr size_t kMaxBatchRequests = 2048;
  // Cap on envelope bytes in one batch. Default: 32 MiB.
  static constexpr size_t kMaxBatchBytes = 32 << 20;
  // How often expired messages (and envelopes whose retention is over) are
  // looked for, and how many at most of each per sweep. A sweep that found
  // more is followed by another in the next batch, without waiting for the
  // interval, until none is left: the sweeps keep up with any load the
  // journal accepts, each batch holding at most kMaxSweep of each.
  static constexpr std::chrono::milliseconds kSweepInterval{500};
  static constexpr size_t kMaxSweep = 1024;
  // Another interval than kSweepInterval (tests). Call before Start().
  void set_sweep_interval(std::chrono::milliseconds interval) {
    sweep_interval_ = interval;
  }
  // Batches written and not yet reported, at most: the writer waits for
  // the sync thread beyond this (requests then gather in bigger batches).
  static constexpr size_t kMaxWritten = 4;
  // A batch's buffer is kept for the next batch if it held at most this
  // (about 6 000 messages of 1 KiB): a larger one is freed.
  static constexpr size_t kSpareBatchBytes = 16 << 20;

 private:
  class BatchBuilder;
  // What a batch's report must lose if the batch turns out not to be
  // journaled: the outcomes that held only if it committed.
  struct BatchUndo {
    std::vector<size_t> depends_on_batch;  // indexes into report.submits
    std::vector<std::string> ack_recipients;
  };
  // Turns `report` into a failed batch's: those submits, operator
  // actions, statuses and registrations refused (JournalUnavailable), its
  // acks' recipients to be sent their deliveries again. The caller sets
  // commit_status.
  static void FailReport(const BatchUndo& undo, CommitReport* report);
  // A batch written without a sync, its report waiting for the sync
  // thread.
  struct Written {
    CommitReport report;
    BatchUndo undo;
    uint64_t last_sequence = 0;  // the last sequence the batch holds
    // False if its write failed already, or if it holds acks only.
    bool NeedsSync() const {
      return report.commit_status.ok() && report.synced;
    }
  };
  // The sync thread: syncs what was written, then reports it.
  void SyncRun();
  // Hands a written batch to the sync thread (waits while kMaxWritten
  // are pending).
  void Hand(Written written);
  // Waits until every batch handed over is reported.
  void Drain();
  // If a sync failed since the last call: waits until every batch handed
  // over is reported (refused), and has the journal opened again.
  void TakeSyncFailure();
  void RaiseSyncedThrough(uint64_t sequence);
  JournalWriter(Journal* journal, const Clock* clock, BrokerSigner signer,
                ReportFn report);
  void Run();
  // `taken`: when the requests left the queue (for the accept stages).
  // Returns whether the sweep left entries that were due (see kMaxSweep).
  bool CommitBatch(std::vector<Request>* requests, bool sweep,
                   std::chrono::steady_clock::time_point taken);
  // Makes the copy `r` asks for, once the batch before it is committed.
  BackupOutcome MakeBackup(const BackupRequest& r);
  // Reads the next sequence and the audit head from the journal.
  Status LoadState();
  // Counts a batch just written (or refused) in stats_.
  void CountStats(const CommitReport& report, size_t submits);
  // Logs the envelopes deleted by retention: the first at once, then at
  // most one line a minute (a steady load deletes some at every sweep).
  void LogDeletions(uint64_t deleted);
  static constexpr std::chrono::seconds kDeletionLogInterval{60};
  // Asks an unhealthy journal to recover; true if it did.
  bool RecoverJournal();
  // Counts a batch that committed (its acceptances remembered) or failed
  // (earlier lookups no longer trusted).
  void CountBatch(bool committed,
                  std::vector<std::pair<std::string, DedupEntry>> accepted);
  // An empty batch: the last one's buffer if it was kept, else a new one
  // of `reserved_bytes`.
  std::unique_ptr<Batch> TakeBatch(size_t reserved_bytes);
  // Keeps `spent`, emptied, for TakeBatch, unless it held more than
  // kSpareBatchBytes.
  void KeepForNextBatch(std::unique_ptr<Batch> spent);

  Journal* journal_;
  const Clock* clock_;
  BrokerSigner signer_;
  ReportFn report_;
  uint64_t next_sequence_ = 1;
  audit::AuditChain audit_;
  // Not OK while the state could not be read again after a reopen: batches
  // are refused until it is.
  Status state_status_;
  // Batches counted so far (CountBatch), read by LookUpReceipt.
  std::atomic<uint64_t> batches_counted_{0};
  RecentReceipts recent_;  // writer thread only
  // The last batch's buffer, emptied: a batch of a few MiB otherwise maps
  // (and faults in) fresh memory each time; reusing it cut the writer's
  // CPU per message by 10-13 % (bench/README.md). Writer thread only.
  std::unique_ptr<Batch> spare_batch_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::thread thread_;
  // The sync thread's queue and state.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;     // written_ grew, or stopping
  std::condition_variable drained_cv_;  // written_ shrank, or a round ended
  std::deque<Written> written_;         // guarded by sync_mu_
  bool syncing_ = false;                // a round is being synced and reported
  bool sync_stopping_ = false;          // guarded by sync_mu_
  bool sync_failed_ = false;  // since the writer last took the failure
  Status sync_error_;         // guarded by sync_mu_
  std::thread sync_thread_;
  std::atomic<uint64_t> synced_through_{0};
  WriterStats stats_;
  std::string backup_dir_;
  std::chrono::milliseconds payload_retention_{kDefaultPayloadRetention};
  std::chrono::milliseconds sweep_interval_{kSweepInterval};
  // LogDeletions's count and last line (writer thread only).
  uint64_t unlogged_deletions_ = 0;
  bool deletions_logged_ = false;
  std::chrono::steady_clock::time_point last_deletion_log_{};
};

}  // namespace relais::broker::journal
