#pragma once

// The broker's journal: a RocksDB database with the column families of
// journal_format.h. Storage only; the write path's logic (sequences, dedup,
// case states, audit chain) lives in JournalWriter.
//
// Damage is never skipped: Open fails with Corruption, naming the folder,
// if a table file is truncated, the MANIFEST or CURRENT is damaged, or a
// log record other than the last is (a torn last record is what a crash
// leaves of a write that was never acknowledged, and is dropped). Every
// read verifies block checksums; verify_on_open reads everything at Open.
//
// Write failures: a failed Commit makes the journal unhealthy, and RocksDB
// refuses every write until it is resumed. Recover() makes it writable
// again, at most once per backoff interval (100 ms doubling to 2 s):
// DB::Resume() where RocksDB can recover in place (disk full, once its
// SstFileManager sees free space), otherwise (a failed log write or sync is
// fatal to RocksDB) by closing and opening the database again, once a probe
// file can be written to the folder. Nothing synced is lost either way.
//
// Thread-safety: reads may run on any thread at any time; while Recover()
// reopens the database they wait, and fail with IOError if it could not be
// opened. Batches are built, and Commit(), SyncFailed(), Recover() and
// Close() called, on one thread at a time (the JournalWriter's); SyncLog()
// on any thread. RocksDB errors are converted to relais::Status here and
// nowhere else.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/journal/journal_format.h"
#include "core/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
class Cache;
}  // namespace rocksdb

namespace relais::broker::journal {

struct JournalOptions {
  // Shared block cache for reads (bounds read memory).
  // Default: 32 MiB.
  size_t block_cache_bytes = 32 << 20;
  // Total memtable memory across column families (bounds write memory).
  // Default: 64 MiB.
  size_t write_buffer_bytes = 64 << 20;
  // Open reads every block of every table file and fails with Corruption on
  // a checksum mismatch (DB::VerifyChecksum). Without it, damage inside a
  // table file's data is found when that block is read. Costs one read of
  // the whole journal at each start.
  // Default: false.
  bool verify_on_open = false;
};

struct OutboxEntry {
  uint64_t sequence = 0;
  std::string message_id;
  // Put back by an operator from the dead letters: expiry no longer applies.
  bool replayed = false;
};

// An entry of a time index (expiry or purge), at `due_ms`; `value` is
// the message id (expiry) or a purge value (journal_format.h).
struct DueEntry {
  int64_t due_ms = 0;
  uint64_t sequence = 0;
  std::string value;
};

// The journal's two indexes by time.
enum class TimeIndex {
  kExpiry,  // messages by expires_at_ms: made dead letters once it passed
  kPurge,   // envelopes by when their retention starts: deleted at its end
};

struct DeadLetterRecord {
  std::string recipient;
  uint64_t sequence = 0;
  std::string value;  // DeadLetter FlatBuffer
};

// A set of changes committed atomically by Journal::Commit. Built on the
// committing thread: its Put and Delete read the column family handles,
// which Recover() replaces when it reopens the database.
class Batch {
 public:
  // `reserved_bytes`: room made at once for what will be written (a batch
  // that outgrows its buffer copies it all again).
  explicit Batch(size_t reserved_bytes = 0);
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void PutMessage(std::string_view message_id, std::string_view envelope);
  void PutOutbox(std::string_view recipient, uint64_t sequence,
                 std::string_view message_id, bool replayed = false);
  void DeleteOutbox(std::string_view recipient, uint64_t sequence);
  void PutDedup(std::string_view message_id, const DedupEntry& entry);
  void PutCase(std::string_view case_id, std::string_view case_state);
  void PutAudit(uint64_t sequence, std::string_view record);
  void PutMeta(std::string_view name, std::string_view value);
  void PutDead(std::string_view recipient, uint64_t sequence,
               std::string_view dead_letter);
  void DeleteDead(std::string_view recipient, uint64_t sequence);
  // The reference directory: `participant` holds a file on the citizen
  // `subject_ref` (32 bytes).
  void PutSubject(std::string_view subject_ref, std::string_view participant,
                  int64_t at_ms);
  void DeleteSubject(std::string_view subject_ref,
                     std::string_view participant);
  void PutExpiry(int64_t expires_at_ms, uint64_t sequence,
                 std::string_view message_id);
  void DeleteExpiry(int64_t expires_at_ms, uint64_t sequence);
  // The purge index: the retention of `message_id`'s envelope (sent to
  // `recipients`) counts from `from_ms`.
  void PutPurge(int64_t from_ms, uint64_t sequence, std::string_view message_id,
                const std::vector<std::string>& recipients);
  void DeletePurge(int64_t from_ms, uint64_t sequence);
  // Deletes a message's envelope (its retention is over).
  void DeleteMessage(std::string_view message_id);
  size_t count() const;
  // The bytes the batch holds (its log record).
  size_t bytes() const;
  // Empties the batch; its buffer keeps its size for the next changes.
  void Clear();

 private:
  friend class Journal;
  class Families;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  const Families* families_ = nullptr;  // set by Journal::NewBatch
};

class Journal {
 public:
  // Opens the journal in `dir`, creating it if the folder holds none.
  // Corruption (the message names `dir` and what is wrong) if files are
  // damaged or missing, e.g. log files without a CURRENT file (never an
  // empty journal over them), or the schema version is not ours; IOError if
  // the folder cannot be used.
  static Result<std::unique_ptr<Journal>> Open(const std::string& dir,
                                               const JournalOptions& options);
  // Closes without flushing (the log holds everything synced).
  ~Journal();

  // An empty batch bound to this journal.
  std::unique_ptr<Batch> NewBatch(size_t reserved_bytes = 0) const;
  // Whether Commit waits for the disk.
  enum class Durability {
    kSynced,  // the batch is synced to disk (WriteOptions.sync)
    // Written to the log but not synced: it survives the process being
    // killed, not the machine losing power, until the next synced batch
    // (which syncs the log, so everything before it, too).
    kWritten,
  };
  // Writes `batch` atomically and returns only after it is synced to disk
  // (by default). IOError on any failure: then nothing of the batch is
  // visible, and the journal is unhealthy until Recover() succeeds;
  // meanwhile Commit fails at once without writing.
  Status Commit(Batch* batch, Durability durability = Durability::kSynced);

  // Syncs the log: every batch written before the call (Commit kWritten)
  // is on disk when it returns OK. Any thread, concurrently with Commit
  // (RocksDB's SyncWAL): the journal writer syncs one batch while it
  // writes the next. IOError if it failed: then what was written since the
  // last good sync may or may not be on disk, and the committing thread
  // must call SyncFailed before its next Commit.
  Status SyncLog();
  // The committing thread learned that a SyncLog failed: the journal is
  // unhealthy, and Recover() opens it again (never resumes it in place),
  // so that what the writer keeps in memory is read again from what the
  // log really holds.
  void SyncFailed(Status why);
  // Tests only: called by SyncLog before it syncs; a non-OK result is
  // the sync's result instead (a failing disk), and the hook may block
  // (a slow one). Set before any SyncLog.
  void SetSyncHookForTest(std::function<Status()> hook) {
    sync_hook_ = std::move(hook);
  }

  // False from a failed Commit until Recover() succeeds (or after Close).
  bool healthy() const { return healthy_.load(); }
  // OK if the journal is healthy or was made writable again; otherwise the
  // reason it is not (also when called before the backoff interval ran
  // out: then nothing is tried). Logs the failure once and the recovery.
  Status Recover();
  // Counts the reopens made by Recover(): whoever caches state read from
  // the journal must read it again when this changes.
  uint64_t generation() const { return generation_.load(); }
  // Flushes the memtables to table files (the next start replays no log)
  // and closes the database, for a clean stop. Reads and commits fail
  // afterwards. The error of the flush, if any (nothing is lost then: the
  // log holds it).
  Status Close();

  // A consistent copy of the journal in `dir` (which must not exist): a
  // RocksDB checkpoint (the memtables flushed; table files hard-linked when
  // `dir` is on the same file system, else copied), openable by Open as
  // it is. Returns its size on disk. IOError if it cannot be made (then
  // `dir` is not left half-made). Call it between commits (the writer
  // does): it holds what they made.
  Result<uint64_t> Checkpoint(const std::string& dir);

  // NotFound if absent.
  Result<std::string> GetMessage(std::string_view message_id) const;
  // Whether the envelope of `message_id` is there (read without filling
  // the block cache: for the retention sweep's old messages).
  Result<bool> HasMessage(std::string_view message_id) const;
  Result<DedupEntry> GetDedup(std::string_view message_id) const;
  Result<std::string> GetCase(std::string_view case_id) const;
  Result<std::string> GetMeta(std::string_view name) const;
  // Whether `participant` registered `subject_ref`.
  Result<bool> HasSubject(std::string_view subject_ref,
                          std::string_view participant) const;
  // The participants that registered `subject_ref`, sorted.
  Result<std::vector<std::string>> SubjectHolders(
      std::string_view subject_ref) const;

  // Appends to `out` up to `max` outbox entries of `recipient` whose
  // sequence is >= `from_sequence`, in sequence order. Reads only that
  // recipient's range (iterate_upper_bound), starting at the cursor, so
  // deleted entries before the cursor cost nothing.
  Status ReadOutbox(std::string_view recipient, uint64_t from_sequence,
                    size_t max, std::vector<OutboxEntry>* out) const;
  // `recipient`'s outbox entry of `sequence`; nullopt if there is none.
  Result<std::optional<OutboxEntry>> GetOutbox(std::string_view recipient,
                                               uint64_t sequence) const;
  // Up to `max` entries of `index` due at or before now_ms, oldest first.
  Status ReadDue(TimeIndex index, int64_t now_ms, size_t max,
                 std::vector<DueEntry>* out) const;
  // NotFound if absent.
  Result<std::string> GetDead(std::string_view recipient,
                              uint64_t sequence) const;
  // Up to `max` dead letters in (recipient, sequence) order: `recipient`'s
  // after `after_sequence`, or everyone's if `recipient` is empty.
  Status ListDead(std::string_view recipient, uint64_t after_sequence,
                  size_t max, std::vector<DeadLetterRecord>* out) const;
  // Calls `visit` with each case's id and state (a CaseState buffer) in id
  // order, from the first id after `after_case_id` (empty: the first),
  // until it returns false.
  Status ForEachCase(
      std::string_view after_case_id,
      const std::function<bool(std::string_view case_id,
                               std::string_view state)>& visit) const;
  // Number of outbox entries of `recipient` (a scan; for tests and tools).
  Result<uint64_t> CountOutbox(std::string_view recipient) const;
  // Audit records with sequence in [from, to], in order (raw bytes).
  Status ReadAudit(uint64_t from, uint64_t to,
                   std::vector<std::string>* out) const;

 private:
  struct OpenOptions;
  using Family = rocksdb::ColumnFamilyHandle* Batch::Families::*;
  Journal(std::string dir, std::unique_ptr<OpenOptions> options);
  // Opens the database into db_ and handles_; mu_ held exclusively (or no
  // other thread knows the journal yet).
  Status OpenDb();
  void CloseDb();
  Status TryRecover(std::string* how);
  void MarkFailed(Status status);
  // Commit's answer while unhealthy.
  Status Unavailable() const;
  Result<std::string> Get(Family family, std::string_view key) const;

  const std::string dir_;
  const std::unique_ptr<OpenOptions> options_;
  // Guards db_, handles_ and the handles in families_: shared for reads and
  // commits, exclusive to open and close the database.
  mutable std::shared_mutex mu_;
  std::unique_ptr<rocksdb::DB> db_;  // null while closed
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<Batch::Families> families_;

  std::atomic<bool> healthy_{true};
  std::atomic<uint64_t> generation_{0};
  bool closed_ = false;
  // The write failure being recovered from, and the retry schedule
  // (committing thread only).
  Status failure_;
  std::chrono::steady_clock::time_point failed_at_;
  std::chrono::steady_clock::time_point next_attempt_;
  std::chrono::milliseconds backoff_{0};
  std::string last_attempt_error_;
  // SyncFailed: Recover must reopen (committing thread only).
  bool reopen_needed_ = false;
  std::function<Status()> sync_hook_;
};

}  // namespace relais::broker::journal
