#pragma once

// RocksDB's log sent into the process's spdlog log, for every RocksDB the
// project opens (the broker's journal, the SDK's local store).
//
// Thread-safety: SpdlogLogger may be called from any thread (RocksDB logs
// from its own).

#include <rocksdb/env.h>

#include <cstdarg>
#include <mutex>
#include <string>

namespace relais::storage {

// RocksDB's log, into spdlog's default logger: warnings and errors at
// their level, everything else at trace. It replaces RocksDB's
// LOG file, because Debian's librocksdb is built with assertions and its
// file logger aborts the process when it writes again after a failed write
// (a full disk): that must not take the process down.
class SpdlogLogger : public rocksdb::Logger {
 public:
  // `dir`: the database folder, whose files TakeReport() is about. Messages
  // below warning are not even formatted unless spdlog logs trace.
  explicit SpdlogLogger(std::string dir);

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override;

  // The last warning or error about a file of the database folder logged
  // since the previous call, without its source location; empty if none.
  std::string TakeReport();

 private:
  const std::string dir_;
  std::mutex mu_;
  std::string last_report_;  // guarded by mu_
};

}  // namespace relais::storage
