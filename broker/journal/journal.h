#pragma once

// The broker's journal: a RocksDB database with the column families of
// journal_format.h. Storage only; the write path's logic (sequences, dedup,
// case states, audit chain) lives in JournalWriter.
//
// Thread-safety: reads may run on any thread at any time. Commit() must be
// called from one thread at a time (the JournalWriter's). RocksDB errors are
// converted to relais::Status here and nowhere else.

#include <cstdint>
#include <memory>
#include <optional>
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
};

struct OutboxEntry {
  uint64_t sequence = 0;
  std::string message_id;
  // Put back by an operator from the dead letters: expiry no longer applies.
  bool replayed = false;
};

struct ExpiryEntry {
  int64_t expires_at_ms = 0;
  uint64_t sequence = 0;
  std::string message_id;
};

struct DeadLetterRecord {
  std::string recipient;
  uint64_t sequence = 0;
  std::string value;  // DeadLetter FlatBuffer
};

// A set of changes committed atomically by Journal::Commit.
class Batch {
 public:
  Batch();
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
  void PutExpiry(int64_t expires_at_ms, uint64_t sequence,
                 std::string_view message_id);
  void DeleteExpiry(int64_t expires_at_ms, uint64_t sequence);
  size_t count() const;
  void Clear();

 private:
  friend class Journal;
  class Families;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  const Families* families_ = nullptr;  // set by Journal::NewBatch
};

class Journal {
 public:
  // Opens (creating if needed) the journal in `dir`. Corruption if RocksDB
  // finds damaged files or the schema version is not ours; IOError if the
  // directory cannot be used.
  static Result<std::unique_ptr<Journal>> Open(const std::string& dir,
                                               const JournalOptions& options);
  ~Journal();

  // An empty batch bound to this journal.
  std::unique_ptr<Batch> NewBatch() const;
  // Writes `batch` atomically and returns only after it is synced to disk
  // (WriteOptions.sync). IOError on any failure: then nothing of the batch
  // is visible. After a failure the next Commit first tries to resume the
  // database (e.g. once disk space is back).
  Status Commit(Batch* batch);

  // NotFound if absent.
  Result<std::string> GetMessage(std::string_view message_id) const;
  Result<DedupEntry> GetDedup(std::string_view message_id) const;
  Result<std::string> GetCase(std::string_view case_id) const;
  Result<std::string> GetMeta(std::string_view name) const;

  // Appends to `out` up to `max` outbox entries of `recipient` whose
  // sequence is >= `from_sequence`, in sequence order. Reads only that
  // recipient's range (iterate_upper_bound), starting at the cursor, so
  // deleted entries before the cursor cost nothing.
  Status ReadOutbox(std::string_view recipient, uint64_t from_sequence,
                    size_t max, std::vector<OutboxEntry>* out) const;
  // `recipient`'s outbox entry of `sequence`; nullopt if there is none.
  Result<std::optional<OutboxEntry>> GetOutbox(std::string_view recipient,
                                               uint64_t sequence) const;
  // Up to `max` expiry index entries with expires_at_ms <= now_ms, oldest
  // first.
  Status ReadExpired(int64_t now_ms, size_t max,
                     std::vector<ExpiryEntry>* out) const;
  // NotFound if absent.
  Result<std::string> GetDead(std::string_view recipient,
                              uint64_t sequence) const;
  // Up to `max` dead letters in (recipient, sequence) order: `recipient`'s
  // after `after_sequence`, or everyone's if `recipient` is empty.
  Status ListDead(std::string_view recipient, uint64_t after_sequence,
                  size_t max, std::vector<DeadLetterRecord>* out) const;
  // Number of outbox entries of `recipient` (a scan; for tests and tools).
  Result<uint64_t> CountOutbox(std::string_view recipient) const;
  // Audit records with sequence in [from, to], in order (raw bytes).
  Status ReadAudit(uint64_t from, uint64_t to,
                   std::vector<std::string>* out) const;

 private:
  Journal() = default;
  Result<std::string> Get(rocksdb::ColumnFamilyHandle* family,
                          std::string_view key) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<Batch::Families> families_;
  bool needs_resume_ = false;
};

}  // namespace relais::broker::journal
