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
// Thread-safety: Post and LookUpReceipt may be called from any thread. The
// report callback runs on the writer thread.

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
  // A batch's buffer is kept for the next batch if it held at most this
  // (about 6 000 messages of 1 KiB): a larger one is freed.
  static constexpr size_t kSpareBatchBytes = 16 << 20;

 private:
  class BatchBuilder;
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
