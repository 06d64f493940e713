#pragma once

// Test fixtures shared by unit and integration tests: identities, a sample
// case event and sealed envelopes.

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/keys.h"

namespace relais::testing {

// A fresh identity valid from one day before `now_ms` for a year; aborts
// the test binary on failure (it never fails with a working OpenSSL). A test
// that runs on a fixed fake time makes its keys at that time.
Identity MakeIdentityAt(const std::string& participant, int64_t now_ms);
// MakeIdentityAt the system clock's now.
Identity MakeIdentity(const std::string& participant);

// Bytes of an AddressChange CaseEvent for a sample citizen.
std::string SampleAddressChange();

// A draft from `sender` to `recipients` carrying SampleAddressChange(),
// created now and expiring `ttl` later.
EnvelopeDraft SampleDraft(
    const std::string& sender, std::vector<std::string> recipients,
    std::chrono::milliseconds ttl = std::chrono::hours(1));

// The fields of a batch seal (docs/PROTOCOL.md 4.8), to build altered
// copies of an envelope: forged proofs, other roots, moved leaves.
struct SealFields {
  std::string root, root_signature, path;
  uint32_t index = 0, count = 0;
  std::string signature;  // a single signature as well, if not empty
};
// The seal of a parsed envelope (its single signature too, if any).
SealFields SealOf(const EnvelopeView& envelope);
// The envelope's header and payload under `seal` instead of its own.
std::string Rewrap(const EnvelopeView& envelope, const SealFields& seal);

// A KeyDirectory holding the public identities of `identities`.
KeyDirectory DirectoryOf(const std::vector<const Identity*>& identities);

// A new, empty folder for this run of the running test: $TMPDIR (or /tmp)
// "/relais-<test name>-XXXXXX" made by mkdtemp, so that two runs, or two
// tests, never share one. Aborts if it cannot be made. The caller removes
// it.
std::string MakeTestDir();

// The whole file, bytes as they are (empty if it cannot be read).
std::string Slurp(const std::filesystem::path& path);
// Writes `text` as the whole file (not synced: for a test's set-up).
void Spit(const std::filesystem::path& path, const std::string& text);
// The names in `dir`, hidden ones included, sorted (none if it is absent).
std::vector<std::string> FileNames(const std::filesystem::path& dir);

// `rel` in the source tree ($RELAIS_SOURCE_DIR, set by ctest; "." if unset),
// e.g. SourcePath("deploy/samples/cpam/birth.json").
std::string SourcePath(const std::string& rel);

// A TCP socket on 127.0.0.1:`port`, connected to it, or bound and
// listening there (holding the port); -1 if that fails.
int ConnectToLoopback(int port);
int ListenOnLoopback(int port);

// Files created in one folder (inotify, IN_CREATE), from construction on:
// proof that something happened there, even to a file that is gone again
// (e.g. a write probe, created and unlinked at once). Not thread-safe.
class CreatedFiles {
 public:
  explicit CreatedFiles(const std::string& dir);
  ~CreatedFiles();
  CreatedFiles(const CreatedFiles&) = delete;
  CreatedFiles& operator=(const CreatedFiles&) = delete;

  // True once `name` was created in the folder (reads pending events,
  // without waiting).
  bool Seen(const std::string& name);

 private:
  int fd_ = -1;
  std::set<std::string> seen_;
};

// The process's own file size limit makes every write that extends a file
// fail (EFBIG, with SIGXFSZ ignored), as relaisd's fault test does. Restores
// the limit and the signal's disposition when lifted or destroyed.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t limit) {
    previous_signal_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit rl = previous_;
    rl.rlim_cur = limit;
    ::setrlimit(RLIMIT_FSIZE, &rl);
  }
  ~FileSizeLimit() { Lift(); }
  void Lift() {
    if (lifted_) return;
    lifted_ = true;
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_signal_);
  }

 private:
  rlimit previous_{};
  void (*previous_signal_)(int) = nullptr;
  bool lifted_ = false;
};

}  // namespace relais::testing
