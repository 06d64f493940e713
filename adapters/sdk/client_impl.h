#pragma once

// Client::Impl, private to the client's sources (client.h is the contract).
//
// Its threads (docs/ARCHITECTURE.md, "The SDK's layers"):
// - I/O (client_io.cc): owns the DEALER; says Hello, sends what other
//   threads posted as commands, resends unanswered requests, matches the
//   broker's answers to them and queues deliveries for the handler.
// - handler (client_handler.cc), when the client receives: verifies each
//   batch of deliveries (with the verify pool's helpers, verify_pool_),
//   calls the handler for each in order, records the processed ids in one
//   synced write per batch, completes hand-offs, and posts the acks.
// - keeper (client_outbox.cc), with a durable outbox: keeps submits in the
//   local store while the I/O thread sends them; forgets the answered ones
//   in the same writes.
// - sealer (client.cc), with batch sealing: seals the drafts given to
//   SubmitDraftAsync in batches, then submits them.
// client.cc starts and stops them and holds the public methods.
//
// Locks: no thread ever holds two of cmd_mu_, conn_mu_, del_mu_,
// keep_mu_ and seal_mu_ at once, so there is no order to keep. Callbacks
// (submit answers, the handler, hand-offs) run with none held.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "adapters/sdk/client.h"
#include "adapters/sdk/local_store.h"
#include "core/envelope.h"
#include "core/status.h"
#include "core/worker_pool.h"
#include "schemas/frames_generated.h"

namespace relais::sdk {

class Client::Impl {
 public:
  using Clock = std::chrono::steady_clock;
  using milliseconds = std::chrono::milliseconds;

  Impl(ClientOptions o, DeliveryHandler h)
      : opts_(std::move(o)), handler_(std::move(h)) {}
  ~Impl() { Stop(); }

  // client.cc
  Status Init();
  void Stop();
  Status WaitConnected(milliseconds timeout);
  bool connected() const { return welcomed_.load(); }
  Result<SealedEnvelope> Seal(EnvelopeDraft d, milliseconds ttl);
  Result<std::vector<SealedEnvelope>> SealBatch(
      std::vector<EnvelopeDraft> drafts, milliseconds ttl);
  void SubmitAsync(SealedEnvelope env, SubmitCallback done);
  // Submits each of `envelopes` with its callback in `done`, posted at once.
  void SubmitAllAsync(std::vector<SealedEnvelope> envelopes,
                      std::vector<SubmitCallback> done);
  void SubmitDraftAsync(EnvelopeDraft draft, SubmitCallback done,
                        milliseconds ttl);
  const ClientStats& stats() const { return stats_; }
  const std::string& participant() const { return opts_.identity.participant; }
  LocalStore* store() const { return store_.get(); }
  // client_outbox.cc: waits (at most `timeout`) until the keeper has
  // written the forgets of every submit answered so far, so that the
  // outbox shows no answered submit.
  void WaitForgotten(milliseconds timeout);

  // client_io.cc: sends a CaseStatusQuery for `case_id`, or the request
  // `admin_frame` builds for a request id if given, and waits for the
  // answer (the whole frame for a request other than the query).
  // `admin_frame` runs later on the I/O thread, possibly after this has
  // returned on timeout: it must own (capture by value) what it reads.
  Result<std::string> QueryCase(
      const std::string& case_id, milliseconds timeout,
      std::function<std::string(uint64_t)> admin_frame);

 private:
  // What other threads hand to the I/O thread.
  struct SubmitCmd {
    SealedEnvelope envelope;
    SubmitCallback done;
    uint64_t outbox_key = 0;  // 0: not in the durable outbox
  };
  struct QueryCmd {
    std::string case_id;
    std::function<void(Result<std::string>)> done;
    // Set for an AdminRequest: builds its frame for a request id.
    std::function<std::string(uint64_t)> admin_frame;
  };
  struct AckCmd {
    uint64_t generation;
    uint64_t sequence;
    std::string message_id;
    wire::AckOutcome outcome;
    std::string reason;
  };
  using Command = std::variant<SubmitCmd, QueryCmd, AckCmd>;

  // A draft waiting for the sealer (client.cc).
  struct DraftCmd {
    EnvelopeDraft draft;
    SubmitCallback done;
  };
  void SealerLoop();
  // Fills what the client sets in each draft: its sender, and its creation
  // (`now_ms`) and expiry (`ttl` later) where the caller left them 0.
  void FillDraft(EnvelopeDraft* d, int64_t now_ms, milliseconds ttl) const;
  // Seals what waits, submits it, and joins the sealer. Idempotent.
  void StopSealer();

  // A request sent and not answered yet (I/O thread).
  struct Pending {
    std::string frame;  // the Submit or CaseStatusQuery frame
    SubmitCallback submit_done;
    std::function<void(Result<std::string>)> query_done;
    Clock::time_point next_send;
    int retries = 0;
    bool sent_once = false;
    uint64_t outbox_key = 0;
    size_t envelope_bytes = 0;  // a submit's
  };
  // A delivery, from the I/O thread to the handler thread.
  struct Incoming {
    uint64_t generation;
    uint64_t sequence;
    uint32_t attempt;
    std::string envelope;
    bool replayed = false;
  };

  // The DEALER, its monitor and their ZeroMQ context (client_io.cc, the one
  // file that includes ZeroMQ).
  struct Socket;
  struct SocketDeleter {
    void operator()(Socket* s) const;
  };

  // --- client.cc
  // About 100 ms doubling up to 5 s, with jitter (the lower half of the
  // interval is kept).
  static milliseconds Backoff(int attempt);

  // --- client_io.cc
  // Queues commands for the I/O thread and wakes it.
  void Post(Command c);
  void PostAll(std::vector<Command> cs);
  void Wake();
  // Creates the DEALER (CURVE, reconnect, heartbeats) and its monitor, and
  // connects; InvalidArgument if ZeroMQ refuses.
  Status ConnectSocket();
  void CloseSocket();
  void IoLoop();
  void OnMonitorEvent();
  void OnConnected();
  void OnDisconnected();
  void OnAuthRefused();
  // Says once that the broker cannot be reached, after kUnreachableAfter
  // without a connection.
  void CheckReachable();
  void SayHello();
  void RunCommands();
  void SendDue(bool all);
  // Sends `frames` in as few messages as this connection's broker takes
  // (bundles, once its Welcome said it reads them); whether each went.
  std::vector<bool> SendFrames(const std::vector<std::string_view>& frames);
  bool SendFrame(std::string_view frame);
  // `inner`: the frame came in a bundle (a bundle in it is ignored).
  void OnFrame(std::string_view frame, bool inner = false);
  void OnBundle(const wire::Bundle& bundle);
  void OnWelcome(const wire::Welcome& welcome);
  void OnAccepted(uint64_t req, const wire::Accepted& a);
  void OnRejected(uint64_t req, const wire::Rejected& r);
  // Removes the query `req` from pending_ and returns its callback; empty
  // if there is none (a late echo, or the request was a submit).
  std::function<void(Result<std::string>)> TakeQuery(uint64_t req);
  void OnDeliver(const wire::Deliver& d);
  // Fails every request, sent or posted; from then on PostAll fails what
  // it is given (the I/O thread has stopped).
  void FailAll(const Status& st);
  static void FailCommand(Command* c, const Status& st);

  // --- client_handler.cc
  void HandlerLoop();
  // Handles `batch` in order, records it with one synced write, completes
  // its hand-offs and posts its acks. False if the client stopped.
  bool HandleBatch(const std::vector<Incoming>& batch);
  // Verifies and hands one delivery to the handler; the ack to send once
  // `records` are durable, or nullopt to stop the batch here.
  // `opened` is what OpenEnvelope made of it.
  std::optional<AckCmd> HandleOne(const Incoming& in,
                                  const Result<EnvelopeView>& opened,
                                  std::set<std::string>* in_batch,
                                  std::vector<LocalStore::Entry>* records,
                                  Effects* effects);
  // How `message_id` was handled before (in this batch, or recorded in the
  // local store), or nullopt if it was not.
  Result<std::optional<LocalStore::Outcome>> HandledBefore(
      const std::string& message_id, const std::set<std::string>& in_batch);
  // Calls the handler until it does not ask to retry, backing off between
  // attempts, each starting from what was committed (`*stage`).
  HandlerResult CallHandler(const Incoming& in, const EnvelopeView& envelope,
                            const Effects& effects, Effects* stage);
  // Counts and logs a delivery acknowledged as rejected.
  void Refused(const AckCmd& ack);
  // Waits Backoff(attempt), or less if the client stops: true if it stops.
  bool WaitBackoff(int attempt);
  // Completes `records` (ClientOptions::complete_hand_offs), retrying with
  // backoff; then forgets `keys`. False if it stopped first.
  bool CompleteHandOffs(const std::vector<std::string>& records,
                        const std::vector<uint64_t>& keys);
  // Completes the hand-offs an earlier run left recorded.
  bool CompleteRestoredHandOffs();
  void Prune();

  // --- client_outbox.cc
  Status RestoreOutbox();
  // Gives each of `cmds` an outbox key and queues a copy of its envelope
  // for the keeper thread; the caller posts them to the I/O thread.
  void Keep(std::vector<SubmitCmd>* cmds);
  // Keeps queued submits in the durable outbox (one sync for all that
  // queued meanwhile), and forgets the answered ones.
  void KeeperLoop();
  // Joins the keeper thread, then keeps what it left.
  void StopKeeper();
  // The broker answered the submit kept under `key`: the keeper forgets it.
  void Answered(uint64_t key);

  // Set by the constructor and Init, read-only while the threads run.
  ClientOptions opts_;
  DeliveryHandler handler_;
  std::unique_ptr<LocalStore> store_;  // thread-safe
  bool outbox_ = false;                // submits go through the durable outbox
  int wake_fd_ = -1;                   // eventfd the I/O thread polls

  // Any thread.
  ClientStats stats_;
  // Batch roots already verified: a batch-sealed delivery costs one
  // signature check per batch, then only hashes.
  VerifiedRoots roots_;
  // Verifies each batch's deliveries in parallel (verify_threads).
  std::unique_ptr<WorkerPool> verify_pool_;
  std::atomic<bool> stopping_{false};
  // Counts connections: an ack for a delivery of an earlier one is dropped.
  std::atomic<uint64_t> generation_{0};

  // Any thread to the I/O thread.
  std::mutex cmd_mu_;
  std::deque<Command> commands_;  // guarded by cmd_mu_
  bool io_stopped_ = false;       // guarded by cmd_mu_ (FailAll)

  // The I/O thread to WaitConnected.
  std::mutex conn_mu_;
  std::condition_variable conn_cv_;
  std::atomic<bool> welcomed_{false};  // set under conn_mu_
  // The broker refused our CURVE key on the last handshake (conn_mu_).
  bool auth_refused_ = false;

  // I/O thread only.
  std::unique_ptr<Socket, SocketDeleter> socket_;
  std::map<uint64_t, Pending> pending_;  // by request id
  uint64_t next_request_id_ = 1;
  bool handshaken_ = false;
  // What this connection's Welcome said a Bundle may hold (0: the broker
  // takes none, or has not said yet), and the bytes the SDK puts in one.
  uint32_t bundle_frames_ = 0;
  size_t bundle_bytes_ = 0;
  // The broker's limit on an envelope (Welcome): a larger one is refused
  // here, never sent (libzmq would close the connection over it, again at
  // each resend).
  size_t max_envelope_bytes_ = 0;
  // When to (re)send Hello on this connection; max() once welcomed.
  Clock::time_point hello_due_ = Clock::time_point::max();
  Clock::time_point last_sent_;
  bool auth_warned_ = false;
  // Since when there is no connection (start, or the last disconnection),
  // and whether that was said.
  Clock::time_point down_since_ = Clock::now();
  bool unreachable_said_ = false;

  // The I/O thread to the handler thread; del_cv_ also wakes the handler
  // thread's backoffs when the client stops.
  std::mutex del_mu_;
  std::condition_variable del_cv_;
  std::deque<Incoming> deliveries_;  // guarded by del_mu_

  // Handler thread only.
  Clock::time_point last_prune_{};

  // SubmitAsync to the keeper thread: envelopes to keep under their keys.
  struct KeepCmd {
    uint64_t key;
    std::string envelope;
  };
  std::mutex keep_mu_;
  std::condition_variable keep_cv_;
  std::vector<KeepCmd> to_keep_;  // guarded by keep_mu_
  // Outbox keys of answered submits, removed by the keeper's next write
  // (the I/O thread never waits for the store). Guarded by keep_mu_.
  std::vector<uint64_t> to_forget_;
  // Forgets asked (Answered) and written by the keeper, guarded by
  // keep_mu_; forgot_cv_ tells WaitForgotten of each write.
  uint64_t forgets_asked_ = 0;
  uint64_t forgets_written_ = 0;
  std::condition_variable forgot_cv_;
  // Submits given to the keeper and not yet kept (0: the keeper idles,
  // which lets the sealer seal at once).
  std::atomic<size_t> keeping_{0};

  // SubmitDraftAsync to the sealer thread.
  std::mutex seal_mu_;
  std::condition_variable seal_cv_;
  std::deque<DraftCmd> drafts_;  // guarded by seal_mu_
  bool seal_stop_ = false;       // guarded by seal_mu_
  // Drafts sealed and not yet answered (0: the sealer seals at once).
  std::atomic<size_t> sealed_unanswered_{0};
  std::mutex sealer_join_mu_;  // the one thread that joins the sealer

  std::thread io_thread_;
  std::thread handler_thread_;
  std::thread keeper_thread_;
  std::thread sealer_thread_;
};

}  // namespace relais::sdk
