#include "broker/journal/journal.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "core/bytes.h"

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
};

namespace {

const char* const kFamilies[] = {"default",    kMessagesFamily, kOutboxFamily,
                                 kDedupFamily, kCasesFamily,    kAuditFamily,
                                 kMetaFamily,  kDeadFamily,     kExpiryFamily};

// outbox value: message id, then 0x01 if replayed.
constexpr char kReplayedFlag = '\1';

rocksdb::Slice S(std::string_view s) { return {s.data(), s.size()}; }

std::string BigEndian(uint64_t v) {
  std::string out;
  PutBigEndian64(&out, v);
  return out;
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(what);
  if (s.IsCorruption()) {
    return Status::Corruption(what + ": " + s.ToString());
  }
  return Status::IOError(what + ": " + s.ToString());
}

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

Batch::Batch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
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
void Batch::PutExpiry(int64_t expires_at_ms, uint64_t seq,
                      std::string_view message_id) {
  batch_->Put(families_->expiry, ExpiryKey(expires_at_ms, seq), S(message_id))
      .PermitUncheckedError();
}
void Batch::DeleteExpiry(int64_t expires_at_ms, uint64_t seq) {
  batch_->Delete(families_->expiry, ExpiryKey(expires_at_ms, seq))
      .PermitUncheckedError();
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
void Batch::Clear() { batch_->Clear(); }

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir,
                                               const JournalOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.db_write_buffer_size = options.write_buffer_bytes;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;

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

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kFamilies) descriptors.emplace_back(name, cf_options);

  std::unique_ptr<Journal> j(new Journal());
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, descriptors, &j->handles_, &db);
  if (!s.ok()) {
    return FromRocks(s, "cannot open the journal in " + dir);
  }
  j->db_.reset(db);
  j->families_ = std::make_unique<Batch::Families>();
  j->families_->messages = j->handles_[1];
  j->families_->outbox = j->handles_[2];
  j->families_->dedup = j->handles_[3];
  j->families_->cases = j->handles_[4];
  j->families_->audit = j->handles_[5];
  j->families_->meta = j->handles_[6];
  j->families_->dead = j->handles_[7];
  j->families_->expiry = j->handles_[8];

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

Journal::~Journal() {
  if (db_) {
    for (auto* h : handles_)
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
}

std::unique_ptr<Batch> Journal::NewBatch() const {
  auto b = std::make_unique<Batch>();
  b->families_ = families_.get();
  return b;
}

Status Journal::Commit(Batch* batch) {
  if (needs_resume_) {
    rocksdb::Status r = db_->Resume();
    if (!r.ok()) return FromRocks(r, "journal cannot resume");
    needs_resume_ = false;
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, batch->batch_.get());
  if (!s.ok()) {
    needs_resume_ = true;
    return FromRocks(s, "journal write failed");
  }
  return Status::OK();
}

Result<std::string> Journal::Get(rocksdb::ColumnFamilyHandle* family,
                                 std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family, S(key), &value);
  if (!s.ok()) return FromRocks(s, "journal read");
  return value;
}

Result<std::string> Journal::GetMessage(std::string_view id) const {
  return Get(families_->messages, id);
}

Result<DedupEntry> Journal::GetDedup(std::string_view id) const {
  RELAIS_ASSIGN_OR_RETURN(std::string value, Get(families_->dedup, id));
  DedupEntry e;
  if (!DecodeDedup(value, &e)) {
    return Status::Corruption("dedup entry is too short");
  }
  return e;
}

Result<std::string> Journal::GetCase(std::string_view case_id) const {
  return Get(families_->cases, case_id);
}

Result<std::string> Journal::GetMeta(std::string_view name) const {
  return Get(families_->meta, name);
}

Status Journal::ReadOutbox(std::string_view recipient, uint64_t from,
                           size_t max, std::vector<OutboxEntry>* out) const {
  const std::string start = OutboxKey(recipient, from);
  const std::string end = OutboxEnd(recipient);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ro, families_->outbox));
  size_t n = 0;
  for (it->Seek(start); it->Valid() && n < max; it->Next(), ++n) {
    std::string_view r;
    uint64_t seq = 0;
    if (!ParseOutboxKey(std::string_view(it->key().data(), it->key().size()),
                        &r, &seq)) {
      return Status::Corruption("malformed outbox key");
    }
    RELAIS_ASSIGN_OR_RETURN(OutboxEntry e,
                            DecodeOutboxValue(it->value().ToString()));
    e.sequence = seq;
    out->push_back(std::move(e));
  }
  return FromRocks(it->status(), "outbox read");
}

Result<std::optional<OutboxEntry>> Journal::GetOutbox(
    std::string_view recipient, uint64_t sequence) const {
  auto value = Get(families_->outbox, OutboxKey(recipient, sequence));
  if (value.status().code() == Status::Code::kNotFound) {
    return std::optional<OutboxEntry>();
  }
  if (!value.ok()) return value.status();
  RELAIS_ASSIGN_OR_RETURN(OutboxEntry e, DecodeOutboxValue(*value));
  e.sequence = sequence;
  return std::optional<OutboxEntry>(std::move(e));
}

Status Journal::ReadExpired(int64_t now_ms, size_t max,
                            std::vector<ExpiryEntry>* out) const {
  // Keys up to (now_ms, any sequence), i.e. below (now_ms + 1, 0).
  const std::string end = ExpiryKey(now_ms + 1, 0);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ro, families_->expiry));
  for (it->SeekToFirst(); it->Valid() && out->size() < max; it->Next()) {
    ExpiryEntry e;
    if (!ParseExpiryKey(std::string_view(it->key().data(), it->key().size()),
                        &e.expires_at_ms, &e.sequence)) {
      return Status::Corruption("malformed expiry key");
    }
    e.message_id = it->value().ToString();
    out->push_back(std::move(e));
  }
  return FromRocks(it->status(), "expiry read");
}

Result<std::string> Journal::GetDead(std::string_view recipient,
                                     uint64_t sequence) const {
  return Get(families_->dead, OutboxKey(recipient, sequence));
}

Status Journal::ListDead(std::string_view recipient, uint64_t after, size_t max,
                         std::vector<DeadLetterRecord>* out) const {
  rocksdb::ReadOptions ro;
  std::string end;
  rocksdb::Slice upper;
  if (!recipient.empty()) {
    end = OutboxEnd(recipient);
    upper = rocksdb::Slice(end);
    ro.iterate_upper_bound = &upper;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, families_->dead));
  if (recipient.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(OutboxKey(recipient, after + 1));
  }
  for (; it->Valid() && out->size() < max; it->Next()) {
    std::string_view r;
    DeadLetterRecord d;
    if (!ParseOutboxKey(std::string_view(it->key().data(), it->key().size()),
                        &r, &d.sequence)) {
      return Status::Corruption("malformed dead letter key");
    }
    d.recipient = std::string(r);
    d.value = it->value().ToString();
    out->push_back(std::move(d));
  }
  return FromRocks(it->status(), "dead letter read");
}

Result<uint64_t> Journal::CountOutbox(std::string_view recipient) const {
  const std::string end = OutboxEnd(recipient);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ro, families_->outbox));
  uint64_t n = 0;
  for (it->Seek(OutboxBegin(recipient)); it->Valid(); it->Next()) ++n;
  RELAIS_RETURN_IF_ERROR(FromRocks(it->status(), "outbox count"));
  return n;
}

Status Journal::ReadAudit(uint64_t from, uint64_t to,
                          std::vector<std::string>* out) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), families_->audit));
  for (it->Seek(BigEndian(from)); it->Valid(); it->Next()) {
    if (it->key().size() != 8 || GetBigEndian64(it->key().data()) > to) break;
    out->push_back(it->value().ToString());
  }
  return FromRocks(it->status(), "audit read");
}

}  // namespace relais::broker::journal
