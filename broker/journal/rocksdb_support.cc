#include "broker/journal/rocksdb_support.h"

#include <fcntl.h>
#include <rocksdb/status.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

namespace relais::broker::journal {

Status Damaged(const std::string& dir, const std::string& what) {
  return Status::Corruption(
      "journal " + dir + " is damaged (" + what +
      "); relaisd does not start on a damaged journal, and neither repairs "
      "it nor starts an empty one: see \"When the journal cannot write or "
      "is damaged\" in docs/OPERATIONS.md");
}

Status OpenFailed(const std::string& dir, const rocksdb::Status& s,
                  const std::string& reported) {
  std::string what = "RocksDB: " + s.ToString();
  if (what.find(dir) == std::string::npos && !reported.empty()) {
    what += "; it reported: " + reported;
  }
  if (s.IsCorruption() || s.IsPathNotFound()) return Damaged(dir, what);
  if (s.IsNoSpace()) {
    return Status::NoSpace("cannot open the journal in " + dir + ": " + what);
  }
  return Status::IOError("cannot open the journal in " + dir + ": " + what);
}

Result<bool> IsNewJournal(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "CURRENT", ec)) return false;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t dot = name.find('.');
    const std::string stem = name.substr(0, dot);
    const std::string ext = dot == std::string::npos ? "" : name.substr(dot);
    const bool numbered =
        !stem.empty() && std::all_of(stem.begin(), stem.end(), [](char c) {
          return c >= '0' && c <= '9';
        });
    if (numbered && (ext == ".log" || ext == ".sst")) {
      return Damaged(dir, "it holds " + name + " but no CURRENT file");
    }
  }
  return true;
}

uint64_t SpaceToOpen(const std::string& dir) {
  namespace fs = std::filesystem;
  uint64_t bytes = 4 << 20;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() == ".log") {
      const auto size = fs::file_size(it->path(), ec);
      if (!ec) bytes += size;
    }
  }
  return bytes;
}

}  // namespace relais::broker::journal
