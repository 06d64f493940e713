#pragma once

// One process per state folder: relaisd on its journal, an adapter on its
// state. A second one started on the same folder stops at once and says
// which process holds it, instead of failing later on a RocksDB lock.

#include <string>

#include "core/status.h"

namespace relais {

class PidLock {
 public:
  // Takes an exclusive flock(2) on `dir`/`name` (created if need be) and
  // writes this process's pid into it. Unavailable("... already running
  // (pid N) on DIR") if another process holds it; IOError if the file
  // cannot be opened. The lock goes with the process (a kill included).
  static Result<PidLock> Acquire(const std::string& dir,
                                 const std::string& name,
                                 const std::string& what);

  PidLock(PidLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  PidLock& operator=(PidLock&& other) noexcept;
  PidLock(const PidLock&) = delete;
  PidLock& operator=(const PidLock&) = delete;
  ~PidLock();

 private:
  explicit PidLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace relais
