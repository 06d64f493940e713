#include "adapters/sdk/processed_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

#include "core/bytes.h"

namespace relais::sdk {

ProcessedStore::ProcessedStore(std::unique_ptr<rocksdb::DB> db)
    : db_(std::move(db)) {}

ProcessedStore::~ProcessedStore() {
  if (db_) db_->Close().PermitUncheckedError();
}

Result<std::unique_ptr<ProcessedStore>> ProcessedStore::Open(
    const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.write_buffer_size = 4 << 20;
  options.keep_log_file_num = 2;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) {
    return Status::IOError("cannot open processed-id store " + dir + ": " +
                           s.ToString());
  }
  return std::unique_ptr<ProcessedStore>(
      new ProcessedStore(std::unique_ptr<rocksdb::DB>(db)));
}

Result<bool> ProcessedStore::Contains(std::string_view id,
                                      Outcome* outcome) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(),
                               rocksdb::Slice(id.data(), id.size()), &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return Status::IOError("processed-id store: " + s.ToString());
  if (outcome != nullptr && !value.empty()) {
    *outcome = static_cast<Outcome>(value[0]);
  }
  return true;
}

Status ProcessedStore::RecordAll(const std::vector<Entry>& entries,
                                 int64_t at_ms) {
  if (entries.empty()) return Status::OK();
  rocksdb::WriteBatch batch;
  for (const auto& e : entries) {
    std::string value(1, static_cast<char>(e.outcome));
    PutBigEndian64(&value, static_cast<uint64_t>(at_ms));
    batch.Put(e.message_id, value).PermitUncheckedError();
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return Status::IOError("processed-id store: " + s.ToString());
  return Status::OK();
}

}  // namespace relais::sdk
