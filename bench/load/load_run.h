#pragma once

// relais-bench: the end-to-end load generator. S senders submit N signed
// messages in all, each to K of R receivers, through relaisd (its own,
// started in a temporary folder, or an existing one). Each receiver is a
// process of its own (`relais-bench --receive`, receiver.cc) whose handler
// records each message id in its local store, committed with the SDK's
// processed ids; `lost` and `duplicates` are counted from those stores
// after the run, so they are measured, never assumed, even across receiver
// kills.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "adapters/sdk/client.h"
#include "bench/load/machine_bound.h"
#include "core/status.h"

namespace relais::bench {

struct LoadOptions {
  uint64_t messages = 10000;
  size_t payload_bytes = 1024;
  // An external broker's endpoint; empty: start relaisd in a temporary
  // folder. With an external broker, `stack_dir` must be a folder made by
  // `relais provision --bench` for that broker.
  std::string broker;
  std::string stack_dir;
  // Submits waiting for their receipt at most, per sender (pipelining).
  uint32_t in_flight = 2000;
  // Sending participants (deploy::BenchSender), each a client of its own;
  // message i leaves from sender i mod S.
  uint32_t senders = 1;
  // Receiving processes (deploy::BenchReceiver), each a participant.
  uint32_t receivers = 1;
  // Recipients of each message: message i goes to receivers (i + j) mod R
  // for j < K, so each receiver gets K/R of the messages.
  uint32_t recipients_per_message = 1;
  // 0: each envelope signed alone. N: batch seals (docs/PROTOCOL.md 4.8)
  // of up to N envelopes by the SDK's sealer (ClientOptions::
  // batch_seal_max, batch_seal_window = batch_window_ms).
  uint32_t batch_seal = 0;
  double batch_window_ms = 2;
  // The receiver's delivery window.
  uint32_t window = 1024;
  // Give up draining after this long without progress.
  int drain_timeout_s = 60;
  // The receiver connects only once this many messages are accepted (they
  // wait in the journal), then drains. 0: connected from the start.
  uint64_t backlog = 0;
  // SIGKILL and restart our relaisd this many times, at random moments of
  // the run (needs our own broker).
  uint32_t kill_broker = 0;
  // The same for the receiving process (it restarts on its local store).
  uint32_t kill_receiver = 0;
  // Seed of the random moments; 0 picks one.
  uint64_t seed = 0;
  // Open loop: submit message i at start + i / rate, whatever the answers
  // (latencies count from that scheduled moment, so a broker that falls
  // behind shows it). 0: closed loop, as fast as in_flight allows.
  double rate = 0;
};

struct LoadReport {
  uint64_t messages = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  // Deliveries: (message, recipient) pairs, K per accepted message.
  uint64_t delivered = 0;   // distinct ones the receiving handlers got
  uint64_t lost = 0;        // accepted but never handed to a handler
  uint64_t duplicates = 0;  // handed to a handler more than once
  double seconds = 0;       // first submit to last delivery
  double msgs_per_s = 0;    // delivered / seconds
  uint32_t senders = 1, receivers = 1, recipients_per_message = 1;
  uint32_t batch_seal = 0;
  double accept_msgs_per_s = 0;
  double accept_mean_ms = 0, accept_p50_ms = 0, accept_p99_ms = 0;
  double e2e_p50_ms = 0, e2e_p99_ms = 0;
  double broker_peak_rss_mb = -1;  // -1: not our broker
  uint64_t backlog = 0;            // as asked
  double offered_rate = 0;         // --rate, msgs/s (0: closed loop)
  double drain_msgs_per_s = 0;     // with a backlog: delivered / drain time
  uint32_t broker_kills = 0;       // SIGKILLs done
  uint32_t receiver_kills = 0;
  // Group commit (the broker's Stats since its last start; 0: unknown).
  uint64_t journal_batches = 0, journal_submits = 0, journal_largest_batch = 0;
  uint64_t journal_syncs = 0;  // syncs of the log (one covers many batches)
  // Submits per sync (per batch from a broker that does not count syncs).
  double SubmitsPerSync() const {
    const uint64_t per = journal_syncs > 0 ? journal_syncs : journal_batches;
    return per > 0 ? double(journal_submits) / per : 0;
  }
  // The broker's share of the accept latency, from its /metrics (since
  // its last start): mean ms per message from a Submit's arrival to its
  // receipt, and of its stages, which add up to it (OPERATIONS.md,
  // relais_accept_stage_seconds); and the mean synced write. All 0 if the
  // stack's relaisd.metrics could not be read.
  struct BrokerAccept {
    double total_ms = 0, ingress_ms = 0, journal_queue_ms = 0,
           journal_batch_ms = 0, journal_write_ms = 0;
  } broker_accept;
  uint64_t seed = 0;
  std::string first_rejection;
  // Measured before the run: what this machine allows (machine_bound.h).
  MachineCosts machine;
  // End-to-end messages per second (each message once, whatever its
  // recipients) over machine.BoundMsgsPerS().
  double OfBound() const;

  nlohmann::json ToJson() const;
  std::string ToText() const;
};

Result<LoadReport> RunLoad(const LoadOptions& options);

// The receiving process (`relais-bench --receive`).
struct ReceiverOptions {
  std::string participant;    // deploy::BenchReceiver(i)
  std::string nonce_hex;      // first 8 bytes of this run's message ids
  std::string progress_file;  // distinct messages handled, rewritten often
  uint32_t window = 1024;
};
// Serves until SIGTERM; returns the exit code.
int RunReceiver(const ReceiverOptions& options, sdk::ClientOptions client);

// What the receiver's store says once it stopped.
struct ReceiverTally {
  struct Handled {
    uint64_t index;  // message number in the run
    int64_t handled_ns, submitted_ns;
  };
  std::vector<Handled> handled;  // once each
  uint64_t duplicates = 0;       // handed to the handler again after that
};
Result<ReceiverTally> ReadReceiverStore(const std::string& state_dir);

// `participant`'s client options in the stack `dir` (endpoint overridden
// by `broker` if given), with a local store of the run led by `run_pid`.
Result<sdk::ClientOptions> BenchClient(const std::string& dir,
                                       const std::string& broker,
                                       const std::string& participant,
                                       int run_pid);

// CLOCK_MONOTONIC in ns: the same clock in every process of the machine.
int64_t NowSteadyNs();

}  // namespace relais::bench
