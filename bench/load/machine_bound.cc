#include "bench/load/machine_bound.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
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
  return c;
}

}  // namespace relais::bench
