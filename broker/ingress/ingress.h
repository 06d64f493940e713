#pragma once

// Ingress: everything the broker checks before a message may be journaled,
// and the pool of threads that does it in parallel.
//
// Checks, in order (each failure a Rejected status with its stable code):
// size (MessageTooLarge); ParseEnvelope's structural checks; header sender
// equals the connection's authenticated identity (SenderMismatch); every
// recipient registered and allowed by policy (UnknownRecipient,
// NotAuthorised); the signing key (UnknownSigningKey, SigningKeyNotValid);
// the Ed25519 signature (BadSignature); time (ClockSkew, Expired). Cheap
// checks come first so that refused traffic costs no signature check.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
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
  TimePolicy time;
};

// True if the journal already accepted `message_id` from `sender` with a
// header of this SHA-256 (a resubmission). Called from verifying threads.
using AlreadyAccepted =
    std::function<bool(std::string_view message_id, std::string_view sender,
                       std::string_view header_sha256)>;

// Verifies one submitted envelope from the connection authenticated as
// `participant`. On success, the request for the journal (without routing),
// and `envelope` has been moved into it; on failure `envelope` is intact.
// A resubmission (`accepted` says so, after the structural and sender
// checks) skips the route, key, signature and time checks: the journal
// answers it with the first receipt.
Result<journal::SubmitRequest> VerifySubmission(
    std::string& envelope, std::string_view participant,
    const Registry& registry, int64_t now_ms, const IngressLimits& limits,
    const AlreadyAccepted& accepted = nullptr);

struct IngressTask {
  journal::ReplyTo reply;
  std::string participant;
  std::string envelope;
};

// A refusal to send back: where, and why.
struct IngressRejection {
  journal::ReplyTo reply;
  std::string participant;
  std::string message_id;  // empty if the envelope did not parse that far
  Status status;
  size_t envelope_bytes = 0;
};

// Verifies submissions on `threads` threads and hands them on in the order
// they were submitted (a reorder stage), so a sender's messages are
// journaled in the order it sent them.
//
// Thread-safety: TrySubmit from one thread (the broker loop). The callbacks
// run on pool threads, one at a time, in submission order; they must not
// call back into the pool. Lock order: pool -> writer, pool -> broker outbox.
class IngressPool {
 public:
  using AcceptFn = std::function<void(journal::SubmitRequest)>;
  using RejectFn = std::function<void(IngressRejection)>;

  // `registry` and `clock` must outlive the pool.
  IngressPool(const Registry* registry, const Clock* clock,
              IngressLimits limits, size_t threads, size_t max_queued,
              AcceptFn accept, RejectFn reject,
              AlreadyAccepted accepted = nullptr);
  ~IngressPool();  // Stop()

  // False (and nothing queued) when max_queued tasks are already waiting.
  bool TrySubmit(IngressTask task);
  // Finishes the queued tasks, then joins the threads.
  void Stop();

 private:
  using Outcome = std::pair<IngressTask, Result<journal::SubmitRequest>>;
  void Work();
  void Emit(uint64_t ticket, Outcome outcome);

  const Registry* registry_;
  const Clock* clock_;
  const IngressLimits limits_;
  const size_t max_queued_;
  AcceptFn accept_;
  RejectFn reject_;
  AlreadyAccepted accepted_;

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
