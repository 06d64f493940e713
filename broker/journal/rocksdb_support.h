#pragma once

// What the journal puts around RocksDB: its log sent into relaisd's, the
// verdicts on a journal folder that must not be opened, and a probe of
// whether the folder takes writes. For journal.cc.
//
// Thread-safety: SpdlogLogger may be called from any thread (RocksDB logs
// from its own); the functions keep no state.

#include <rocksdb/status.h>

#include <cstdint>
#include <string>

#include "core/status.h"
#include "storage/rocksdb_log.h"

namespace relais::broker::journal {

// Corruption naming the journal folder `dir` and `what` is wrong with it,
// and saying that relaisd does not start on it.
Status Damaged(const std::string& dir, const std::string& what);

// Why DB::Open failed on `dir`: Damaged for corrupt or missing files, else
// IOError. `reported` is what RocksDB logged about a file of `dir`
// meanwhile (SpdlogLogger::TakeReport), added when `s` names no file, as
// for a damaged log record.
Status OpenFailed(const std::string& dir, const rocksdb::Status& s,
                  const std::string& reported);

// True if `dir` holds no journal yet (absent, empty, or only what an
// interrupted first start left). Damaged if it holds log (NNNNNN.log) or
// table (.sst) files but no CURRENT file: RocksDB would create an empty
// journal over them (create_if_missing) and later delete the tables.
Result<bool> IsNewJournal(const std::string& dir);

// About how many bytes opening the journal in `dir` writes: its log files
// (replayed into new table files at open) and 4 MiB for the rest.
uint64_t SpaceToOpen(const std::string& dir);

using storage::SpdlogLogger;

}  // namespace relais::broker::journal
