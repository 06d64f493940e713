#include "broker/journal/journal.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
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
};

namespace {

const char* const kFamilies[] = {"default",    kMessagesFamily, kOutboxFamily,
                                 kDedupFamily, kCasesFamily,    kAuditFamily,
                                 kMetaFamily};

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

}  // namespace

Batch::Batch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
Batch::~Batch() = default;

void Batch::PutMessage(std::string_view id, std::string_view envelope) {
  batch_->Put(families_->messages, S(id), S(envelope)).PermitUncheckedError();
}
void Batch::PutOutbox(std::string_view recipient, uint64_t seq,
                      std::string_view message_id) {
  batch_->Put(families_->outbox, OutboxKey(recipient, seq), S(message_id))
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
    out->push_back(OutboxEntry{seq, it->value().ToString()});
  }
  return FromRocks(it->status(), "outbox read");
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
