#pragma once

// The console's signed-in sessions, kept in memory: a restart signs every
// agent out. A session is named by a random token (the cookie's value,
// 32 bytes in hex) and carries its own CSRF token, which every request that
// changes something must repeat (docs/CONSOLE.md). Tokens are looked up by
// their SHA-256, so that the table's lookups do not compare secrets.
//
// A session ends when its agent signs out, after `idle_ms` without a
// request, after `absolute_ms` whatever happens, or when its agent is
// disabled (CloseAllOf).
//
// Thread-safety: every method may be called from several threads.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/status.h"

namespace relais::console {

struct SessionLimits {
  // Default: 30 minutes without a request.
  int64_t idle_ms = int64_t{30} * 60 * 1000;
  // Default: 10 hours (a working day), however active.
  int64_t absolute_ms = int64_t{10} * 3600 * 1000;
  // Default: 10000. Opening one more first drops the expired ones, then
  // ends the session idle the longest.
  size_t max_sessions = 10000;
};

struct Session {
  std::string token;  // the cookie's value
  std::string csrf;   // the CSRF token (32 bytes in hex)
  std::string login;
  int64_t created_ms = 0;
  int64_t last_ms = 0;  // the last request
};

class Sessions {
 public:
  // `clock` must outlive this (null: the system clock).
  explicit Sessions(const Clock* clock = nullptr, SessionLimits limits = {});

  // A new session for `login`. Internal if the random generator fails.
  Result<Session> Open(const std::string& login);
  // The live session named by `token`, its last request now (unless
  // `touch` is false: a live-updates stream checking that its session
  // still lives does not keep it alive); nullopt if there is none (never
  // was, signed out, expired: an expired one is removed).
  std::optional<Session> Find(std::string_view token, bool touch = true);
  // Whether `csrf` is `session`'s CSRF token (in constant time).
  static bool CsrfMatches(const Session& session, std::string_view csrf);
  // Ends the session named by `token`, if any.
  void Close(std::string_view token);
  // Ends every session of `login` (a disabled agent); returns how many.
  size_t CloseAllOf(std::string_view login);
  size_t size() const;

 private:
  bool Expired(const Session& s, int64_t now) const;
  void EvictIdlest();  // requires mu_

  const Clock* clock_;
  const SessionLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Session> by_hash_;  // guarded by mu_
};

}  // namespace relais::console
