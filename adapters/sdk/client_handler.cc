// Client::Impl's handler thread (client_impl.h): deliveries verified (each
// batch on the verify threads at once) and handed to the handler once per
// message id, in order; their processed ids,
// effects and hand-offs recorded with one synced write per batch; the
// hand-offs completed; only then the acks posted to the I/O thread. Also
// the hand-offs a crash left recorded, and the retention of processed ids.

#include <spdlog/spdlog.h>

#include "adapters/sdk/client_impl.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/crash_point.h"

namespace relais::sdk {
namespace {

constexpr auto kPruneEvery = std::chrono::minutes(10);

}  // namespace

// Handles what is queued, in order, then records every processed id with
// one synced write and only then acknowledges them (group commit: one sync
// per batch, never an ack before its sync).
void Client::Impl::HandlerLoop() {
  constexpr size_t kMaxBatch = 256;
  if (!CompleteRestoredHandOffs()) return;
  if (opts_.before_first_delivery) opts_.before_first_delivery();
  for (;;) {
    std::vector<Incoming> batch;
    {
      std::unique_lock<std::mutex> lock(del_mu_);
      del_cv_.wait_for(lock, std::chrono::seconds(60), [this] {
        return stopping_.load() || !deliveries_.empty();
      });
      if (stopping_.load()) return;
      if (Clock::now() - last_prune_ > kPruneEvery) {
        lock.unlock();
        Prune();
        continue;
      }
      while (!deliveries_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(deliveries_.front()));
        deliveries_.pop_front();
      }
    }
    if (!HandleBatch(batch)) return;
  }
}

bool Client::Impl::HandleBatch(const std::vector<Incoming>& batch) {
  std::vector<AckCmd> acks;
  std::vector<LocalStore::Entry> records;
  std::set<std::string> in_batch;
  Effects effects = store_->NewEffects();
  // Verified on every verify thread at once (the roots' cache is shared),
  // then handled one by one in arrival order. An operator's replay is
  // handled even past the message's expiry.
  const int64_t now = relais::Clock::System()->NowMs();
  std::vector<std::optional<Result<EnvelopeView>>> opened(batch.size());
  verify_pool_->ForEach(batch.size(), [&](size_t i) {
    // Sent on an earlier connection: it comes again on the current one.
    if (batch[i].generation != generation_.load()) return;
    opened[i] =
        OpenEnvelope(batch[i].envelope, opts_.peers, now, opts_.time_policy,
                     /*check_expiry=*/!batch[i].replayed, &roots_);
  });
  for (size_t i = 0; i < batch.size(); ++i) {
    const Incoming& in = batch[i];
    if (!opened[i] || in.generation != generation_.load()) continue;
    auto ack = HandleOne(in, *opened[i], &in_batch, &records, &effects);
    if (!ack) break;  // store unreadable or stopping: no acks past here
    acks.push_back(std::move(*ack));
  }
  CrashPoint("client.handled");
  std::vector<uint64_t> keys;
  Status st =
      store_->Commit(records, effects, relais::Clock::System()->NowMs(), &keys);
  if (!st.ok()) {
    spdlog::error("{}: {}", participant(), st.ToString());
    return true;  // not acked: redelivered later, and handled again
  }
  CrashPoint("client.committed");
  std::vector<std::string> hand_offs;
  for (const auto& r : records) {
    if (!r.hand_off.empty()) hand_offs.push_back(r.hand_off);
  }
  // Recorded: completed now, or by the next Start if this one dies.
  if (!CompleteHandOffs(hand_offs, keys)) return false;
  CrashPoint("client.handed_over");
  std::vector<Command> cmds;
  cmds.reserve(acks.size());
  for (auto& a : acks) cmds.push_back(std::move(a));
  PostAll(std::move(cmds));
  return true;
}

// --- One delivery ------------------------------------------------------------

std::optional<Client::Impl::AckCmd> Client::Impl::HandleOne(
    const Incoming& in, const Result<EnvelopeView>& opened,
    std::set<std::string>* in_batch, std::vector<LocalStore::Entry>* records,
    Effects* effects) {
  AckCmd ack{in.generation, in.sequence, {}, wire::AckOutcome::Processed, {}};
  if (!opened.ok()) {
    // Not recorded as processed: a forged copy must not shadow the real one.
    ack.message_id = PeekMessageId(in.envelope);
    ack.outcome = wire::AckOutcome::Rejected;
    ack.reason = opened.status().ToString();
    Refused(ack);
    return ack;
  }
  ack.message_id = std::string(opened->message_id);
  auto prior = HandledBefore(ack.message_id, *in_batch);
  if (!prior.ok()) {
    spdlog::error("{}: {}", participant(), prior.status().ToString());
    return std::nullopt;
  }
  if (prior->has_value()) {
    stats_.redeliveries_suppressed.fetch_add(1);
    if (**prior == LocalStore::Outcome::kRejected)
      ack.outcome = wire::AckOutcome::Rejected;
    return ack;
  }
  Effects stage = effects->Stage();
  HandlerResult r = CallHandler(in, *opened, *effects, &stage);
  if (r.kind == HandlerResult::Kind::kRetry) return std::nullopt;  // stopping
  const bool rejected = r.kind == HandlerResult::Kind::kRejected;
  ack.outcome =
      rejected ? wire::AckOutcome::Rejected : wire::AckOutcome::Processed;
  ack.reason = r.reason;
  records->push_back({ack.message_id,
                      rejected ? LocalStore::Outcome::kRejected
                               : LocalStore::Outcome::kProcessed,
                      rejected ? std::string() : std::move(r.hand_off)});
  effects->Absorb(std::move(stage));
  in_batch->insert(ack.message_id);
  stats_.handled.fetch_add(1);
  if (rejected) Refused(ack);
  return ack;
}

Result<std::optional<LocalStore::Outcome>> Client::Impl::HandledBefore(
    const std::string& message_id, const std::set<std::string>& in_batch) {
  // Handled earlier in this batch: acknowledged as processed.
  if (in_batch.count(message_id) > 0) {
    return std::optional<LocalStore::Outcome>(LocalStore::Outcome::kProcessed);
  }
  LocalStore::Outcome prior = LocalStore::Outcome::kProcessed;
  RELAIS_ASSIGN_OR_RETURN(bool stored, store_->Contains(message_id, &prior));
  if (!stored) return std::optional<LocalStore::Outcome>();
  return std::optional<LocalStore::Outcome>(prior);
}

HandlerResult Client::Impl::CallHandler(const Incoming& in,
                                        const EnvelopeView& envelope,
                                        const Effects& effects,
                                        Effects* stage) {
  // A stop before the handler ran leaves the delivery unhandled (it comes
  // again), never recorded as processed.
  HandlerResult r = HandlerResult::Retry("the client is stopping");
  Delivery d{in.sequence, in.attempt, &envelope, in.replayed, stage};
  for (int attempt = 0; !stopping_.load(); ++attempt) {
    r = handler_(d);
    if (r.kind != HandlerResult::Kind::kRetry) break;
    *stage = effects.Stage();  // a retry starts from what was committed
    spdlog::warn("{}: handler will retry message {}: {}", participant(),
                 in.sequence, r.reason);
    WaitBackoff(attempt);
  }
  return r;
}

void Client::Impl::Refused(const AckCmd& ack) {
  stats_.deliveries_rejected.fetch_add(1);
  spdlog::warn("{}: refused delivery of message {} (sequence {}): {}",
               participant(), HexEncode(ack.message_id), ack.sequence,
               ack.reason);
}

bool Client::Impl::WaitBackoff(int attempt) {
  std::unique_lock<std::mutex> lock(del_mu_);
  return del_cv_.wait_for(lock, Backoff(attempt),
                          [this] { return stopping_.load(); });
}

// --- Hand-offs ---------------------------------------------------------------

bool Client::Impl::CompleteHandOffs(const std::vector<std::string>& records,
                                    const std::vector<uint64_t>& keys) {
  if (records.empty()) return true;
  for (int attempt = 0;; ++attempt) {
    Status st = opts_.complete_hand_offs
                    ? opts_.complete_hand_offs(records)
                    : Status::InvalidArgument(
                          "the handler returned HandOff but the client has no "
                          "complete_hand_offs");
    if (st.ok()) break;
    spdlog::error("{}: {} hand-off(s) not completed yet, will try again: {}",
                  participant(), records.size(), st.ToString());
    if (WaitBackoff(attempt)) return false;
  }
  stats_.hand_offs_completed.fetch_add(records.size());
  Status st = store_->ForgetHandOffs(keys);
  if (!st.ok()) spdlog::warn("{}: {}", participant(), st.ToString());
  return true;
}

bool Client::Impl::CompleteRestoredHandOffs() {
  for (int attempt = 0;; ++attempt) {
    auto restored = store_->HandOffs();
    if (restored.ok()) {
      if (restored->empty()) return true;
      std::vector<std::string> records;
      std::vector<uint64_t> keys;
      for (auto& h : *restored) {
        records.push_back(std::move(h.record));
        keys.push_back(h.key);
      }
      spdlog::info("{}: completing {} hand-off(s) recorded before a restart",
                   participant(), records.size());
      if (!CompleteHandOffs(records, keys)) return false;
      stats_.hand_offs_restored.fetch_add(records.size());
      return true;
    }
    spdlog::error("{}: {}", participant(), restored.status().ToString());
    if (WaitBackoff(attempt)) return false;
  }
}

// --- Retention ---------------------------------------------------------------

void Client::Impl::Prune() {
  last_prune_ = Clock::now();
  auto pruned = store_->Prune(relais::Clock::System()->NowMs());
  if (!pruned.ok()) {
    spdlog::warn("{}: {}", participant(), pruned.status().ToString());
  } else if (*pruned > 0) {
    stats_.processed_pruned.fetch_add(*pruned);
    spdlog::info("{}: forgot {} processed ids older than {} h", participant(),
                 *pruned, opts_.processed_retention.count());
  }
}

}  // namespace relais::sdk
