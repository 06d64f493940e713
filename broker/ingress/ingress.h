#pragma once

// Ingress: everything the broker checks before a message may be journaled,
// and the pool of threads that does it in parallel.
//
// Admission, on the broker loop (IngressPool::Admit): size
// (MessageTooLarge), then room (Overloaded: too many bytes awaiting the
// journal, or too many submissions queued). Then on a pool thread
// (VerifySubmission), in order, each failure a Rejected status with its
// stable code: ParseEnvelope's structural checks; header sender
// equals the connection's authenticated identity (SenderMismatch); every
// recipient registered and allowed by policy (UnknownRecipient,
// NotAuthorised); the signing key (UnknownSigningKey, SigningKeyNotValid);
// the Ed25519 signature (BadSignature); time (ClockSkew, Expired). Cheap
// checks come first so that refused traffic costs no signature check.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/ingress/registry.h"
#include "broker/journal/requests.h"
#include "core/clock.h"
#include "core/envelope.h"

namespace relais::broker {

struct IngressLimits {
  uint32_t max_message_bytes = 1 << 20;
  // Envelope bytes admitted and not yet answered by the journal.
  uint64_t max_pending_bytes = 256 << 20;
  // Submissions admitted and not yet verified.
  size_t max_queued = 4096;
  TimePolicy time;
};

// The journal's dedup entry for a message id (JournalWriter::LookUpReceipt).
// Called from verifying threads.
using LookUpReceipt =
    std::function<Result<journal::PriorReceipt>(std::string_view message_id)>;

struct IngressTask {
  journal::ReplyTo reply;
  std::string participant;
  std::string envelope;
  // Set by VerifySubmission once the envelope parsed, for a refusal.
  std::string message_id;
  // When its frame arrived (the accept latency's start).
  std::chrono::steady_clock::time_point received{};
};

// Verifies the submitted envelope of `task`, whose size Admit checked.
// On success, the request for the journal (without routing), and the
// envelope has been moved into it; on failure the task is intact, with its
// message id if the envelope parsed that far. The envelope is parsed once,
// here. `lookup` (if any) is asked, after the structural and sender
// checks, whether the journal already has the message id: a resubmission
// of the very same message skips the route, key, signature and time
// checks (the journal answers it with the first receipt), and what the
// lookup found travels with the request so the writer need not read again.
// A batch-sealed envelope's root signature is verified once per root held
// in `roots` (if given).
Result<journal::SubmitRequest> VerifySubmission(
    IngressTask& task, const Registry& registry, int64_t now_ms,
    const TimePolicy& time, const LookUpReceipt& lookup = nullptr,
    VerifiedRoots* roots = nullptr);

// A refusal to send back: where, and why.
struct IngressRejection {
  journal::ReplyTo reply;
  std::string participant;
  std::string message_id;  // empty if the envelope did not parse that far
  Status status;
};

// Verifies submissions on `threads` threads and hands them on in the order
// they were submitted (a reorder stage), so a sender's messages are
// journaled in the order it sent them.
//
// Thread-safety: Admit from one thread (the broker loop); Release from
// any. The callbacks run on pool threads, one at a time, in submission
// order; they must not call back into the pool. Lock order: pool -> writer,
// pool -> broker outbox.
class IngressPool {
 public:
  using AcceptFn = std::function<void(journal::SubmitRequest)>;
  using RejectFn = std::function<void(IngressRejection)>;

  // `registry` and `clock` must outlive the pool.
  IngressPool(const Registry* registry, const Clock* clock,
              IngressLimits limits, size_t threads, AcceptFn accept,
              RejectFn reject, LookUpReceipt lookup = nullptr);
  ~IngressPool();  // Stop()

  // Queues `task` for verification, or refuses it at once: MessageTooLarge
  // past max_message_bytes, Overloaded past max_pending_bytes or
  // max_queued. The refusal is returned, not passed to the reject callback.
  std::optional<IngressRejection> Admit(IngressTask task);
  // The journal answered a submission admitted with `envelope_bytes`: its
  // bytes no longer count against max_pending_bytes. (Refusals by the
  // pool release theirs themselves.)
  void Release(size_t envelope_bytes);
  // Envelope bytes admitted and not yet answered.
  uint64_t pending_bytes() const { return pending_bytes_.load(); }
  // Batch root signatures verified (each distinct root once while it is
  // among the 4096 latest).
  uint64_t root_verifications() const { return roots_.verifications(); }
  // Finishes the queued tasks, then joins the threads.
  void Stop();

 private:
  using Outcome = std::pair<IngressTask, Result<journal::SubmitRequest>>;
  void Work();
  void Emit(uint64_t ticket, Outcome outcome);

  const Registry* registry_;
  const Clock* clock_;
  const IngressLimits limits_;
  AcceptFn accept_;
  RejectFn reject_;
  LookUpReceipt lookup_;
  std::atomic<uint64_t> pending_bytes_{0};
  VerifiedRoots roots_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<uint64_t, IngressTask>> queue_;  // guarded by mu_
  bool stopping_ = false;                               // guarded by mu_
  uint64_t next_ticket_ = 0;                            // broker loop only

  std::mutex emit_mu_;
  std::map<uint64_t, Outcome> done_;  // guarded by emit_mu_
  uint64_t next_emit_ = 0;            // guarded by emit_mu_
  std::vector<std::thread> threads_;
};

}  // namespace relais::broker
