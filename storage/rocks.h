#pragma once

// What every RocksDB database of relais needs around RocksDB (the broker's
// journal, the SDK's local store): its statuses as relais Statuses, one
// bounded scan of a column family, and the first step of recovering from a
// failed write.
//
// Thread-safety: the functions keep no state; ForEach reads `db` as
// RocksDB allows from any thread.

#include <rocksdb/db.h>
#include <rocksdb/status.h>

#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "core/status.h"

namespace relais::storage {

inline rocksdb::Slice ToSlice(std::string_view s) {
  return {s.data(), s.size()};
}
inline std::string_view ToView(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

// `s` as a Status about `what`: OK, NotFound(what), Corruption, NoSpace
// (a full disk), or IOError for anything else, each with RocksDB's text.
Status FromRocks(const rocksdb::Status& s, const std::string& what);

// The keys a scan visits: from `begin` (empty: the family's first key) up
// to, not including, `end` (empty: no bound; RocksDB then reads on to the
// family's end, so give one where the family holds more than the scan
// wants), at most `max` of them.
struct KeyRange {
  std::string_view begin;
  std::string_view end;
  size_t max = std::numeric_limits<size_t>::max();
};

// What a visitor wants after an entry.
enum class Next { kContinue, kStop };
using Visitor =
    std::function<Result<Next>(std::string_view key, std::string_view value)>;

// Calls `visit` on each entry of `family` in `range`, in key order, until
// it says kStop or fails (its error is returned as it is). The upper
// bound is given to RocksDB (iterate_upper_bound), so the scan does not
// walk over the tombstones beyond it. A read error is FromRocks(`what`).
Status ForEach(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
               const KeyRange& range, const Visitor& visit,
               const std::string& what);

// After a failed write: asks RocksDB to resume. OK(true) if it did;
// OK(false) if its error is fatal (a failed log write or sync), which only
// closing and opening the database again clears; an error if it cannot
// resume now (busy recovering by itself, e.g. after a full disk, or a
// resume that failed).
Result<bool> TryResume(rocksdb::DB& db);

}  // namespace relais::storage
