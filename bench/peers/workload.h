#pragma once

// The workload of relais-bench (bench/load/load_run.cc), run against a
// Peer: one producer thread keeps at most `window` messages awaiting the
// broker's durable acknowledgement, one consumer thread receives and
// acknowledges them; closed loop, or open loop with `rate`.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "peers.h"

namespace relais::peers {

struct WorkloadOptions {
  uint64_t messages = 20000;
  size_t payload_bytes = 1024;
  uint32_t window = 256;
  // Open loop: message i is scheduled at start + i / rate, whatever the
  // answers, and its latencies count from that moment. 0: closed loop.
  double rate = 0;
  // Give up after this long without progress.
  int timeout_s = 60;
};

struct WorkloadReport {
  std::string system, version, durability;
  uint64_t messages = 0;
  uint64_t accepted = 0;         // durably acknowledged to the producer
  uint64_t refused = 0;          // nacked or answered with an error
  uint64_t delivered = 0;        // distinct indices the consumer got
  uint64_t lost = 0;             // accepted but never delivered
  uint64_t duplicates = 0;       // an index delivered again
  double seconds = 0;            // first send to last delivery
  double msgs_per_s = 0;         // delivered / seconds
  double accept_msgs_per_s = 0;  // accepted / (first send to last ack)
  double accept_p50_ms = 0, accept_p99_ms = 0;
  double e2e_p50_ms = 0, e2e_p99_ms = 0;
  size_t payload_bytes = 0;
  uint32_t window = 0;
  double offered_rate = 0;
  bool timed_out = false;

  // The keys of relais-bench's JSON (bench/README.md), plus system,
  // version, durability, payload_bytes and window.
  nlohmann::json ToJson() const;
  std::string ToText() const;
};

// Runs the workload; an error if a connection failed.
Status RunWorkload(Peer* peer, const WorkloadOptions& options,
                   WorkloadReport* report);

}  // namespace relais::peers
