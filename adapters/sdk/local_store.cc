#include "adapters/sdk/local_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>

#include "core/bytes.h"
#include "core/files.h"
#include "storage/rocks.h"
#include "storage/rocksdb_log.h"

namespace relais::sdk {
namespace {

// Column families, in handle order.
constexpr const char* kFamilies[] = {
    "default",            // message id -> outcome, at_ms
    "processed_by_time",  // at_ms (BE) + message id -> ""
    "effects",            // handler key -> value
    "outbox",             // key (BE) -> envelope bytes
    "hand_offs",          // key (BE) -> message id (16 bytes) + record
};
enum Family {
  kProcessed = 0,
  kByTime = 1,
  kEffects = 2,
  kOutbox = 3,
  kHandOffs = 4
};

// The key after the last one in `family` (1 if it is empty).
Result<uint64_t> NextKey(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family) {
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), family));
  it->SeekToLast();
  uint64_t next = 1;
  if (it->Valid() && it->key().size() == 8) {
    next = GetBigEndian64(it->key().data()) + 1;
  }
  if (!it->status().ok()) {
    return Status::IOError("local store: reading " + family->GetName() + ": " +
                           it->status().ToString());
  }
  return next;
}

using storage::KeyRange;
using storage::Next;

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  return storage::FromRocks(s, "local store: " + what);
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

LocalStore::LocalStore(std::string dir, Options options)
    : dir_(std::move(dir)), options_(options) {}

LocalStore::~LocalStore() { CloseDb(); }

void LocalStore::CloseDb() {
  if (!db_) return;
  for (auto* h : cf_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  cf_.clear();
  db_->Close().PermitUncheckedError();
  db_.reset();
}

Status LocalStore::OpenDb() {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  // A torn last record after a crash is normal; damage before it is not.
  db_options.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // Into the process's log, not a LOG file (see storage/rocksdb_log.h: the
  // file logger would abort the process after a failed write).
  db_options.info_log = std::make_shared<storage::SpdlogLogger>(dir_);
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = 4 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kFamilies) descriptors.emplace_back(name, cf_options);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir_, descriptors, &cf_, &db);
  if (!s.ok()) return FromRocks(s, "cannot open " + dir_);
  db_.reset(db);
  return Status::OK();
}

Result<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& dir,
                                                     Options options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  std::unique_ptr<LocalStore> store(new LocalStore(dir, options));
  RELAIS_RETURN_IF_ERROR(store->OpenDb());
  // Outbox and hand-off keys continue after the last one kept.
  RELAIS_ASSIGN_OR_RETURN(uint64_t outbox,
                          NextKey(store->db_.get(), store->cf_[kOutbox]));
  RELAIS_ASSIGN_OR_RETURN(uint64_t hand_offs,
                          NextKey(store->db_.get(), store->cf_[kHandOffs]));
  store->next_outbox_key_ = outbox;
  store->next_hand_off_key_ = hand_offs;
  return store;
}

Status LocalStore::Write(rocksdb::WriteBatch* batch, bool sync,
                         const char* what) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->Write(wo, batch);
  if (s.ok()) return Status::OK();
  if (!failed_.exchange(true)) {
    spdlog::error("local store {} cannot write: {}", dir_, s.ToString());
  }
  return FromRocks(s, what);
}

Status LocalStore::Recover() {
  std::lock_guard<std::mutex> one_at_a_time(recover_mu_);
  if (!failed_.load()) return Status::OK();
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto resumed = storage::TryResume(*db_);
    if (resumed.ok() && *resumed) {
      failed_ = false;
      spdlog::info("local store {} writable again (resumed)", dir_);
      return Status::OK();
    }
  }
  // A failed log write or sync is fatal to RocksDB: only a reopen clears
  // it, and only once the disk takes writes (else stay open for reads).
  const auto now = std::chrono::steady_clock::now();
  if (now < next_reopen_) {
    return Status::IOError("local store " + dir_ + " cannot write yet");
  }
  next_reopen_ = now + std::chrono::seconds(1);
  RELAIS_RETURN_IF_ERROR(ProbeWrite(dir_));
  std::unique_lock<std::shared_mutex> lock(mu_);
  CloseDb();
  Status st = OpenDb();
  if (!st.ok()) {
    spdlog::error("local store {}: {}", dir_, st.ToString());
    return st;  // db_ stays closed: reads fail until a reopen succeeds
  }
  failed_ = false;
  spdlog::info("local store {} writable again (reopened)", dir_);
  return Status::OK();
}

Result<bool> LocalStore::Contains(std::string_view id, Outcome* outcome) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
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
                          const Effects& effects, int64_t at_ms,
                          std::vector<uint64_t>* hand_off_keys) {
  if (entries.empty() && effects.empty()) return Status::OK();
  for (const auto& e : entries) {
    if (!e.hand_off.empty() && e.message_id.size() > 255) {
      return Status::InvalidArgument(
          "a hand-off's message id is longer than 255 bytes");
    }
  }
  if (failed_.load()) RELAIS_RETURN_IF_ERROR(Recover());
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
  rocksdb::WriteBatch batch;
  const std::string at = BigEndianKey(static_cast<uint64_t>(at_ms));
  for (const auto& e : entries) {
    std::string value(1, static_cast<char>(e.outcome));
    value += at;
    batch.Put(cf_[kProcessed], e.message_id, value).PermitUncheckedError();
    batch.Put(cf_[kByTime], at + e.message_id, "").PermitUncheckedError();
    if (!e.hand_off.empty()) {
      const uint64_t key = next_hand_off_key_.fetch_add(1);
      // The id's length (one byte), the id, the record.
      std::string record(1, static_cast<char>(e.message_id.size()));
      record += e.message_id;
      record += e.hand_off;
      batch.Put(cf_[kHandOffs], BigEndianKey(key), record)
          .PermitUncheckedError();
      if (hand_off_keys != nullptr) hand_off_keys->push_back(key);
    }
  }
  for (const auto& [key, value] : effects.writes_) {
    if (value) {
      batch.Put(cf_[kEffects], key, *value).PermitUncheckedError();
    } else {
      batch.Delete(cf_[kEffects], key).PermitUncheckedError();
    }
  }
  Status st = Write(&batch, /*sync=*/true, "recording processed ids");
  if (!st.ok() && hand_off_keys != nullptr) hand_off_keys->clear();
  return st;
}

Result<uint64_t> LocalStore::Prune(int64_t now_ms, uint64_t limit) {
  const int64_t horizon =
      now_ms -
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.retention)
          .count();
  if (horizon <= 0) return uint64_t{0};
  if (failed_.load()) RELAIS_RETURN_IF_ERROR(Recover());
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
  const std::string upper = BigEndianKey(static_cast<uint64_t>(horizon));
  rocksdb::WriteBatch batch;
  uint64_t n = 0;
  RELAIS_RETURN_IF_ERROR(storage::ForEach(
      *db_, cf_[kByTime], KeyRange{{}, upper, limit},
      [&](std::string_view key, std::string_view) -> Result<Next> {
        ++n;
        if (key.size() < 8) return Next::kContinue;
        const std::string_view id = key.substr(8);
        // A later record of the same id (recorded again) keeps it.
        std::string value;
        rocksdb::Status g = db_->Get(rocksdb::ReadOptions(), cf_[kProcessed],
                                     storage::ToSlice(id), &value);
        if (g.ok() && value.size() == 9 &&
            std::string_view(value).substr(1) == key.substr(0, 8)) {
          batch.Delete(cf_[kProcessed], storage::ToSlice(id))
              .PermitUncheckedError();
        }
        batch.Delete(cf_[kByTime], storage::ToSlice(key))
            .PermitUncheckedError();
        return Next::kContinue;
      },
      "local store: pruning"));
  if (n == 0) return n;
  RELAIS_RETURN_IF_ERROR(Write(&batch, /*sync=*/false, "pruning"));
  return n;
}

Result<std::optional<std::string>> LocalStore::GetEffect(
    const std::string& key) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
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
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
  // From the prefix on; the first key without it ends the scan.
  return storage::ForEach(
      *db_, cf_[kEffects], KeyRange{prefix, {}},
      [&](std::string_view key, std::string_view value) -> Result<Next> {
        if (!key.starts_with(prefix) || !fn(key, value)) return Next::kStop;
        return Next::kContinue;
      },
      "local store: reading effects");
}

Result<std::vector<uint64_t>> LocalStore::Keep(
    const std::vector<std::string_view>& envelopes,
    const std::vector<uint64_t>& answered) {
  std::vector<uint64_t> keys;
  std::vector<ToKeep> to_keep;
  const uint64_t first = ReserveOutboxKeys(envelopes.size());
  for (size_t i = 0; i < envelopes.size(); ++i) {
    keys.push_back(first + i);
    to_keep.push_back({first + i, envelopes[i]});
  }
  RELAIS_RETURN_IF_ERROR(KeepUnder(to_keep, answered));
  return keys;
}

uint64_t LocalStore::ReserveOutboxKeys(size_t n) {
  return next_outbox_key_.fetch_add(n);
}

Status LocalStore::KeepUnder(const std::vector<ToKeep>& envelopes,
                             const std::vector<uint64_t>& answered) {
  if (envelopes.empty()) return Forget(answered);
  if (failed_.load()) RELAIS_RETURN_IF_ERROR(Recover());
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
  rocksdb::WriteBatch batch;
  for (const auto& e : envelopes) {
    batch
        .Put(cf_[kOutbox], BigEndianKey(e.key),
             rocksdb::Slice(e.envelope.data(), e.envelope.size()))
        .PermitUncheckedError();
  }
  for (uint64_t key : answered) {
    batch.Delete(cf_[kOutbox], BigEndianKey(key)).PermitUncheckedError();
  }
  return Write(&batch, /*sync=*/true, "keeping submits");
}

Status LocalStore::Forget(const std::vector<uint64_t>& keys) {
  if (keys.empty()) return Status::OK();
  if (failed_.load()) RELAIS_RETURN_IF_ERROR(Recover());
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
  rocksdb::WriteBatch batch;
  for (uint64_t key : keys) {
    batch.Delete(cf_[kOutbox], BigEndianKey(key)).PermitUncheckedError();
  }
  return Write(&batch, /*sync=*/false, "forgetting answered submits");
}

Result<std::vector<LocalStore::HandOff>> LocalStore::HandOffs() const {
  std::vector<HandOff> out;
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
  RELAIS_RETURN_IF_ERROR(storage::ForEach(
      *db_, cf_[kHandOffs], KeyRange{},
      [&](std::string_view key, std::string_view value) -> Result<Next> {
        const size_t id_size =
            value.empty() ? 0 : static_cast<unsigned char>(value[0]);
        if (key.size() != 8 || value.size() < 1 + id_size) {
          return Status::Corruption("local store " + dir_ +
                                    ": a hand-off record is malformed");
        }
        out.push_back({GetBigEndian64(key.data()),
                       std::string(value.substr(1, id_size)),
                       std::string(value.substr(1 + id_size))});
        return Next::kContinue;
      },
      "local store: reading the hand-offs"));
  return out;
}

Status LocalStore::ForgetHandOffs(const std::vector<uint64_t>& keys) {
  if (keys.empty()) return Status::OK();
  if (failed_.load()) RELAIS_RETURN_IF_ERROR(Recover());
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
  rocksdb::WriteBatch batch;
  for (uint64_t key : keys) {
    batch.Delete(cf_[kHandOffs], BigEndianKey(key)).PermitUncheckedError();
  }
  return Write(&batch, /*sync=*/false, "forgetting completed hand-offs");
}

Result<std::vector<LocalStore::Kept>> LocalStore::Outbox() const {
  std::vector<Kept> out;
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!db_) return Status::IOError("local store " + dir_ + " is not open");
  RELAIS_RETURN_IF_ERROR(storage::ForEach(
      *db_, cf_[kOutbox], KeyRange{},
      [&](std::string_view key, std::string_view value) -> Result<Next> {
        if (key.size() == 8) {
          out.push_back({GetBigEndian64(key.data()), std::string(value)});
        }
        return Next::kContinue;
      },
      "local store: reading the outbox"));
  return out;
}

}  // namespace relais::sdk
