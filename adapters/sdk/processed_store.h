#pragma once

// The message ids a participant has already handed to its partner system,
// kept durably (RocksDB, synced) so that a redelivery after a crash or
// reconnect reaches the handler once: effectively exactly once.
//
// Thread-safety: all methods may be called from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rocksdb {
class DB;
}

namespace relais::sdk {

class ProcessedStore {
 public:
  enum class Outcome : uint8_t { kProcessed = 0, kRejected = 1 };

  // Opens or creates the store in `dir`.
  static Result<std::unique_ptr<ProcessedStore>> Open(const std::string& dir);
  ~ProcessedStore();

  // True if `message_id` was recorded; its outcome in `*outcome` if given.
  Result<bool> Contains(std::string_view message_id,
                        Outcome* outcome = nullptr) const;
  struct Entry {
    std::string message_id;
    Outcome outcome = Outcome::kProcessed;
  };
  // Records every entry with one synced write (group commit); all or none
  // are recorded when this returns.
  Status RecordAll(const std::vector<Entry>& entries, int64_t at_ms);

 private:
  explicit ProcessedStore(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace relais::sdk
