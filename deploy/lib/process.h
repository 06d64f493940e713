#pragma once

// Child processes for tests, the load generator and tools: start a program
// from build/bin, stop it politely or with SIGKILL, and wait for it.
//
// Thread-safety: a ChildProcess is used by one thread at a time.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"

namespace relais::deploy {

class ChildProcess {
 public:
  // Starts `argv[0]` (a path) with `argv`; its stdout and stderr go to
  // `log_path` (appended) unless it is empty. IOError if it cannot start.
  // With `die_with_parent` the child is sent SIGKILL when the thread that
  // started it ends (PR_SET_PDEATHSIG), so that a test that dies leaves no
  // process behind; a child that must outlive its starting thread (one
  // restarted by a helper thread) is started without it. `env` entries
  // ("NAME=value") are added to (or replace in) the inherited environment.
  static Result<ChildProcess> Start(const std::vector<std::string>& argv,
                                    const std::string& log_path = "",
                                    bool die_with_parent = true,
                                    const std::vector<std::string>& env = {});
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();  // Kill() if still running

  pid_t pid() const { return pid_; }
  bool running();
  // SIGTERM, then SIGKILL after `grace`. Returns the exit status (or
  // 128 + signal).
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL and reap.
  int Kill();
  // Waits up to `timeout` for the process to exit by itself; -1 if still
  // running.
  int Wait(std::chrono::milliseconds timeout);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  int Reap(bool block);
  pid_t pid_ = -1;
  int status_ = -1;
};

// Peak resident memory (VmHWM) of `pid` in MiB; -1 if unknown.
double PeakRssMb(pid_t pid);

// The folder of relais executables: $RELAIS_BIN_DIR, else the folder of the
// running program, else (a test program in build/tests, run without ctest)
// the bin folder beside that folder if relaisd is there.
std::string BinDir();

}  // namespace relais::deploy
