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
//
// It also reports what the kernel charges in CPU for what relais does
// many times per message: a system call, the first touch of a page (a
// page fault: every new byte of a RocksDB memtable), and an fdatasync.
// They are not in the bound, but they move every figure of the run, and
// a virtual machine can make them dear (bench/README.md, "What a message
// costs on this machine").

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
  // CPU of the calling thread, in µs: a trivial system call, a page
  // touched for the first time, a 1 KiB write and its fdatasync.
  double syscall_us = 0;
  double page_fault_us = 0;
  double fsync_cpu_us = 0;

  // cores / (seal + (1 + K) * open), messages per second.
  double BoundMsgsPerS() const;
  // 3 * synced write + seal + 2 * open, in ms.
  double LatencyFloorMs() const;
  nlohmann::json ToJson() const;
};

// Times sealing and opening envelopes of `payload_bytes` (in batches of
// `batch_seal` if above 1: the costs are then per envelope), synced
// writes in a store made under `dir` (removed after) and the kernel's
// costs, for about a second of one core, before the run starts.
Result<MachineCosts> MeasureMachine(size_t payload_bytes, uint32_t batch_seal,
                                    uint32_t recipients_per_message,
                                    const std::string& dir);

}  // namespace relais::bench
