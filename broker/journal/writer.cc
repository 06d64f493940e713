#include "broker/journal/writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <type_traits>
#include <variant>

#include "broker/journal/batch_builder.h"
#include "core/bytes.h"
#include "core/crash_point.h"
#include "core/thread_name.h"

namespace relais::broker::journal {
namespace {

// Whether `requests` hold an operator's action or a backup.
bool HoldsOperatorWork(const std::vector<Request>& requests) {
  return std::any_of(requests.begin(), requests.end(), [](const Request& r) {
    return std::holds_alternative<OperatorRequest>(r) ||
           std::holds_alternative<BackupRequest>(r);
  });
}

}  // namespace

Result<std::unique_ptr<JournalWriter>> JournalWriter::Create(
    Journal* journal, const Clock* clock, BrokerSigner signer,
    ReportFn report) {
  std::unique_ptr<JournalWriter> w(
      new JournalWriter(journal, clock, std::move(signer), std::move(report)));
  RELAIS_RETURN_IF_ERROR(w->LoadState());
  return w;
}

Status JournalWriter::LoadState() {
  uint64_t next_sequence = 1;
  audit::AuditHead audit_head;
  auto next = journal_->GetMeta(kMetaNextSequence);
  if (next.ok()) {
    if (next->size() != 8)
      return Status::Corruption("next_sequence is not 8 bytes");
    next_sequence = GetBigEndian64(next->data());
  } else if (next.status().code() != Status::Code::kNotFound) {
    return next.status();
  }
  auto head = journal_->GetMeta(kMetaAuditHead);
  if (head.ok()) {
    RELAIS_ASSIGN_OR_RETURN(audit_head, audit::DecodeHead(*head));
  } else if (head.status().code() != Status::Code::kNotFound) {
    return head.status();
  }
  next_sequence_ = next_sequence;
  audit_.Reset(std::move(audit_head));
  // What the journal holds when it is (re)opened is what its log holds.
  synced_through_.store(next_sequence - 1, std::memory_order_release);
  return Status::OK();
}

bool JournalWriter::RecoverJournal() {
  const uint64_t generation = journal_->generation();
  if (!journal_->Recover().ok()) return false;
  if (journal_->generation() != generation) {
    // What a failed batch left may be in the journal after all.
    CountBatch(false, {});
    // Reopened: a batch reported as failed may still have reached the log
    // (a failed sync after a complete write) and been replayed, so the
    // sequence and audit head are read again rather than trusted.
    state_status_ = LoadState();
    if (!state_status_.ok()) {
      spdlog::error("journal reopened but its state cannot be read: {}",
                    state_status_.ToString());
    }
  }
  return true;
}

JournalWriter::JournalWriter(Journal* journal, const Clock* clock,
                             BrokerSigner signer, ReportFn report)
    : journal_(journal),
      clock_(clock),
      signer_(std::move(signer)),
      report_(std::move(report)),
      audit_(audit::AuditHead{}) {}

JournalWriter::~JournalWriter() { Stop(); }

void JournalWriter::Start() {
  sync_thread_ = std::thread([this] {
    NameThisThread("journal-sync");
    SyncRun();
  });
  thread_ = std::thread([this] {
    NameThisThread("journal-writer");
    Run();
  });
}

void JournalWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The writer is done: the sync thread reports what it still holds.
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    sync_stopping_ = true;
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
}

void JournalWriter::Hand(Written written) {
  {
    std::unique_lock<std::mutex> lock(sync_mu_);
    drained_cv_.wait(lock, [this] { return written_.size() < kMaxWritten; });
    written_.push_back(std::move(written));
  }
  sync_cv_.notify_one();
}

void JournalWriter::Drain() {
  std::unique_lock<std::mutex> lock(sync_mu_);
  drained_cv_.wait(lock, [this] { return written_.empty() && !syncing_; });
}

void JournalWriter::TakeSyncFailure() {
  Status why;
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    if (!sync_failed_) return;
  }
  Drain();  // every batch written before the writer knew is refused
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    why = sync_error_;
    sync_failed_ = false;
  }
  // What the failed batches wrote may or may not be in the log: the
  // journal is opened again, and the sequence and audit head read again,
  // before anything else is written; lookups made before are not trusted.
  journal_->SyncFailed(why);
  CountBatch(false, {});
}

void JournalWriter::RaiseSyncedThrough(uint64_t sequence) {
  uint64_t seen = synced_through_.load(std::memory_order_relaxed);
  while (sequence > seen && !synced_through_.compare_exchange_weak(
                                seen, sequence, std::memory_order_release)) {
  }
}

void JournalWriter::SyncRun() {
  std::vector<Written> round;
  for (;;) {
    bool failed = false;
    Status why;
    {
      std::unique_lock<std::mutex> lock(sync_mu_);
      sync_cv_.wait(lock,
                    [this] { return sync_stopping_ || !written_.empty(); });
      if (written_.empty()) return;  // stopping, and everything reported
      for (auto& w : written_) round.push_back(std::move(w));
      written_.clear();
      syncing_ = true;
      failed = sync_failed_;
      why = sync_error_;
    }
    drained_cv_.notify_all();  // room for the writer's next batches
    const bool needs_sync =
        std::any_of(round.begin(), round.end(),
                    [](const Written& w) { return w.NeedsSync(); });
    double sync_seconds = 0;
    if (!failed && needs_sync) {
      const auto start = std::chrono::steady_clock::now();
      const Status synced = journal_->SyncLog();
      sync_seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
      if (synced.ok()) {
        stats_.syncs.fetch_add(1);
        CrashPoint("writer.batch.synced");
      } else {
        spdlog::error(
            "journal log sync failed: {}; the {} batch(es) written since "
            "the last good sync are refused, and the journal is opened "
            "again",
            synced.ToString(), round.size());
        failed = true;
        why = synced;
        std::lock_guard<std::mutex> lock(sync_mu_);
        sync_failed_ = true;
        sync_error_ = synced;
      }
    }
    uint64_t through = 0;
    for (auto& w : round) {
      if (!w.report.commit_status.ok()) continue;  // its write failed
      if (failed) {
        w.report.commit_status = why;
        FailReport(w.undo, &w.report);
        stats_.failed_batches.fetch_add(1);
        continue;
      }
      through = std::max(through, w.last_sequence);
      if (w.NeedsSync()) w.report.write_seconds += sync_seconds;
    }
    // Readable for deliveries before the answers go, as with a synced
    // write.
    if (through > 0) RaiseSyncedThrough(through);
    for (auto& w : round) report_(std::move(w.report));
    round.clear();
    {
      std::lock_guard<std::mutex> lock(sync_mu_);
      syncing_ = false;
    }
    drained_cv_.notify_all();
  }
}

void JournalWriter::Post(Request request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(request));
  }
  cv_.notify_one();
}

Result<PriorReceipt> JournalWriter::LookUpReceipt(
    std::string_view message_id) const {
  PriorReceipt prior;
  prior.as_of_batch = batches_counted_.load(std::memory_order_acquire);
  auto found = journal_->GetDedup(message_id);
  if (found.ok()) {
    prior.first = std::move(*found);
  } else if (found.status().code() != Status::Code::kNotFound) {
    return found.status();
  }
  prior.looked_up = true;
  return prior;
}

void JournalWriter::CountBatch(
    bool committed, std::vector<std::pair<std::string, DedupEntry>> accepted) {
  const uint64_t n = batches_counted_.load(std::memory_order_relaxed) + 1;
  if (committed) {
    recent_.Remember(n, std::move(accepted));
  } else {
    recent_.Forget(n);
  }
  batches_counted_.store(n, std::memory_order_release);
}

std::unique_ptr<Batch> JournalWriter::TakeBatch(size_t reserved_bytes) {
  if (spare_batch_ != nullptr) return std::move(spare_batch_);
  return journal_->NewBatch(reserved_bytes);
}

void JournalWriter::KeepForNextBatch(std::unique_ptr<Batch> spent) {
  if (spent->bytes() > kSpareBatchBytes) return;  // freed
  spent->Clear();
  spare_batch_ = std::move(spent);
}

void JournalWriter::Run() {
  std::vector<Request> batch;
  auto next_sweep = std::chrono::steady_clock::now();
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, next_sweep,
                     [this] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) return;
      stopping = stopping_;
      size_t bytes = 0;
      while (!queue_.empty() && batch.size() < kMaxBatchRequests &&
             bytes < kMaxBatchBytes) {
        if (auto* s = std::get_if<SubmitRequest>(&queue_.front())) {
          bytes += s->envelope.size();
        }
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const auto now = std::chrono::steady_clock::now();
    const bool sweep = !stopping && now >= next_sweep;
    if (sweep) next_sweep = now + sweep_interval_;
    // Entries left due: swept again with the next batch, at once.
    if (CommitBatch(&batch, sweep, now)) next_sweep = now;
    batch.clear();
  }
}

bool JournalWriter::CommitBatch(std::vector<Request>* requests, bool sweep,
                                std::chrono::steady_clock::time_point taken) {
  // Operator actions and backups are synced here, after every batch
  // before them: nothing is in flight while they are built and written.
  // Nor while the journal recovers, which may open it again.
  const bool direct = !journal_->healthy() || HoldsOperatorWork(*requests);
  if (direct) Drain();
  TakeSyncFailure();
  const bool recovered = !journal_->healthy() && RecoverJournal();
  if (!state_status_.ok()) state_status_ = LoadState();
  // Nothing to write the sweep's dead letters with until it recovers.
  sweep = sweep && journal_->healthy();
  // About what the batch writes: each envelope, and its case, audit,
  // outbox, dedup and expiry entries (an ack: its case and audit record).
  size_t reserve = 0;
  for (const auto& r : *requests) {
    const auto* s = std::get_if<SubmitRequest>(&r);
    reserve += (s != nullptr ? s->envelope.size() : 0) + 1024;
  }
  BatchBuilder builder(this, clock_->NowMs(), reserve);
  size_t submits = 0;
  std::vector<BackupRequest> backups;
  // Only acks Processed: no answer waits for this batch and nothing is
  // reported to a sender, so the write need not wait for the disk.
  bool acks_only = true;
  for (auto& r : *requests) {
    if (std::holds_alternative<SubmitRequest>(r)) ++submits;
    const auto* ack = std::get_if<AckRequest>(&r);
    if (ack == nullptr || ack->outcome != wire::AckOutcome::Processed) {
      acks_only = false;
    }
    std::visit(
        [&](auto& op) {
          if constexpr (std::is_same_v<std::decay_t<decltype(op)>,
                                       BackupRequest>) {
            backups.push_back(std::move(op));  // after the batch, below
          } else {
            builder.Add(op);
          }
        },
        r);
  }
  const bool behind = sweep && builder.Sweep();
  if (requests->empty() && builder.empty()) {
    KeepForNextBatch(builder.ReleaseBatch());
    if (recovered) {
      CommitReport report;
      report.journal_recovered = true;
      report_(std::move(report));
    }
    if (sweep) stats_.sweeps.fetch_add(1);
    return false;
  }
  CommitReport report = builder.Commit(
      acks_only ? Journal::Durability::kWritten : Journal::Durability::kSynced,
      /*defer_sync=*/!direct);
  report.taken = taken;
  CountBatch(report.commit_status.ok(), builder.TakeAccepted());
  KeepForNextBatch(builder.ReleaseBatch());
  // After the batch: a copy holds everything answered before it.
  for (const auto& b : backups) report.backups.push_back(MakeBackup(b));
  report.journal_recovered = recovered;
  CountStats(report, submits);
  const bool committed = report.commit_status.ok();
  const uint64_t last_sequence = next_sequence_ - 1;
  if (direct) {
    if (committed && report.synced) {
      stats_.syncs.fetch_add(1);
      RaiseSyncedThrough(last_sequence);
    }
    report_(std::move(report));
  } else {
    Hand(Written{std::move(report), builder.Undo(), last_sequence});
  }
  if (sweep) stats_.sweeps.fetch_add(1);
  return behind && committed;
}

void JournalWriter::CountStats(const CommitReport& report, size_t submits) {
  if (report.commit_status.ok()) {
    stats_.dead_letters.fetch_add(report.dead_letters.size());
    stats_.payloads_deleted.fetch_add(report.payloads_deleted);
    LogDeletions(report.payloads_deleted);
  }
  if (report.commit_status.ok() && !report.synced) {
    stats_.unsynced_batches.fetch_add(1);
  } else {
    stats_.batches.fetch_add(1);
  }
  stats_.submits.fetch_add(submits);
  if (!report.commit_status.ok()) stats_.failed_batches.fetch_add(1);
  uint64_t largest = stats_.largest_batch.load();
  while (submits > largest &&
         !stats_.largest_batch.compare_exchange_weak(largest, submits)) {
  }
}

void JournalWriter::LogDeletions(uint64_t deleted) {
  unlogged_deletions_ += deleted;
  const auto now = std::chrono::steady_clock::now();
  if (unlogged_deletions_ == 0 ||
      (deletions_logged_ && now - last_deletion_log_ < kDeletionLogInterval)) {
    return;
  }
  spdlog::info(
      "retention: envelopes deleted: {} (of messages whose retention, "
      "payload_retention_days after their expiry or their replay, is over; "
      "their trails and audit records stay, and the audit chain has a "
      "record of each deletion)",
      unlogged_deletions_);
  unlogged_deletions_ = 0;
  deletions_logged_ = true;
  last_deletion_log_ = now;
}

BackupOutcome JournalWriter::MakeBackup(const BackupRequest& r) {
  BackupOutcome out;
  out.reply = r.reply;
  out.made_at_ms = clock_->NowMs();
  out.sequence = next_sequence_ - 1;
  const auto refuse = [&](const Status& why) {
    spdlog::error("backup asked by {} not made: {}", r.operator_id,
                  why.ToString());
    out.status = Status::Rejected(wire::RejectCode::JournalUnavailable,
                                  "the backup could not be made (relaisd's "
                                  "log says why); nothing was copied");
    return out;
  };
  if (!journal_->healthy())
    return refuse(Status::Unavailable("journal unhealthy"));
  std::error_code ec;
  std::filesystem::create_directories(backup_dir_, ec);
  if (ec)
    return refuse(
        Status::IOError("cannot create " + backup_dir_ + ": " + ec.message()));
  // journal-20261130T020000Z-42: sorted by time, named by its last sequence.
  const std::time_t seconds = static_cast<std::time_t>(out.made_at_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
  // A second backup in the same second at the same sequence (nothing
  // accepted between) gets -2, -3, ...: never an existing folder.
  const std::string base =
      (std::filesystem::path(backup_dir_) /
       ("journal-" + std::string(stamp) + "-" + std::to_string(out.sequence)))
          .string();
  out.folder = base;
  for (int n = 2; std::filesystem::exists(out.folder, ec); ++n) {
    if (n > 1000) return refuse(Status::IOError(base + "-* all exist"));
    out.folder = base + "-" + std::to_string(n);
  }
  auto bytes = journal_->Checkpoint(out.folder);
  if (!bytes.ok()) return refuse(bytes.status());
  out.bytes = *bytes;
  spdlog::info(
      "backup of the journal up to sequence {} in {} ({} bytes), "
      "asked by {}",
      out.sequence, out.folder, out.bytes, r.operator_id);
  return out;
}

}  // namespace relais::broker::journal
