#pragma once

// relaisd's core: wires transport, ingress, journal and delivery together
// and runs the loop that owns the ROUTER socket.
//
//   ROUTER --Submit--> IngressPool (verify, N threads, in order)
//                        --> JournalWriter (group commit, fsync)
//                              --> outcomes --> loop: Accepted/Rejected,
//                                                     Pump(recipients)
//   ROUTER --DeliveryAck--> Sessions --> JournalWriter (remove, audit)
//
// Thread-safety: Run() on one thread; RequestStop() from any thread or a
// signal handler.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "broker/config.h"
#include "broker/delivery/sessions.h"
#include "broker/ingress/ingress.h"
#include "broker/ingress/registry.h"
#include "broker/journal/journal.h"
#include "broker/journal/writer.h"
#include "broker/replies.h"
#include "broker/transport/router_server.h"
#include "broker/transport/zap.h"
#include "core/clock.h"
#include "core/keys.h"
#include "core/status.h"

namespace relais::broker {

class Broker {
 public:
  // Opens the journal, starts the ZAP handler, binds the socket and starts
  // the ingress and writer threads. `clock` must outlive the broker (null:
  // the system clock).
  static Result<std::unique_ptr<Broker>> Start(BrokerConfig config,
                                               const Clock* clock = nullptr);
  ~Broker();

  // The endpoint clients connect to (with the port actually bound).
  const std::string& endpoint() const;
  // The broker's CURVE public key (Z85), which clients need.
  const std::string& curve_public_key() const {
    return identity_.curve.public_z85;
  }

  // Serves until RequestStop(). Returns the first fatal error, if any.
  Status Run();
  // Async-signal-safe.
  void RequestStop();

  const journal::WriterStats& writer_stats() const { return writer_->stats(); }

 private:
  Broker(BrokerConfig config, const Clock* clock);
  Status Init();
  void OnCommitted(journal::CommitReport report);
  void HandleIncoming(transport::Incoming in);
  void HandleFrame(const transport::Incoming& in, const wire::Frame& frame);
  void OnHello(const transport::Incoming& in, uint64_t req,
               const wire::Hello& h);
  void OnSubmit(const transport::Incoming& in, uint64_t req,
                const wire::Submit& s);
  void OnAck(const transport::Incoming& in, uint64_t req,
             const wire::DeliveryAck& a);
  void OnCaseStatus(const transport::Incoming& in, uint64_t req,
                    const wire::CaseStatusQuery& q);
  void OnSubjectRegistration(const transport::Incoming& in, uint64_t req,
                             const wire::SubjectRegistration& r);
  void OnRouteQuery(const transport::Incoming& in, uint64_t req,
                    const wire::RouteQuery& q);
  void OnStatusUpdate(const transport::Incoming& in, uint64_t req,
                      const wire::StatusUpdate& u);
  void OnAdmin(const transport::Incoming& in, uint64_t req,
               const wire::AdminRequest& a);
  void Reject(const transport::Incoming& in, uint64_t req, const Status& status,
              std::string_view message_id = {});
  void Send(const std::string& routing_id, std::string_view frame);
  // From other threads: queue frames and recipients to pump, wake the loop.
  // `restarts`: participants whose sessions must send their outbox again.
  // `dead`: (recipient, sequence) now dead letters; `replayed`: put back.
  // `pump_all`: every session reads its outbox (the journal recovered).
  void Post(std::vector<Outgoing> frames, std::vector<std::string> recipients,
            std::vector<std::string> restarts = {},
            std::vector<std::pair<std::string, uint64_t>> dead = {},
            std::vector<std::pair<std::string, uint64_t>> replayed = {},
            bool pump_all = false);
  void Wake();
  void DrainPosted();

  BrokerConfig config_;
  const Clock* clock_;
  Identity identity_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<journal::JournalWriter> writer_;
  std::unique_ptr<IngressPool> ingress_;
  zmq::context_t context_;
  std::unique_ptr<transport::ZapHandler> zap_;
  std::unique_ptr<transport::RouterServer> router_;
  std::unique_ptr<delivery::Sessions> sessions_;
  int wake_fd_ = -1;  // eventfd: posted work or stop
  // Envelope bytes between Submit and its answer (config max_pending_bytes).
  std::atomic<uint64_t> pending_bytes_{0};
  std::atomic<bool> stop_{false};

  std::mutex posted_mu_;
  std::vector<Outgoing> posted_frames_;         // guarded by posted_mu_
  std::vector<std::string> posted_recipients_;  // guarded by posted_mu_
  std::vector<std::string> posted_restarts_;    // guarded by posted_mu_
  std::vector<std::pair<std::string, uint64_t>> posted_dead_;      // same
  std::vector<std::pair<std::string, uint64_t>> posted_replayed_;  // same
  bool posted_pump_all_ = false;                                   // same
  // Redelivery timers are checked every kTickMs.
  static constexpr int kTickMs = 200;
  int64_t next_tick_ms_ = 0;
};

}  // namespace relais::broker
