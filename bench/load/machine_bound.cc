#include "bench/load/machine_bound.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "adapters/sdk/local_store.h"
#include "core/clock.h"
#include "core/envelope.h"
#include "core/keys.h"

namespace relais::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Seconds(SteadyClock::time_point since) {
  return std::chrono::duration<double>(SteadyClock::now() - since).count();
}

// The median of `rounds` timings of `fn`, each divided by `per`.
template <typename Fn>
Result<double> MedianOf(int rounds, size_t per, Fn fn) {
  std::vector<double> t;
  for (int i = 0; i < rounds; ++i) {
    const auto start = SteadyClock::now();
    RELAIS_RETURN_IF_ERROR(fn());
    t.push_back(Seconds(start) / static_cast<double>(per));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

EnvelopeDraft DraftOf(size_t payload_bytes, int64_t now_ms) {
  EnvelopeDraft d;
  d.case_id = "bench-machine-bound";
  d.sender = "bench-sender";
  d.recipients = {"bench-receiver"};
  d.case_type = wire::CaseType::AssistedCase;
  d.encoding = wire::PayloadEncoding::Opaque;
  d.payload = std::string(std::max<size_t>(payload_bytes, 8), 'x');
  d.created_at_ms = now_ms;
  d.expires_at_ms = now_ms + 3600 * 1000;
  return d;
}

// `count` envelopes sealed as the run seals them: one by one, or in
// batches of `batch` (> 1).
Result<std::vector<SealedEnvelope>> SealAll(const EnvelopeDraft& d,
                                            size_t count, uint32_t batch,
                                            const SigningKey& key) {
  std::vector<SealedEnvelope> out;
  out.reserve(count);
  if (batch <= 1) {
    for (size_t i = 0; i < count; ++i) {
      RELAIS_ASSIGN_OR_RETURN(SealedEnvelope e, SealEnvelope(d, key));
      out.push_back(std::move(e));
    }
    return out;
  }
  const std::vector<EnvelopeDraft> drafts(batch, d);
  while (out.size() < count) {
    RELAIS_ASSIGN_OR_RETURN(auto sealed, SealBatch(drafts, key));
    for (auto& e : sealed) out.push_back(std::move(e));
  }
  return out;
}

// Opens every envelope as the broker and a recipient do: a batch's root is
// verified once (a cache of verified roots), its envelopes then cost hashes.
Status OpenAll(const std::vector<SealedEnvelope>& envelopes,
               const KeyDirectory& keys, int64_t now_ms) {
  VerifiedRoots roots;
  for (const auto& e : envelopes) {
    RELAIS_RETURN_IF_ERROR(
        OpenEnvelope(e.bytes, keys, now_ms, TimePolicy(), true, &roots)
            .status());
  }
  return Status::OK();
}

// Envelopes per timed round: at least 64, and a whole number of batches.
size_t RoundSize(uint32_t batch) {
  if (batch <= 1) return 64;
  return std::max<size_t>(batch, 64 / batch * batch);
}

Result<double> SyncedWriteMs(const std::string& dir, const std::string& env) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  double ms = 0;
  {
    RELAIS_ASSIGN_OR_RETURN(
        auto store, sdk::LocalStore::Open(dir, sdk::LocalStore::Options{}));
    RELAIS_ASSIGN_OR_RETURN(double s, MedianOf(31, 1, [&]() -> Status {
                              return store->Keep({env}).status();
                            }));
    ms = s * 1000;
  }
  std::filesystem::remove_all(dir, ec);
  return ms;
}

// CPU time of the calling thread, in seconds.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         static_cast<double>(ts.tv_nsec) * 1e-9;
}

double SyscallUs() {
  constexpr int kCalls = 100000;
  const double start = ThreadCpuSeconds();
  for (int i = 0; i < kCalls; ++i) ::syscall(SYS_getppid);
  return (ThreadCpuSeconds() - start) * 1e6 / kCalls;
}

// The first touch of each 4 KiB page of a fresh 64 MiB mapping.
Result<double> PageFaultUs() {
  constexpr size_t kBytes = 64 << 20;
  constexpr size_t kPage = 4096;
  constexpr double kPages = static_cast<double>(kBytes) / kPage;
  void* p = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Status::IOError("mmap of 64 MiB failed");
  auto* bytes = static_cast<volatile char*>(p);
  const double start = ThreadCpuSeconds();
  for (size_t i = 0; i < kBytes; i += kPage) bytes[i] = 1;
  const double us = (ThreadCpuSeconds() - start) * 1e6 / kPages;
  ::munmap(p, kBytes);
  return us;
}

// A 1 KiB append and its fdatasync, 200 times, in a file under `dir`.
Result<double> FsyncCpuUs(const std::string& dir) {
  constexpr int kSyncs = 200;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = dir + "/fsync-probe";
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + path);
  const std::string block(1024, 'x');
  const double start = ThreadCpuSeconds();
  bool ok = true;
  for (int i = 0; i < kSyncs && ok; ++i) {
    ok = ::write(fd, block.data(), block.size()) ==
             static_cast<ssize_t>(block.size()) &&
         ::fdatasync(fd) == 0;
  }
  const double us = (ThreadCpuSeconds() - start) * 1e6 / kSyncs;
  ::close(fd);
  std::filesystem::remove_all(dir, ec);
  if (!ok) return Status::IOError("write or fdatasync failed in " + dir);
  return us;
}

}  // namespace

double MachineCosts::BoundMsgsPerS() const {
  const double us = seal_us + (1.0 + recipients_per_message) * open_us;
  return us > 0 ? cores * 1e6 / us : 0;
}

double MachineCosts::LatencyFloorMs() const {
  return 3 * synced_write_ms + (seal_us + 2 * open_us) / 1000;
}

nlohmann::json MachineCosts::ToJson() const {
  return {{"cores", cores},
          {"seal_us", seal_us},
          {"open_us", open_us},
          {"synced_write_ms", synced_write_ms},
          {"syscall_us", syscall_us},
          {"page_fault_us", page_fault_us},
          {"fsync_cpu_us", fsync_cpu_us},
          {"bound_msgs_per_s", BoundMsgsPerS()},
          {"latency_floor_ms", LatencyFloorMs()}};
}

Result<MachineCosts> MeasureMachine(size_t payload_bytes, uint32_t batch_seal,
                                    uint32_t recipients_per_message,
                                    const std::string& dir) {
  MachineCosts c;
  c.cores = std::max(1u, std::thread::hardware_concurrency());
  c.batch_seal = batch_seal;
  c.recipients_per_message = recipients_per_message;
  const int64_t now = Clock::System()->NowMs();
  RELAIS_ASSIGN_OR_RETURN(Identity id,
                          GenerateIdentity("bench-sender", now - 60000, 1));
  KeyDirectory keys;
  RELAIS_RETURN_IF_ERROR(keys.Add(PublicOf(id)));
  const EnvelopeDraft draft = DraftOf(payload_bytes, now);
  const size_t n = RoundSize(batch_seal);
  const int rounds = batch_seal > 4096 ? 1 : 5;
  std::vector<SealedEnvelope> sealed;
  RELAIS_ASSIGN_OR_RETURN(double seal_s, MedianOf(rounds, n, [&]() -> Status {
                            RELAIS_ASSIGN_OR_RETURN(
                                sealed,
                                SealAll(draft, n, batch_seal, id.signing));
                            return Status::OK();
                          }));
  RELAIS_ASSIGN_OR_RETURN(double open_s, MedianOf(rounds, n, [&] {
                            return OpenAll(sealed, keys, now);
                          }));
  c.seal_us = seal_s * 1e6;
  c.open_us = open_s * 1e6;
  RELAIS_ASSIGN_OR_RETURN(c.synced_write_ms,
                          SyncedWriteMs(dir, sealed.front().bytes));
  c.syscall_us = SyscallUs();
  RELAIS_ASSIGN_OR_RETURN(c.page_fault_us, PageFaultUs());
  RELAIS_ASSIGN_OR_RETURN(c.fsync_cpu_us, FsyncCpuUs(dir));
  return c;
}

}  // namespace relais::bench
