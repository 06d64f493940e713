#pragma once

// Wall-clock time in milliseconds since the Unix epoch (UTC), behind an
// interface so that tests can move time (expiry, key validity).

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace relais {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;

  // The system clock. Never null; lives for the whole program.
  static const Clock* System();
};

// A clock that only moves when told. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(int64_t delta_ms) { now_ms_.fetch_add(delta_ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

// "2026-11-23T10:04:05.123Z" (RFC 3339, UTC, milliseconds).
std::string FormatTimestamp(int64_t ms);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC only). InvalidArgument otherwise.
Result<int64_t> ParseTimestamp(std::string_view text);
// True for a valid calendar date "YYYY-MM-DD" (years 1800..2999).
bool IsValidDate(std::string_view text);

}  // namespace relais
