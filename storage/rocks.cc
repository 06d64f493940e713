#include "storage/rocks.h"

#include <memory>

namespace relais::storage {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(what);
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsNoSpace()) return Status::NoSpace(what + ": " + s.ToString());
  return Status::IOError(what + ": " + s.ToString());
}

Status ForEach(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
               const KeyRange& range, const Visitor& visit,
               const std::string& what) {
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper = ToSlice(range.end);
  if (!range.end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro, family));
  if (range.begin.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(ToSlice(range.begin));
  }
  for (size_t n = 0; n < range.max && it->Valid(); ++n, it->Next()) {
    RELAIS_ASSIGN_OR_RETURN(Next next,
                            visit(ToView(it->key()), ToView(it->value())));
    if (next == Next::kStop) break;
  }
  return FromRocks(it->status(), what);
}

Result<bool> TryResume(rocksdb::DB& db) {
  rocksdb::Status r = db.Resume();
  if (r.ok()) return true;
  if (r.IsBusy()) {
    return Status::IOError(
        "RocksDB is recovering by itself (after a full disk it waits for "
        "free space)");
  }
  if (r.severity() >= rocksdb::Status::Severity::kFatalError) return false;
  return FromRocks(r, "resume failed");
}

}  // namespace relais::storage
