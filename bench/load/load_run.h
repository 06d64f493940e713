#pragma once

// relais-bench: the end-to-end load generator. One sender submits N signed
// messages to one receiver through relaisd (its own, started in a
// temporary folder, or an existing one); the receiver counts what its
// handler was given, by message id, so `lost` and `duplicates` are
// measured, never assumed.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

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
  // Submits waiting for their receipt at most (pipelining).
  uint32_t in_flight = 2000;
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
  // Seed of the random moments; 0 picks one.
  uint64_t seed = 0;
};

struct LoadReport {
  uint64_t messages = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t delivered = 0;   // distinct messages the receiving handler got
  uint64_t lost = 0;        // accepted but never handed to the handler
  uint64_t duplicates = 0;  // handed to the handler more than once
  double seconds = 0;       // first submit to last delivery
  double msgs_per_s = 0;    // delivered / seconds
  double accept_msgs_per_s = 0;
  double accept_p50_ms = 0, accept_p99_ms = 0;
  double e2e_p50_ms = 0, e2e_p99_ms = 0;
  double broker_peak_rss_mb = -1;  // -1: not our broker
  uint64_t backlog = 0;            // as asked
  double drain_msgs_per_s = 0;     // with a backlog: delivered / drain time
  uint32_t broker_kills = 0;       // SIGKILLs done
  uint64_t seed = 0;
  std::string first_rejection;

  nlohmann::json ToJson() const;
  std::string ToText() const;
};

Result<LoadReport> RunLoad(const LoadOptions& options);

}  // namespace relais::bench
