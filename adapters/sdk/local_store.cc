#include "adapters/sdk/local_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

#include "core/bytes.h"
#include "core/rocksdb_log.h"

namespace relais::sdk {
namespace {

// Column families, in handle order.
constexpr const char* kFamilies[] = {
    "default",            // message id -> outcome, at_ms
    "processed_by_time",  // at_ms (BE) + message id -> ""
    "effects",            // handler key -> value
    "outbox",             // key (BE) -> envelope bytes
};
enum Family { kProcessed = 0, kByTime = 1, kEffects = 2, kOutbox = 3 };

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  return Status::IOError("local store: " + what + ": " + s.ToString());
}

std::string BigEndianKey(uint64_t v) {
  std::string key;
  PutBigEndian64(&key, v);
  return key;
}

}  // namespace

Result<std::optional<std::string>> Effects::Get(const std::string& key) const {
  for (const Effects* e = this; e != nullptr; e = e->base_) {
    auto it = e->writes_.find(key);
    if (it != e->writes_.end()) return it->second;
  }
  return store_->GetEffect(key);
}

void Effects::Absorb(Effects&& stage) {
  for (auto& [key, value] : stage.writes_) writes_[key] = std::move(value);
  stage.writes_.clear();
}

LocalStore::LocalStore(std::unique_ptr<rocksdb::DB> db,
                       std::vector<rocksdb::ColumnFamilyHandle*> handles,
                       Options options)
    : db_(std::move(db)), cf_(std::move(handles)), options_(options) {}

LocalStore::~LocalStore() {
  if (!db_) return;
  for (auto* h : cf_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

Result<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& dir,
                                                     Options options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  // Into the process's log, not a LOG file (see core/rocksdb_log.h: the
  // file logger would abort the process after a failed write).
  db_options.info_log = std::make_shared<SpdlogLogger>(dir);
  // A torn last record after a crash is normal; damage before it is not.
  db_options.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = 4 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kFamilies) descriptors.emplace_back(name, cf_options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, descriptors, &handles, &db);
  if (!s.ok()) return FromRocks(s, "cannot open " + dir);
  std::unique_ptr<LocalStore> store(new LocalStore(
      std::unique_ptr<rocksdb::DB>(db), std::move(handles), options));
  // Outbox keys continue after the last one kept.
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), store->cf_[kOutbox]));
  it->SeekToLast();
  if (it->Valid() && it->key().size() == 8) {
    store->next_outbox_key_ = GetBigEndian64(it->key().data()) + 1;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the outbox");
  return store;
}

Result<bool> LocalStore::Contains(std::string_view id, Outcome* outcome) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_[kProcessed],
                               rocksdb::Slice(id.data(), id.size()), &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s, "reading a processed id");
  if (outcome != nullptr && !value.empty()) {
    *outcome = static_cast<Outcome>(value[0]);
  }
  return true;
}

Status LocalStore::Commit(const std::vector<Entry>& entries,
                          const Effects& effects, int64_t at_ms) {
  if (entries.empty() && effects.empty()) return Status::OK();
  rocksdb::WriteBatch batch;
  const std::string at = BigEndianKey(static_cast<uint64_t>(at_ms));
  for (const auto& e : entries) {
    std::string value(1, static_cast<char>(e.outcome));
    value += at;
    batch.Put(cf_[kProcessed], e.message_id, value).PermitUncheckedError();
    batch.Put(cf_[kByTime], at + e.message_id, "").PermitUncheckedError();
  }
  for (const auto& [key, value] : effects.writes_) {
    if (value) {
      batch.Put(cf_[kEffects], key, *value).PermitUncheckedError();
    } else {
      batch.Delete(cf_[kEffects], key).PermitUncheckedError();
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "recording processed ids");
  return Status::OK();
}

Result<uint64_t> LocalStore::Prune(int64_t now_ms, uint64_t limit) {
  const int64_t horizon =
      now_ms -
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.retention)
          .count();
  if (horizon <= 0) return uint64_t{0};
  const std::string upper = BigEndianKey(static_cast<uint64_t>(horizon));
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_[kByTime]));
  rocksdb::WriteBatch batch;
  uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid() && n < limit; it->Next(), ++n) {
    const rocksdb::Slice key = it->key();
    if (key.size() < 8) continue;
    const rocksdb::Slice id(key.data() + 8, key.size() - 8);
    // A later record of the same id (recorded again) keeps it.
    std::string value;
    rocksdb::Status g =
        db_->Get(rocksdb::ReadOptions(), cf_[kProcessed], id, &value);
    if (g.ok() && value.size() == 9 &&
        std::string_view(value).substr(1) == key.ToStringView().substr(0, 8)) {
      batch.Delete(cf_[kProcessed], id).PermitUncheckedError();
    }
    batch.Delete(cf_[kByTime], key).PermitUncheckedError();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "pruning");
  if (n == 0) return n;
  rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, "pruning");
  return n;
}

Result<std::optional<std::string>> LocalStore::GetEffect(
    const std::string& key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_[kEffects], key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading an effect");
  return std::optional<std::string>(std::move(value));
}

Status LocalStore::ForEachEffect(
    std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_[kEffects]));
  const rocksdb::Slice p(prefix.data(), prefix.size());
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading effects");
  return Status::OK();
}

Result<std::vector<uint64_t>> LocalStore::Keep(
    const std::vector<std::string_view>& envelopes) {
  std::vector<uint64_t> keys;
  if (envelopes.empty()) return keys;
  const uint64_t first = next_outbox_key_.fetch_add(envelopes.size());
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < envelopes.size(); ++i) {
    keys.push_back(first + i);
    batch
        .Put(cf_[kOutbox], BigEndianKey(first + i),
             rocksdb::Slice(envelopes[i].data(), envelopes[i].size()))
        .PermitUncheckedError();
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "keeping submits");
  return keys;
}

Status LocalStore::Forget(uint64_t key) {
  rocksdb::Status s =
      db_->Delete(rocksdb::WriteOptions(), cf_[kOutbox], BigEndianKey(key));
  if (!s.ok()) return FromRocks(s, "forgetting an answered submit");
  return Status::OK();
}

Result<std::vector<LocalStore::Kept>> LocalStore::Outbox() const {
  std::vector<Kept> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf_[kOutbox]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8) continue;
    out.push_back({GetBigEndian64(it->key().data()), it->value().ToString()});
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the outbox");
  return out;
}

}  // namespace relais::sdk
