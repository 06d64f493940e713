#pragma once

// relaisd's metrics (docs/OPERATIONS.md, "Metrics"): what the stages count
// as they work, and what a scrape reads from the journal. Participants are
// fixed at start (the registry), so each one's counters are found without
// a lock from any thread; only names and codes reach the labels, never a
// payload.
//
// Thread-safety: every method may be called from any thread.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/journal/journal.h"
#include "core/metrics.h"
#include "schemas/case_state_generated.h"
#include "schemas/codes_generated.h"

namespace relais::broker {

class BrokerMetrics {
 public:
  struct Participant {
    // As a sender: Submit frames received, messages accepted (synced;
    // not counting duplicates answered with their first receipt).
    metrics::Counter submitted, accepted;
    // As a recipient: first deliveries, deliveries sent again, acks
    // journaled (Processed, or Rejected by the recipient), dead letters.
    metrics::Counter delivered, redelivered, acked, refused, dead_lettered;
    // Outbox entries not yet acknowledged nor dead (kept exact by the
    // journal writer's reports from the count read at start).
    metrics::Gauge outbox;
    std::atomic<bool> session{false};
    std::atomic<int64_t> last_seen_ms{0};
    // Where the scrape's last look found the oldest outbox entry: the next
    // look starts there (0 after an operator's replay).
    std::atomic<uint64_t> oldest_hint{0};
  };

  // `participants`: every registered id and the broker's own.
  explicit BrokerMetrics(const std::vector<std::string>& participants);

  // Null for an id not given at construction.
  Participant* Of(std::string_view participant);
  // Counts a Rejected frame sent (or a refusal made at journaling).
  void Rejected(wire::RejectCode code);
  // Counts a partner status recorded (changed).
  void StatusRecorded(wire::RecipientState state);

  metrics::Histogram accept_latency{metrics::LatencyBuckets()};
  // accept_latency's three stages, which add up to it for each message:
  // ingress (waiting for a verify thread, verifying, keeping the arrival
  // order), the journal writer's queue (the batch before being written),
  // and the message's own batch (built, written, synced, answered).
  metrics::Histogram accept_ingress{metrics::LatencyBuckets()};
  metrics::Histogram accept_journal_queue{metrics::LatencyBuckets()};
  metrics::Histogram accept_journal_batch{metrics::LatencyBuckets()};
  metrics::Histogram end_to_end_latency{metrics::LatencyBuckets()};
  metrics::Histogram batch_submits{metrics::PowerOfTwoBuckets(2048)};
  metrics::Histogram journal_write{metrics::LatencyBuckets()};
  metrics::Counter batches, unsynced_batches, failed_batches;
  // Envelopes deleted at the end of their retention.
  metrics::Counter payloads_deleted;

  struct ScrapeInputs {
    const journal::Journal* journal = nullptr;
    std::string journal_dir;
    int64_t now_ms = 0;
    // A participant counts as online while its session is open and it was
    // heard from within this time (three heartbeat intervals).
    int64_t online_within_ms = 6000;
    size_t sessions = 0;
    uint64_t ingress_pending_bytes = 0;
    // Batch root signatures verified (docs/PROTOCOL.md 4.8).
    uint64_t batch_roots_verified = 0;
    uint64_t journal_syncs = 0;  // the journal writer's syncs of its log
  };
  // The exposition text (core/metrics.h).
  std::string Render(const ScrapeInputs& in);

 private:
  // The counters: per participant, by code, by state.
  void WriteCounters(metrics::TextWriter& w) const;
  // The gauges per participant (the oldest ages read the journal).
  void WriteParticipants(metrics::TextWriter& w, const ScrapeInputs& in);
  // Latencies, the journal, ingress.
  void WriteBroker(metrics::TextWriter& w, const ScrapeInputs& in) const;
  // Seconds since `p`'s oldest outbox entry was accepted; 0 if none (or
  // if the journal cannot say now).
  double OldestAgeSeconds(const std::string& id, Participant& p,
                          const ScrapeInputs& in);

  std::unordered_map<std::string, std::unique_ptr<Participant>> by_id_;
  std::vector<std::string> ids_;  // sorted: a stable exposition order
  std::map<wire::RejectCode, metrics::Counter> rejected_;
  std::map<wire::RecipientState, metrics::Counter> statuses_;
};

// Size on disk of the files under `dir` (0 if it cannot be read).
uint64_t FolderBytes(const std::string& dir);

}  // namespace relais::broker
