#include "broker/journal/journal.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "broker/journal/rocksdb_support.h"
#include "core/bytes.h"
#include "core/files.h"
#include "storage/rocks.h"

namespace relais::broker::journal {

// Handles of the column families, in a fixed order.
class Batch::Families {
 public:
  rocksdb::ColumnFamilyHandle* messages = nullptr;
  rocksdb::ColumnFamilyHandle* outbox = nullptr;
  rocksdb::ColumnFamilyHandle* dedup = nullptr;
  rocksdb::ColumnFamilyHandle* cases = nullptr;
  rocksdb::ColumnFamilyHandle* audit = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* dead = nullptr;
  rocksdb::ColumnFamilyHandle* expiry = nullptr;
  rocksdb::ColumnFamilyHandle* subjects = nullptr;
  rocksdb::ColumnFamilyHandle* purge = nullptr;
};

namespace {

const char* const kFamilies[] = {
    "default",     kMessagesFamily, kOutboxFamily, kDedupFamily,
    kCasesFamily,  kAuditFamily,    kMetaFamily,   kDeadFamily,
    kExpiryFamily, kSubjectsFamily, kPurgeFamily};

// The memtable's insert hint (RocksDB's
// memtable_insert_with_hint_prefix_extractor) for a family whose keys
// mostly come in order: a key goes in from where the last one with the
// same prefix went, instead of down the skip list from its top (a key
// elsewhere costs a search from there, no more). The prefix is the key
// without its last `tail` bytes: the recipient of an outbox key (then a
// growing sequence), nothing of an audit key (one growing sequence) or
// of a time index key (a time, later for later messages of the same time
// to live, then a sequence).
class SequenceTailPrefix : public rocksdb::SliceTransform {
 public:
  explicit SequenceTailPrefix(size_t tail)
      : tail_(tail),
        name_("relais.SequenceTailPrefix." + std::to_string(tail)) {}
  const char* Name() const override { return name_.c_str(); }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - tail_);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() >= tail_;
  }

 private:
  const size_t tail_;
  const std::string name_;
};

// The bytes after the prefix SequenceTailPrefix keeps, by family; 0 for a
// family whose keys come in no order (message ids, case ids).
size_t SequenceTail(const std::string& family) {
  if (family == kOutboxFamily || family == kAuditFamily) return 8;
  if (family == kExpiryFamily || family == kPurgeFamily) return 16;
  return 0;
}

// outbox value: message id, then 0x01 if replayed.
constexpr char kReplayedFlag = '\1';

using storage::FromRocks;
using storage::KeyRange;
using storage::Next;
rocksdb::Slice S(std::string_view s) { return storage::ToSlice(s); }

std::string BigEndian(uint64_t v) {
  std::string out;
  PutBigEndian64(&out, v);
  return out;
}

// Recover()'s backoff after a failed write: the first attempt, then
// doubling up to the cap.
constexpr std::chrono::milliseconds kFirstRetry{100};
constexpr std::chrono::milliseconds kMaxRetry{2000};

Result<OutboxEntry> DecodeOutboxValue(std::string value) {
  OutboxEntry e;
  if (value.size() == 17 && value.back() == kReplayedFlag) {
    value.pop_back();
    e.replayed = true;
  }
  if (value.empty()) return Status::Corruption("empty outbox entry");
  e.message_id = std::move(value);
  return e;
}

}  // namespace

Batch::Batch(size_t reserved_bytes)
    : batch_(std::make_unique<rocksdb::WriteBatch>(reserved_bytes)) {}
Batch::~Batch() = default;

void Batch::PutMessage(std::string_view id, std::string_view envelope) {
  batch_->Put(families_->messages, S(id), S(envelope)).PermitUncheckedError();
}
void Batch::PutOutbox(std::string_view recipient, uint64_t seq,
                      std::string_view message_id, bool replayed) {
  std::string value(message_id);
  if (replayed) value.push_back(kReplayedFlag);
  batch_->Put(families_->outbox, OutboxKey(recipient, seq), value)
      .PermitUncheckedError();
}
void Batch::PutDead(std::string_view recipient, uint64_t seq,
                    std::string_view dead_letter) {
  batch_->Put(families_->dead, OutboxKey(recipient, seq), S(dead_letter))
      .PermitUncheckedError();
}
void Batch::DeleteDead(std::string_view recipient, uint64_t seq) {
  batch_->Delete(families_->dead, OutboxKey(recipient, seq))
      .PermitUncheckedError();
}
void Batch::PutSubject(std::string_view subject_ref,
                       std::string_view participant, int64_t at_ms) {
  batch_
      ->Put(families_->subjects,
            std::string(subject_ref) + std::string(participant),
            BigEndian(static_cast<uint64_t>(at_ms)))
      .PermitUncheckedError();
}
void Batch::DeleteSubject(std::string_view subject_ref,
                          std::string_view participant) {
  batch_
      ->Delete(families_->subjects,
               std::string(subject_ref) + std::string(participant))
      .PermitUncheckedError();
}
void Batch::PutExpiry(int64_t expires_at_ms, uint64_t seq,
                      std::string_view message_id) {
  batch_->Put(families_->expiry, ExpiryKey(expires_at_ms, seq), S(message_id))
      .PermitUncheckedError();
}
void Batch::DeleteExpiry(int64_t expires_at_ms, uint64_t seq) {
  batch_->Delete(families_->expiry, ExpiryKey(expires_at_ms, seq))
      .PermitUncheckedError();
}
void Batch::PutPurge(int64_t from_ms, uint64_t seq, std::string_view message_id,
                     const std::vector<std::string>& recipients) {
  batch_
      ->Put(families_->purge, ExpiryKey(from_ms, seq),
            EncodePurge(message_id, recipients))
      .PermitUncheckedError();
}
void Batch::DeletePurge(int64_t from_ms, uint64_t seq) {
  batch_->Delete(families_->purge, ExpiryKey(from_ms, seq))
      .PermitUncheckedError();
}
void Batch::DeleteMessage(std::string_view message_id) {
  batch_->Delete(families_->messages, S(message_id)).PermitUncheckedError();
}
void Batch::DeleteOutbox(std::string_view recipient, uint64_t seq) {
  batch_->Delete(families_->outbox, OutboxKey(recipient, seq))
      .PermitUncheckedError();
}
void Batch::PutDedup(std::string_view id, const DedupEntry& entry) {
  batch_->Put(families_->dedup, S(id), EncodeDedup(entry))
      .PermitUncheckedError();
}
void Batch::PutCase(std::string_view case_id, std::string_view state) {
  batch_->Put(families_->cases, S(case_id), S(state)).PermitUncheckedError();
}
void Batch::PutAudit(uint64_t seq, std::string_view record) {
  batch_->Put(families_->audit, BigEndian(seq), S(record))
      .PermitUncheckedError();
}
void Batch::PutMeta(std::string_view name, std::string_view value) {
  batch_->Put(families_->meta, S(name), S(value)).PermitUncheckedError();
}
size_t Batch::count() const { return static_cast<size_t>(batch_->Count()); }
size_t Batch::bytes() const { return batch_->GetDataSize(); }
void Batch::Clear() { batch_->Clear(); }

// What DB::Open needs, kept for reopening.
struct Journal::OpenOptions {
  rocksdb::DBOptions db;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  std::shared_ptr<SpdlogLogger> logger;
  bool verify = false;  // at the first open only
};

Journal::Journal(std::string dir, std::unique_ptr<OpenOptions> options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      families_(std::make_unique<Batch::Families>()) {}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir,
                                               const JournalOptions& options) {
  auto o = std::make_unique<OpenOptions>();
  RELAIS_ASSIGN_OR_RETURN(o->db.create_if_missing, IsNewJournal(dir));
  if (o->db.create_if_missing) {
    std::error_code ec;  // if it fails, DB::Open says why
    std::filesystem::create_directories(dir, ec);
  }
  o->db.create_missing_column_families = true;
  // Damage found while opening fails the open; a failed write stops all
  // writes until the journal recovers (see Recover).
  o->db.paranoid_checks = true;
  // A torn last log record (a crash during a write that was never
  // acknowledged) is dropped; a damaged record anywhere before it fails the
  // open. RocksDB's default, kPointInTimeRecovery, would instead start
  // without everything after the damage.
  o->db.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  o->logger = std::make_shared<SpdlogLogger>(dir);
  o->db.info_log = o->logger;
  o->db.db_write_buffer_size = options.write_buffer_bytes;
  o->db.max_background_jobs = 2;
  // One thread writes (JournalWriter): said, so that RocksDB never inserts
  // concurrently, which would ignore the insert hints below.
  o->db.allow_concurrent_memtable_write = false;
  o->verify = options.verify_on_open;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;
  // Every submit looks up a message id and a case id that are usually not
  // there yet: without Bloom filters each miss reads an index block of
  // every level, and accept throughput falls as the journal grows.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  // Partitioned indexes and filters: only the partitions in use stay in
  // the (bounded) cache, whatever the journal's size.
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.write_buffer_size = options.write_buffer_bytes / 4;
  cf_options.max_write_buffer_number = 2;
  // The same misses in the memtables: a Bloom filter over whole keys
  // answers them without walking the skip list.
  cf_options.memtable_prefix_bloom_size_ratio = 0.02;
  cf_options.memtable_whole_key_filtering = true;
  for (const char* name : kFamilies) {
    o->families.emplace_back(name, cf_options);
    if (const size_t tail = SequenceTail(name); tail > 0) {
      o->families.back().options.memtable_insert_with_hint_prefix_extractor =
          std::make_shared<SequenceTailPrefix>(tail);
    }
  }

  std::unique_ptr<Journal> j(new Journal(dir, std::move(o)));
  RELAIS_RETURN_IF_ERROR(j->OpenDb());
  // It exists from now on; a reopen after a write failure must be quick.
  j->options_->db.create_if_missing = false;
  j->options_->verify = false;

  auto version = j->GetMeta(kMetaSchemaVersion);
  if (version.ok()) {
    if (version->size() != 8 ||
        GetBigEndian64(version->data()) != kSchemaVersion) {
      return Status::Corruption("journal in " + dir +
                                " has an unknown schema version");
    }
  } else if (version.status().code() == Status::Code::kNotFound) {
    auto batch = j->NewBatch();
    batch->PutMeta(kMetaSchemaVersion, BigEndian(kSchemaVersion));
    RELAIS_RETURN_IF_ERROR(j->Commit(batch.get()));
  } else {
    return version.status();
  }
  return j;
}

Status Journal::OpenDb() {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  options_->logger->TakeReport();
  rocksdb::Status s =
      rocksdb::DB::Open(options_->db, dir_, options_->families, &handles, &db);
  if (!s.ok()) return OpenFailed(dir_, s, options_->logger->TakeReport());
  db_.reset(db);
  handles_ = std::move(handles);
  families_->messages = handles_[1];
  families_->outbox = handles_[2];
  families_->dedup = handles_[3];
  families_->cases = handles_[4];
  families_->audit = handles_[5];
  families_->meta = handles_[6];
  families_->dead = handles_[7];
  families_->expiry = handles_[8];
  families_->subjects = handles_[9];
  families_->purge = handles_[10];
  if (options_->verify) {
    const auto start = std::chrono::steady_clock::now();
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    ro.readahead_size = 2 << 20;
    s = db_->VerifyChecksum(ro);
    if (!s.ok()) {
      CloseDb();
      return Damaged(dir_, "checksum check at open: " + s.ToString());
    }
    spdlog::info("journal {}: every table file's checksums verified in {} ms",
                 dir_,
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }
  return Status::OK();
}

void Journal::CloseDb() {
  if (!db_) return;
  for (auto* h : handles_)
    db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  handles_.clear();
  // Batches built while closed are never committed (Commit fails while
  // unhealthy); null handles keep them away from freed ones.
  *families_ = Batch::Families();
  // After a failed write, Close reports it again ("Seen error"): nothing to
  // add, the log holds everything that was synced.
  db_->Close().PermitUncheckedError();
  db_.reset();
}

Journal::~Journal() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  CloseDb();
}

Status Journal::Close() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::OK();
  Status st;
  if (healthy_.load()) {
    rocksdb::FlushOptions fo;
    st = FromRocks(db_->Flush(fo, handles_), "journal flush at close");
  }
  CloseDb();
  closed_ = true;
  healthy_.store(false);
  failure_ = Status::Unavailable("journal " + dir_ + " is closed");
  return st;
}

Result<uint64_t> Journal::Checkpoint(const std::string& dir) {
  // RocksDB's checkpoint runs beside reads; the lock only keeps the
  // database from being reopened meanwhile.
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Unavailable();
  rocksdb::Checkpoint* raw = nullptr;
  RELAIS_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  RELAIS_RETURN_IF_ERROR(
      FromRocks(checkpoint->CreateCheckpoint(dir, 0), "checkpoint " + dir));
  RELAIS_RETURN_IF_ERROR(SyncDir(dir));
  RELAIS_RETURN_IF_ERROR(
      SyncDir(std::filesystem::path(dir).parent_path().string()));
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code size_ec;
    const auto n = e.file_size(size_ec);
    if (!size_ec) bytes += n;
  }
  return bytes;
}

std::unique_ptr<Batch> Journal::NewBatch(size_t reserved_bytes) const {
  auto b = std::make_unique<Batch>(reserved_bytes);
  b->families_ = families_.get();
  return b;
}

Status Journal::Commit(Batch* batch, Durability durability) {
  if (!healthy_.load()) return Unavailable();
  rocksdb::Status s;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    rocksdb::WriteOptions wo;
    wo.sync = durability == Durability::kSynced;
    s = db_->Write(wo, batch->batch_.get());
  }
  if (!s.ok()) {
    MarkFailed(FromRocks(s, "write failed"));
    return failure_;
  }
  return Status::OK();
}

Status Journal::SyncLog() {
  if (sync_hook_) RELAIS_RETURN_IF_ERROR(sync_hook_());
  rocksdb::Status s;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (!db_) return Status::IOError("journal is not open");
    s = db_->SyncWAL();
  }
  return s.ok() ? Status::OK() : FromRocks(s, "log sync failed");
}

void Journal::SyncFailed(Status why) {
  reopen_needed_ = true;
  if (healthy_.load()) MarkFailed(std::move(why));
}

void Journal::MarkFailed(Status status) {
  failure_ = std::move(status);
  failed_at_ = std::chrono::steady_clock::now();
  backoff_ = kFirstRetry;
  next_attempt_ = failed_at_ + backoff_;
  last_attempt_error_.clear();
  healthy_.store(false);
  std::string space;
  if (failure_.code() == Status::Code::kNoSpace) {
    auto free = FreeBytes(dir_);
    space = " The disk is full (" +
            (free.ok() ? HumanBytes(*free) : std::string("nothing")) +
            " free): free space in that file system.";
  }
  spdlog::error(
      "journal {} cannot write: {}. New messages are refused (501 "
      "JournalUnavailable) until it recovers; relaisd retries every {} s at "
      "most, and goes on by itself.{}",
      dir_, failure_.ToString(), kMaxRetry.count() / 1000.0, space);
}

Status Journal::Unavailable() const {
  if (closed_) return failure_;
  const double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - failed_at_)
                             .count();
  char since[32];
  std::snprintf(since, sizeof(since), "%.1f", seconds);
  return Status::IOError("unavailable for " + std::string(since) +
                         " s after: " + failure_.message());
}

Status Journal::Recover() {
  if (healthy_.load()) return Status::OK();
  if (closed_) return failure_;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return Unavailable();
  backoff_ = std::min(backoff_ * 2, kMaxRetry);
  std::string how;
  Status st = TryRecover(&how);
  if (!st.ok()) {
    next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    if (st.message() != last_attempt_error_) {  // once per kind of failure
      spdlog::warn("journal {} still cannot write: {}", dir_, st.ToString());
      last_attempt_error_ = st.message();
    }
    return Unavailable();
  }
  healthy_.store(true);
  spdlog::info(
      "journal {} recovered ({}) after {:.1f} s unavailable; it had failed "
      "with: {}",
      dir_, how,
      std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                    failed_at_)
          .count(),
      failure_.ToString());
  return Status::OK();
}

Status Journal::TryRecover(std::string* how) {
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (db_ && !reopen_needed_) {
      RELAIS_ASSIGN_OR_RETURN(const bool resumed, storage::TryResume(*db_));
      if (resumed) {
        *how = "resumed";
        return Status::OK();
      }
      // A fatal error (e.g. a failed log write or sync): only a reopen
      // clears it.
    }
  }
  RELAIS_RETURN_IF_ERROR(ProbeWrite(dir_));
  std::unique_lock<std::shared_mutex> lock(mu_);
  CloseDb();
  RELAIS_RETURN_IF_ERROR(OpenDb());
  generation_.fetch_add(1);
  reopen_needed_ = false;
  *how = "closed and opened again";
  return Status::OK();
}

Result<std::string> Journal::Get(Family family, std::string_view key) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("journal is not open");
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), (*families_).*family, S(key), &value);
  if (!s.ok()) return FromRocks(s, "journal read");
  return value;
}

Result<std::string> Journal::GetMessage(std::string_view id) const {
  return Get(&Batch::Families::messages, id);
}

Result<bool> Journal::HasMessage(std::string_view id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("journal is not open");
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(ro, families_->messages, S(id), &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s, "journal read");
  return true;
}

Result<DedupEntry> Journal::GetDedup(std::string_view id) const {
  RELAIS_ASSIGN_OR_RETURN(std::string value, Get(&Batch::Families::dedup, id));
  DedupEntry e;
  if (!DecodeDedup(value, &e)) {
    return Status::Corruption("dedup entry is too short");
  }
  return e;
}

Result<std::string> Journal::GetCase(std::string_view case_id) const {
  return Get(&Batch::Families::cases, case_id);
}

Result<bool> Journal::HasSubject(std::string_view subject_ref,
                                 std::string_view participant) const {
  auto v = Get(&Batch::Families::subjects,
               std::string(subject_ref) + std::string(participant));
  if (v.ok()) return true;
  if (v.status().code() == Status::Code::kNotFound) return false;
  return v.status();
}

Result<std::vector<std::string>> Journal::SubjectHolders(
    std::string_view subject_ref) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("journal is not open");
  // Participant ids are ASCII, so every key of this reference sorts below
  // the reference followed by 0xFF.
  const std::string end = std::string(subject_ref) + '\xff';
  std::vector<std::string> holders;
  RELAIS_RETURN_IF_ERROR(storage::ForEach(
      *db_, families_->subjects, KeyRange{subject_ref, end},
      [&](std::string_view key, std::string_view) -> Result<Next> {
        if (key.size() > subject_ref.size()) {
          holders.emplace_back(key.substr(subject_ref.size()));
        }
        return Next::kContinue;
      },
      "subject read"));
  return holders;
}

Result<std::string> Journal::GetMeta(std::string_view name) const {
  return Get(&Batch::Families::meta, name);
}

Status Journal::ReadOutbox(std::string_view recipient, uint64_t from,
                           size_t max, std::vector<OutboxEntry>* out) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("journal is not open");
  const std::string start = OutboxKey(recipient, from);
  const std::string end = OutboxEnd(recipient);
  return storage::ForEach(
      *db_, families_->outbox, KeyRange{start, end, max},
      [&](std::string_view key, std::string_view value) -> Result<Next> {
        std::string_view r;
        uint64_t seq = 0;
        if (!ParseOutboxKey(key, &r, &seq)) {
          return Status::Corruption("malformed outbox key");
        }
        RELAIS_ASSIGN_OR_RETURN(OutboxEntry e,
                                DecodeOutboxValue(std::string(value)));
        e.sequence = seq;
        out->push_back(std::move(e));
        return Next::kContinue;
      },
      "outbox read");
}

Result<std::optional<OutboxEntry>> Journal::GetOutbox(
    std::string_view recipient, uint64_t sequence) const {
  auto value = Get(&Batch::Families::outbox, OutboxKey(recipient, sequence));
  if (value.status().code() == Status::Code::kNotFound) {
    return std::optional<OutboxEntry>();
  }
  if (!value.ok()) return value.status();
  RELAIS_ASSIGN_OR_RETURN(OutboxEntry e, DecodeOutboxValue(*value));
  e.sequence = sequence;
  return std::optional<OutboxEntry>(std::move(e));
}

Status Journal::ReadDue(TimeIndex index, int64_t now_ms, size_t max,
                        std::vector<DueEntry>* out) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("journal is not open");
  // Keys up to (now_ms, any sequence), i.e. below (now_ms + 1, 0).
  const std::string end = ExpiryKey(now_ms + 1, 0);
  const size_t room = max > out->size() ? max - out->size() : 0;
  return storage::ForEach(
      *db_, index == TimeIndex::kExpiry ? families_->expiry : families_->purge,
      KeyRange{{}, end, room},
      [&](std::string_view key, std::string_view value) -> Result<Next> {
        DueEntry e;
        if (!ParseExpiryKey(key, &e.due_ms, &e.sequence)) {
          return Status::Corruption("malformed time index key");
        }
        e.value = std::string(value);
        out->push_back(std::move(e));
        return Next::kContinue;
      },
      index == TimeIndex::kExpiry ? "expiry read" : "purge index read");
}

Result<std::string> Journal::GetDead(std::string_view recipient,
                                     uint64_t sequence) const {
  return Get(&Batch::Families::dead, OutboxKey(recipient, sequence));
}

Status Journal::ListDead(std::string_view recipient, uint64_t after, size_t max,
                         std::vector<DeadLetterRecord>* out) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("journal is not open");
  // Nothing follows the largest sequence (after + 1 would wrap to 0).
  if (!recipient.empty() && after == UINT64_MAX) return Status::OK();
  // Without a recipient: every dead letter, from the first.
  const std::string begin =
      recipient.empty() ? std::string() : OutboxKey(recipient, after + 1);
  const std::string end =
      recipient.empty() ? std::string() : OutboxEnd(recipient);
  const size_t room = max > out->size() ? max - out->size() : 0;
  return storage::ForEach(
      *db_, families_->dead, KeyRange{begin, end, room},
      [&](std::string_view key, std::string_view value) -> Result<Next> {
        std::string_view r;
        DeadLetterRecord d;
        if (!ParseOutboxKey(key, &r, &d.sequence)) {
          return Status::Corruption("malformed dead letter key");
        }
        d.recipient = std::string(r);
        d.value = std::string(value);
        out->push_back(std::move(d));
        return Next::kContinue;
      },
      "dead letter read");
}

Status Journal::ForEachCase(
    std::string_view after_case_id,
    const std::function<bool(std::string_view, std::string_view)>& visit)
    const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("journal is not open");
  // The first key after `after_case_id`: itself followed by a 0 byte.
  const std::string begin =
      after_case_id.empty() ? std::string()
                            : std::string(after_case_id) + std::string(1, '\0');
  return storage::ForEach(
      *db_, families_->cases, KeyRange{begin, {}},
      [&](std::string_view key, std::string_view value) -> Result<Next> {
        return visit(key, value) ? Next::kContinue : Next::kStop;
      },
      "case read");
}

Result<uint64_t> Journal::CountOutbox(std::string_view recipient) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("journal is not open");
  const std::string begin = OutboxBegin(recipient);
  const std::string end = OutboxEnd(recipient);
  uint64_t n = 0;
  RELAIS_RETURN_IF_ERROR(storage::ForEach(
      *db_, families_->outbox, KeyRange{begin, end},
      [&](std::string_view, std::string_view) -> Result<Next> {
        ++n;
        return Next::kContinue;
      },
      "outbox count"));
  return n;
}

Status Journal::ReadAudit(uint64_t from, uint64_t to,
                          std::vector<std::string>* out) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("journal is not open");
  // Keys are big-endian sequences: `to` + 1 bounds the scan (none if `to`
  // is the largest sequence).
  const std::string begin = BigEndian(from);
  const std::string end = to == UINT64_MAX ? std::string() : BigEndian(to + 1);
  return storage::ForEach(
      *db_, families_->audit, KeyRange{begin, end},
      [&](std::string_view key, std::string_view value) -> Result<Next> {
        if (key.size() != 8) return Next::kStop;
        out->push_back(std::string(value));
        return Next::kContinue;
      },
      "audit read");
}

}  // namespace relais::broker::journal
