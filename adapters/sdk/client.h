#pragma once

// relais::sdk::Client: what every participant links to talk to relaisd
// (docs/PROTOCOL.md is the wire it speaks).
//
// - Connects a DEALER with CURVE and says Hello on every (re)connection;
//   ZeroMQ reconnects with exponential backoff (reconnect_min..max).
// - Submit: hands a sealed envelope to the broker and returns its receipt
//   (Accepted) or its coded rejection. Unanswered submits are sent again,
//   with the same message id, after a reconnect or `resend_after`; retryable
//   (5xx) rejections are retried with backoff. The broker's dedup makes a
//   resubmission return the first receipt.
// - Durable outbox: with a `state_dir`, every submit is first kept in the
//   client's local store (synced; submits arriving together share one
//   sync) and removed once the broker answered. A process killed before
//   the answer submits the very same envelope (same message id) again when
//   it starts: the results go to `restored_done`.
// - Deliveries: each is verified (signature against `peers`, expiry), then,
//   unless its message id is in the local store, handed to the handler on
//   one handler thread, in arrival order. It is acknowledged only after the
//   handler returned Processed or Rejected and the id was recorded, with
//   the handler's Effects, in one synced write (local_store.h).
// - Hand-offs, for handlers whose effect is outside the local store (a file
//   for the partner system): the handler prepares it durably without
//   showing it (say, a synced hidden file) and returns HandOff(record); the
//   record is written with the processed id, then `complete_hand_offs`
//   shows it (say, renames the file), then the delivery is acknowledged.
//   A crash anywhere in between either leaves nothing recorded (the
//   delivery comes again and is handled again, the partner having seen
//   nothing) or a recorded hand-off, which the next Start completes before
//   handling anything: the partner sees it once.
//
// Thread-safety: all public methods may be called from any thread. The
// handler and submit callbacks run on the client's own threads; a callback
// must not block for long.

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "adapters/sdk/local_store.h"
#include "core/envelope.h"
#include "core/keys.h"
#include "core/status.h"
#include "schemas/frames_generated.h"

namespace relais::sdk {

struct Receipt {
  std::string message_id;
  uint64_t sequence = 0;
  int64_t accepted_at_ms = 0;
  bool duplicate = false;
};
using SubmitCallback = std::function<void(Result<Receipt>)>;
// The answer to a submit kept in the outbox by an earlier run.
using RestoredCallback =
    std::function<void(const std::string& message_id, Result<Receipt>)>;

struct ClientOptions {
  // Broker endpoint, e.g. "tcp://127.0.0.1:7700".
  std::string endpoint;
  // The broker's CURVE public key (Z85).
  std::string broker_public_key;
  // This participant's keys.
  Identity identity;
  // Public identities of the senders whose deliveries this participant
  // accepts (their signing keys).
  KeyDirectory peers;
  // Folder of the local store (processed ids, handler effects, durable
  // outbox). Required when a handler is given; without one, submits are
  // kept in memory only.
  std::string state_dir;
  // Keep submits in the local store until answered (needs state_dir).
  bool durable_outbox = true;
  // How long processed ids are remembered: longer than the broker's
  // max_ttl plus the time an operator may take to replay a dead letter (a
  // redelivery after that is handled again). Default: 100 days (the broker's
  // default max_ttl_days is 90).
  std::chrono::hours processed_retention{24 * 100};
  // Deliveries in flight at most; 0 = receive nothing. Default: 64.
  uint32_t window = 64;
  // Idle interval between heartbeats. Default: 2 s.
  std::chrono::milliseconds heartbeat{2000};
  // A submit with no answer for this long is sent again. Default: 5 s.
  std::chrono::milliseconds resend_after{5000};
  // ZeroMQ reconnect backoff. Defaults: 100 ms, doubling up to 5 s.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  // Batch sealing for SubmitDraftAsync (docs/PROTOCOL.md 4.8): drafts that
  // gather while the previous batch is on its way share one signature, up
  // to `batch_seal_max` of them (at most 65536). A draft is sealed at once
  // if every draft sealed before it is answered, or the durable outbox has
  // kept them all; otherwise it waits at most `batch_seal_window` after the
  // previous seal. 0 or 1: each draft is sealed alone. Default: off.
  // client.toml: batch_seal (0 to 65536); an adapter also seals the
  // envelopes of one inbox file in batches of this size.
  uint32_t batch_seal_max = 0;
  std::chrono::microseconds batch_seal_window{2000};
  // Threads that verify deliveries (signatures, proofs, payload hashes),
  // the handler's among them: each batch of deliveries is verified on all
  // of them at once, then handed to the handler one by one in arrival
  // order. 0: one per core (at most 8); 1: the handler's thread alone.
  // client.toml: verify_threads (0 to 64).
  uint32_t verify_threads = 0;
  // Time checks on deliveries.
  TimePolicy time_policy;
  std::string software = "relais-sdk/0.1";
  // Called with the answer to each submit restored from the outbox.
  RestoredCallback restored_done;
  // Completes hand-offs (HandlerResult::HandOff), given their records in
  // the order the deliveries were handled: after the synced write that
  // recorded them and before their deliveries are acknowledged, and at
  // Start for those a crash left recorded. Must be idempotent (a hand-off
  // may be completed again after a crash). An error holds back the
  // acknowledgements and is retried with backoff. Required if the handler
  // returns HandOff. Runs on the handler thread.
  std::function<Status(const std::vector<std::string>& records)>
      complete_hand_offs;
  // Called once on the handler thread when the hand-offs an earlier run
  // left are complete and before the first delivery is handled: the moment
  // to remove what a crash left prepared but never recorded.
  std::function<void()> before_first_delivery;
};

// A verified delivery, valid during the handler call only.
struct Delivery {
  uint64_t sequence = 0;
  uint32_t attempt = 0;
  const EnvelopeView* envelope = nullptr;
  // An operator replayed it from the dead letters (it may have expired).
  bool replayed = false;
  // Local state the handler reads and writes: committed in the same synced
  // write as this delivery's processed id if the handler returns Processed
  // or Rejected, dropped if it returns Retry.
  Effects* effects = nullptr;
};

// The broker's StatusReport if `envelope` is one (payload_encoding
// StatusReport, verified when the envelope was opened); null otherwise. A
// client gets these, sealed by the broker, about messages it sent that
// became dead letters or were replayed.
const wire::StatusReport* AsStatusReport(const EnvelopeView& envelope);

// What the handler decided.
struct HandlerResult {
  enum class Kind { kProcessed, kRejected, kRetry };
  Kind kind = Kind::kProcessed;
  std::string reason;
  // Set by HandOff: the record of what is left to hand over.
  std::string hand_off;
  // Handed to the partner system.
  static HandlerResult Processed() { return {Kind::kProcessed, {}, {}}; }
  // Processed once the hand-off described by `record` is completed
  // (ClientOptions::complete_hand_offs); `record` must not be empty.
  static HandlerResult HandOff(std::string record) {
    return {Kind::kProcessed, {}, std::move(record)};
  }
  // Permanently rejected: acknowledged as Rejected with `reason`.
  static HandlerResult Rejected(std::string reason) {
    return {Kind::kRejected, std::move(reason), {}};
  }
  // Transient failure: called again later (with backoff), in order.
  static HandlerResult Retry(std::string reason) {
    return {Kind::kRetry, std::move(reason), {}};
  }
};
using DeliveryHandler = std::function<HandlerResult(const Delivery&)>;

// The broker's record of a StatusUpdate.
struct StatusRecord {
  wire::RecipientState state = wire::RecipientState::Received;
  bool changed = false;  // false: it was already in that state
  int64_t recorded_at_ms = 0;
};

struct ClientStats {
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> submits_sent{0};
  std::atomic<uint64_t> resends{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> deliveries{0};
  std::atomic<uint64_t> handled{0};
  std::atomic<uint64_t> redeliveries_suppressed{0};
  std::atomic<uint64_t> deliveries_rejected{0};
  std::atomic<uint64_t> outbox_restored{0};
  std::atomic<uint64_t> processed_pruned{0};
  std::atomic<uint64_t> hand_offs_completed{0};
  // Hand-offs a crash had left recorded, completed at Start.
  std::atomic<uint64_t> hand_offs_restored{0};
  // Requests sent (submits, queries, statuses) not yet answered.
  std::atomic<uint64_t> awaiting_answer{0};
};

class Client {
 public:
  // Starts the client's threads and begins connecting (it does not wait for
  // the connection: see WaitConnected). InvalidArgument for bad options.
  static Result<std::unique_ptr<Client>> Start(
      ClientOptions options, DeliveryHandler handler = nullptr);
  ~Client();  // Stop()

  // OK once a Welcome arrived on the current connection; Timeout otherwise;
  // at once Rejected(NotAuthorised) (the SDK's own, not a frame) if the
  // broker refused this participant's CURVE key on the last handshake.
  Status WaitConnected(std::chrono::milliseconds timeout);
  bool connected() const;

  // Fills sender, key, a message id and times (created now, expiring after
  // `ttl`) into `draft` and seals it with this participant's key.
  Result<SealedEnvelope> Seal(
      EnvelopeDraft draft,
      std::chrono::milliseconds ttl = std::chrono::hours(24 * 7));

  // Seals the drafts as one batch (docs/PROTOCOL.md 4.8): one signature
  // for all of them, each envelope with its inclusion proof, so each still
  // stands alone. 1 to 65536 drafts; each filled in as Seal does.
  Result<std::vector<SealedEnvelope>> SealBatch(
      std::vector<EnvelopeDraft> drafts,
      std::chrono::milliseconds ttl = std::chrono::hours(24 * 7));

  // Seals `draft` as Seal does and submits it as SubmitAsync does. With
  // batch sealing on (ClientOptions::batch_seal_max > 1), drafts submitted
  // close together share one signature: a batch is sealed once it has
  // batch_seal_max drafts, or the previous ones are answered or kept
  // (durable outbox), or batch_seal_window has passed since the previous
  // seal, so a light load is not held back. `done` also gets a sealing error
  // (InvalidArgument naming the field). Drafts keep their order.
  void SubmitDraftAsync(EnvelopeDraft draft, SubmitCallback done,
                        std::chrono::milliseconds ttl = std::chrono::hours(24 *
                                                                           7));

  // Sends `envelope`; `done` runs once, on the client's I/O thread, with the
  // receipt or a non-retryable rejection (or ShuttingDown on Stop).
  void SubmitAsync(SealedEnvelope envelope, SubmitCallback done);
  // Blocking form; Timeout if no final answer within `timeout` (the submit
  // is then abandoned by this call but may still be accepted).
  Result<Receipt> Submit(
      SealedEnvelope envelope,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The case's state (CaseState FlatBuffer bytes, verified), or
  // Rejected(UnknownCase).
  Result<std::string> QueryCase(
      const std::string& case_id,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Tells the broker where this participant's partner system is with a
  // message it received (Received, InProgress, Done, or Rejected with a
  // reason); the broker records it in the case and relays it to the case's
  // originator. Rejected(StatusNotAllowed) if that does not follow.
  Result<StatusRecord> ReportStatus(
      const std::string& message_id, wire::RecipientState state,
      const std::string& reason = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The reference directory (docs/PROTOCOL.md 7.4): registers (or, with
  // `unregister`, unregisters) the citizens this participant holds a file
  // on, by subject reference (32 bytes each, at most 1000 per call);
  // returns how many changed. Synced to the broker's journal when it
  // returns.
  Result<uint32_t> RegisterSubjects(
      const std::vector<std::string>& subject_refs, bool unregister = false,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Who should receive a case of `case_type` about the citizen
  // `subject_ref` (empty: none in particular), by subscription: sorted
  // participant ids, possibly none.
  Result<std::vector<std::string>> Route(
      wire::CaseType case_type, const std::string& subject_ref,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends an AdminRequest (operators only) and returns the whole AdminReply
  // frame (RLF1, verified), or the broker's Rejected as a status.
  Result<std::string> Admin(
      wire::AdminOp op, const std::string& recipient = {},
      uint64_t sequence = 0, uint32_t limit = 0,
      std::chrono::milliseconds timeout = std::chrono::seconds(10),
      const wire::CaseFilterT* cases = nullptr);

  // The committed value of a handler effect (see Delivery::effects), or
  // nullopt; InvalidArgument without a local store.
  Result<std::optional<std::string>> ReadEffect(const std::string& key);
  // Submits kept in the outbox and not yet answered.
  Result<size_t> OutboxSize();

  // Stops the threads; pending submits get ShuttingDown (those in the
  // durable outbox stay there and are submitted again by the next Start).
  void Stop();
  const ClientStats& stats() const;
  const std::string& participant() const;

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace relais::sdk
