#pragma once

// The pause after repeated failed sign-ins, counted per login and per
// client address (one guesser trying many logins, many guessers one
// login). The first `free_failures` failures within `window_ms` cost
// nothing; each one after that makes the next try wait, `first_pause_ms`
// and then twice as long each time, at most `max_pause_ms`. A success
// clears its login's count (not its address's); a count is forgotten
// `window_ms` after its last failure.
//
// Thread-safety: every method may be called from several threads.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace relais::console {

struct GuardLimits {
  int free_failures = 5;                           // Default: 5.
  int64_t window_ms = int64_t{15} * 60 * 1000;     // Default: 15 minutes.
  int64_t first_pause_ms = 30 * 1000;              // Default: 30 s.
  int64_t max_pause_ms = int64_t{15} * 60 * 1000;  // Default: 15 minutes.
  // Default: 100000 logins and addresses each; past that, the counts
  // whose last failure is the oldest are forgotten first.
  size_t max_entries = 100000;
};

class SignInGuard {
 public:
  // `clock` must outlive this (null: the system clock).
  explicit SignInGuard(const Clock* clock = nullptr, GuardLimits limits = {});

  // 0 if a sign-in as `login` from `address` may be tried now; otherwise
  // how many milliseconds it must wait (the longer of the two pauses).
  int64_t WaitMs(std::string_view login, std::string_view address);
  void Failed(std::string_view login, std::string_view address);
  void Succeeded(std::string_view login);

 private:
  struct Count {
    int failures = 0;
    int64_t last_ms = 0;
  };
  using Table = std::unordered_map<std::string, Count>;

  int64_t PauseOf(const Table& table, std::string_view key, int64_t now) const;
  void Add(Table& table, std::string_view key, int64_t now);

  const Clock* clock_;
  const GuardLimits limits_;
  std::mutex mu_;
  Table logins_, addresses_;  // guarded by mu_
};

}  // namespace relais::console
