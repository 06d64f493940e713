#pragma once

// The bound this machine puts on relais's throughput, from costs measured
// on it just before a run (issue 15's fifth item): a signature, a
// verification and a synced write, timed with the run's own envelopes.
//
// Every message is sealed once by its sender and opened (verified) by the
// broker and by each of its K recipients, all on the same `cores`. So even
// if everything else were free:
//
//   bound = cores / (seal + (1 + K) * open)              messages per second
//
// with seal and open per envelope: one signature and one verification each
// when signed one by one; with batch seals of N, the batch's costs divided
// by its N envelopes (one signature, one verification per root, then
// hashes). A synced write bounds latency rather than throughput (group
// commit shares it): the path holds three in a row (the sender's outbox,
// the journal, the recipient's processed ids), so
//
//   latency floor = 3 * synced write + seal + 2 * open.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace relais::bench {

struct MachineCosts {
  unsigned cores = 1;          // std::thread::hardware_concurrency()
  double seal_us = 0;          // per envelope, as the run seals them
  double open_us = 0;          // per envelope, as the broker and recipients
  double synced_write_ms = 0;  // one envelope kept with a synced write
  uint32_t batch_seal = 0;     // N the seal and open costs were measured with
  uint32_t recipients_per_message = 1;

  // cores / (seal + (1 + K) * open), messages per second.
  double BoundMsgsPerS() const;
  // 3 * synced write + seal + 2 * open, in ms.
  double LatencyFloorMs() const;
  nlohmann::json ToJson() const;
};

// Times sealing and opening envelopes of `payload_bytes` (in batches of
// `batch_seal` if above 1: the costs are then per envelope) and synced
// writes in a store made under `dir` (removed after), for about half a
// second of one core, before the run starts.
Result<MachineCosts> MeasureMachine(size_t payload_bytes, uint32_t batch_seal,
                                    uint32_t recipients_per_message,
                                    const std::string& dir);

}  // namespace relais::bench
