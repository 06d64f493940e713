#include "storage/rocksdb_log.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <string_view>
#include <utility>

namespace relais::storage {
namespace {

spdlog::level::level_enum LevelOf(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return spdlog::level::warn;
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
      return spdlog::level::err;
    case rocksdb::InfoLogLevel::FATAL_LEVEL:
      return spdlog::level::critical;
    default:
      return spdlog::level::trace;
  }
}

}  // namespace

SpdlogLogger::SpdlogLogger(std::string dir)
    : rocksdb::Logger(spdlog::should_log(spdlog::level::trace)
                          ? rocksdb::InfoLogLevel::DEBUG_LEVEL
                          : rocksdb::InfoLogLevel::WARN_LEVEL),
      dir_(std::move(dir)) {}

void SpdlogLogger::Logv(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void SpdlogLogger::Logv(const rocksdb::InfoLogLevel level, const char* format,
                        va_list ap) {
  if (level < GetInfoLogLevel()) return;
  char text[2048];
  std::vsnprintf(text, sizeof(text), format, ap);
  std::string_view line(text);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  spdlog::level::level_enum to = LevelOf(level);
  // Logged once by DB::VerifyChecksum, which opens the tables without their
  // ids: nothing wrong with the journal.
  if (line.find("SST file opened without unique ID") != line.npos) {
    to = spdlog::level::debug;
  }
  // A full disk is reported by whoever waits for space, once, with the
  // folder and the space free: not again at each of RocksDB's attempts.
  if (line.find("No space left on device") != line.npos &&
      to < spdlog::level::critical) {
    to = spdlog::level::debug;
  }
  spdlog::log(to, "rocksdb: {}", line);
  if (to >= spdlog::level::warn && line.find(dir_) != line.npos) {
    const size_t source = line.find("] ");  // "[db/x.cc:12] "
    if (line.front() == '[' && source != line.npos) {
      line.remove_prefix(source + 2);
    }
    std::lock_guard<std::mutex> lock(mu_);
    last_report_ = line;
  }
}

std::string SpdlogLogger::TakeReport() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(last_report_, std::string());
}

}  // namespace relais::storage
