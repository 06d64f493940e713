#pragma once

// relaisd's core: wires the stages together and runs the loop that owns
// the socket (docs/ARCHITECTURE.md draws it).
//
//   transport --Submit--> ingress (admit; verify on N threads, in order)
//                           --> journal writer (group commit, fsync)
//                                 --> OnCommitted: frames/replies,
//                                     delivery (Pump the recipients)
//   transport --DeliveryAck, Credit, Hello--> delivery (sessions)
//             --StatusUpdate, SubjectRegistration--> journal writer
//             --CaseStatusQuery, RouteQuery, AdminRequest--> frames/queries
//
// Thread-safety: Run() on one thread; RequestStop() from any thread or a
// signal handler.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/config.h"
#include "broker/delivery/sessions.h"
#include "broker/frames/queries.h"
#include "broker/frames/replies.h"
#include "broker/ingress/ingress.h"
#include "broker/ingress/registry.h"
#include "broker/journal/journal.h"
#include "broker/journal/writer.h"
#include "broker/metrics.h"
#include "broker/transport/router_server.h"
#include "core/clock.h"
#include "core/frame.h"
#include "core/keys.h"
#include "core/status.h"

namespace relais::broker {

class Broker {
 public:
  // Opens the journal, starts the writer and ingress threads, and binds
  // the socket. `clock` must outlive the broker (null: the system clock).
  static Result<std::unique_ptr<Broker>> Start(BrokerConfig config,
                                               const Clock* clock = nullptr);
  ~Broker();

  // The endpoint clients connect to (with the port actually bound).
  const std::string& endpoint() const { return router_->endpoint(); }
  // The broker's CURVE public key (Z85), which clients need.
  const std::string& curve_public_key() const {
    return identity_.curve.public_z85;
  }

  // Serves until RequestStop(), then finishes the queued work and closes
  // the journal. Returns the first fatal error, if any.
  Status Run();
  // Async-signal-safe.
  void RequestStop();

  const journal::WriterStats& writer_stats() const { return writer_->stats(); }

  // The metrics' exposition text (broker/metrics.h). Any thread, until the
  // broker is destroyed (once Run() has returned, the oldest ages read 0).
  std::string RenderMetrics() const;

 private:
  // What other threads hand to the loop, which alone owns the socket and
  // the sessions.
  struct LoopWork {
    std::vector<Outgoing> frames;
    std::vector<std::string> recipients;  // outboxes with new entries
    // Participants whose sessions must send their outbox again (acks lost
    // with a failed batch).
    std::vector<std::string> restarts;
    // (recipient, sequence) now dead letters, or put back by an operator.
    std::vector<std::pair<std::string, uint64_t>> dead, replayed;
    bool pump_all = false;  // the journal recovered: every outbox again
    // (message id, envelope) of the messages just accepted.
    std::vector<std::pair<std::string, std::string>> accepted;
  };

  Broker(BrokerConfig config, const Clock* clock);
  Status Init();
  // The delivery sessions, reading the journal and the writer's synced
  // sequence (Init, once both exist).
  void MakeSessions();
  // On the writer thread.
  void OnCommitted(journal::CommitReport report);
  // On an ingress thread.
  void OnRefused(IngressRejection refusal);
  // From any thread: queues `work` and wakes the loop.
  void Post(LoopWork work);
  // On the loop (loop.cc): the rest.
  void DrainPosted();
  void HandleIncoming(const transport::Incoming& in);
  void HandleBundle(const transport::Incoming& in, const wire::Frame& bundle);
  // `bundled`: the frame came in a Bundle (its answer may go in one).
  void HandleFrame(const transport::Incoming& in, const wire::Frame& frame,
                   bool bundled);
  // Pumps `participant`'s session now, or once the bundle being handled
  // is done.
  void PumpSoon(const std::string& participant);
  void OnHello(const transport::Incoming& in, const journal::ReplyTo& reply,
               const wire::Hello& hello);
  void OnCredit(const transport::Incoming& in, const journal::ReplyTo& reply,
                const wire::Credit& credit);
  void OnAck(const transport::Incoming& in, const journal::ReplyTo& reply,
             const wire::DeliveryAck& ack);
  void OnAdmin(const transport::Incoming& in, const journal::ReplyTo& reply,
               const wire::AdminRequest& request);
  // Sends `frame`, or refuses with its status.
  void Answer(const transport::Incoming& in, const journal::ReplyTo& reply,
              const Result<std::string>& frame);
  // Posts `request` to the journal writer, or refuses with its status
  // (naming `message_id` if it is one).
  template <typename R>
  void ToJournal(const transport::Incoming& in, const journal::ReplyTo& reply,
                 Result<R> request, std::string_view message_id = {});
  // A Rejected frame for `reply`, and a log line.
  void Reject(const transport::Incoming& in, const journal::ReplyTo& reply,
              const Status& status, std::string_view message_id = {});
  // Answers `reply` with `frame`.
  void Reply(const journal::ReplyTo& reply, std::string frame);
  void Send(Outgoing out);
  // Sends what bundles_ holds: all of it, or `routing_id`'s.
  void FlushBundles();
  void FlushBundleOf(const std::string& routing_id);
  // A delivery (Sessions' send): after the answers gathered for its
  // connection, so that a bundled Hello's Welcome precedes its deliveries.
  Status SendDelivery(const std::string& routing_id, std::string_view frame);
  // One ZeroMQ message; nothing if `message` is empty.
  void SendNow(const std::string& routing_id, std::string_view message);
  wire::BrokerStatsT Stats() const;
  // On the writer's thread: what a committed batch changes in the metrics.
  void CountCommitted(const journal::CommitReport& report);

  BrokerConfig config_;
  const Clock* clock_;
  Identity identity_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<journal::JournalWriter> writer_;
  std::unique_ptr<IngressPool> ingress_;
  std::unique_ptr<transport::RouterServer> router_;
  std::unique_ptr<delivery::Sessions> sessions_;
  std::unique_ptr<Queries> queries_;
  std::unique_ptr<BrokerMetrics> metrics_;
  std::atomic<size_t> open_sessions_{0};  // sessions_'s count, for scrapes
  std::atomic<bool> stop_{false};

  // The loop's: answers to bundled frames gathering for their connection,
  // by routing id, and the participants to pump once the bundle being
  // handled is done (empty optional: no bundle is).
  std::map<std::string, BundlePacker> bundles_;
  std::optional<std::set<std::string>> to_pump_;

  std::mutex posted_mu_;
  LoopWork posted_;  // guarded by posted_mu_
  // Redelivery timers are checked every kTickMs.
  static constexpr int kTickMs = 200;
  int64_t next_tick_ms_ = 0;
};

}  // namespace relais::broker
