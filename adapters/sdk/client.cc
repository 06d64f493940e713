#include "adapters/sdk/client.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <variant>
#include <zmq.hpp>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crash_point.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais::sdk {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kMonitorEvents =
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

constexpr auto kPruneEvery = std::chrono::minutes(10);

// Without a connection for this long, the broker is said to be unreachable
// (once, until it is back): a restart of relaisd is only a disconnection.
constexpr auto kUnreachableAfter = std::chrono::seconds(2);

milliseconds Backoff(int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  const int64_t base = std::min<int64_t>(5000, 100LL << std::min(attempt, 6));
  return milliseconds(base / 2 + static_cast<int64_t>(rng() % (base / 2 + 1)));
}

}  // namespace

class Client::Impl {
 public:
  Impl(ClientOptions o, DeliveryHandler h)
      : opts_(std::move(o)), handler_(std::move(h)) {}
  ~Impl() { Stop(); }

  Status Init();
  void Stop();
  Status WaitConnected(milliseconds timeout);
  bool connected() const { return welcomed_.load(); }
  Result<SealedEnvelope> Seal(EnvelopeDraft d, milliseconds ttl);
  void SubmitAsync(SealedEnvelope env, SubmitCallback done);
  Result<std::string> QueryCase(
      const std::string& case_id, milliseconds timeout,
      std::function<std::string(uint64_t)> admin_frame);
  const ClientStats& stats() const { return stats_; }
  const std::string& participant() const { return opts_.identity.participant; }
  LocalStore* store() const { return store_.get(); }

 private:
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

  struct Pending {
    std::string frame;  // the Submit or CaseStatusQuery frame
    SubmitCallback submit_done;
    std::function<void(Result<std::string>)> query_done;
    Clock::time_point next_send;
    int retries = 0;
    bool sent_once = false;
    uint64_t outbox_key = 0;
  };
  struct Incoming {
    uint64_t generation;
    uint64_t sequence;
    uint32_t attempt;
    std::string envelope;
    bool replayed = false;
  };

  void Post(Command c);
  void PostAll(std::vector<Command> cs);
  // Keeps queued submits in the durable outbox (one sync for all that
  // queued meanwhile), then hands them to the I/O thread.
  void KeeperLoop();
  Status RestoreOutbox();
  // The broker answered the submit kept under `key`.
  void Answered(uint64_t key);
  void IoLoop();
  void ConnectSocket();
  void OnMonitorEvent();
  // Says once that the broker cannot be reached, after kUnreachableAfter
  // without a connection.
  void CheckReachable();
  void OnFrame(const zmq::message_t& msg);
  void RunCommands();
  void SendDue(bool all);
  void SayHello();
  bool SendFrame(std::string_view frame);
  void FailAll(const Status& st);
  void HandlerLoop();
  // Verifies and hands one delivery to the handler; the ack to send once
  // `records` are durable, or nullopt to stop the batch here.
  std::optional<AckCmd> HandleOne(const Incoming& in,
                                  std::set<std::string>* in_batch,
                                  std::vector<LocalStore::Entry>* records,
                                  Effects* effects);
  // Completes `records` (ClientOptions::complete_hand_offs), retrying with
  // backoff; then forgets `keys`. False if it stopped first.
  bool CompleteHandOffs(const std::vector<std::string>& records,
                        const std::vector<uint64_t>& keys);
  // Completes the hand-offs an earlier run left recorded.
  bool CompleteRestoredHandOffs();
  void Prune();

  ClientOptions opts_;
  DeliveryHandler handler_;
  std::unique_ptr<LocalStore> store_;
  bool outbox_ = false;  // submits go through the durable outbox
  ClientStats stats_;
  zmq::context_t ctx_;
  std::unique_ptr<zmq::socket_t> dealer_;
  std::unique_ptr<zmq::socket_t> monitor_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};

  std::mutex cmd_mu_;
  std::deque<Command> commands_;  // guarded by cmd_mu_

  std::mutex conn_mu_;
  std::condition_variable conn_cv_;
  std::atomic<bool> welcomed_{false};
  std::atomic<uint64_t> generation_{0};

  // I/O thread only.
  std::map<uint64_t, Pending> pending_;  // by request id
  uint64_t next_request_id_ = 1;
  bool handshaken_ = false;
  // When to (re)send Hello on this connection; max() once welcomed.
  Clock::time_point hello_due_ = Clock::time_point::max();
  Clock::time_point last_sent_;
  bool auth_warned_ = false;
  // The broker refused our CURVE key on the last handshake (conn_mu_).
  bool auth_refused_ = false;
  // Since when there is no connection (start, or the last disconnection),
  // and whether that was said.
  Clock::time_point down_since_ = Clock::now();
  bool unreachable_said_ = false;

  std::mutex del_mu_;
  std::condition_variable del_cv_;
  std::deque<Incoming> deliveries_;  // guarded by del_mu_

  std::mutex keep_mu_;
  std::condition_variable keep_cv_;
  std::vector<SubmitCmd> to_keep_;  // guarded by keep_mu_

  Clock::time_point last_prune_{};  // handler thread only

  std::thread io_thread_;
  std::thread handler_thread_;
  std::thread keeper_thread_;
};

Status Client::Impl::Init() {
  if (opts_.endpoint.empty() || opts_.broker_public_key.size() != 40) {
    return Status::InvalidArgument(
        "client needs an endpoint and the broker's "
        "40-character CURVE public key");
  }
  const bool receiving = handler_ && opts_.window > 0;
  if (receiving && opts_.state_dir.empty()) {
    return Status::InvalidArgument("a receiving client needs a state_dir");
  }
  if (!receiving) opts_.window = 0;
  if (!opts_.state_dir.empty()) {
    RELAIS_ASSIGN_OR_RETURN(
        store_, LocalStore::Open(opts_.state_dir,
                                 {.retention = opts_.processed_retention}));
    outbox_ = opts_.durable_outbox;
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::IOError("eventfd failed");
  try {
    ConnectSocket();
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(std::string("cannot connect to ") +
                                   opts_.endpoint + ": " + e.what());
  }
  if (outbox_) RELAIS_RETURN_IF_ERROR(RestoreOutbox());
  io_thread_ = std::thread([this] { IoLoop(); });
  if (opts_.window > 0)
    handler_thread_ = std::thread([this] { HandlerLoop(); });
  if (outbox_) keeper_thread_ = std::thread([this] { KeeperLoop(); });
  return Status::OK();
}

Status Client::Impl::RestoreOutbox() {
  RELAIS_ASSIGN_OR_RETURN(std::vector<LocalStore::Kept> kept, store_->Outbox());
  if (kept.empty()) return Status::OK();
  spdlog::info("{}: submitting again {} unanswered submits from the outbox",
               participant(), kept.size());
  std::vector<Command> cmds;
  for (auto& k : kept) {
    std::string id = PeekMessageId(k.envelope);
    SubmitCallback done = [this, id](Result<Receipt> r) {
      if (opts_.restored_done) {
        opts_.restored_done(id, std::move(r));
      } else if (!r.ok()) {
        spdlog::warn("{}: a submit restored from the outbox was refused: {}",
                     participant(), r.status().ToString());
      }
    };
    // Only its bytes are sent again: the header hash is not needed.
    cmds.push_back(SubmitCmd{
        {std::move(id), std::move(k.envelope), {}}, std::move(done), k.key});
  }
  stats_.outbox_restored.fetch_add(kept.size());
  std::lock_guard<std::mutex> lock(cmd_mu_);
  for (auto& c : cmds) commands_.push_back(std::move(c));
  return Status::OK();
}

void Client::Impl::KeeperLoop() {
  for (;;) {
    std::vector<SubmitCmd> batch;
    {
      std::unique_lock<std::mutex> lock(keep_mu_);
      keep_cv_.wait(lock,
                    [this] { return stopping_.load() || !to_keep_.empty(); });
      batch.swap(to_keep_);
    }
    if (batch.empty()) return;  // stopping
    std::vector<std::string_view> envelopes;
    for (const auto& c : batch) envelopes.push_back(c.envelope.bytes);
    auto keys = store_->Keep(envelopes);
    CrashPoint("client.kept");
    if (!keys.ok()) {
      spdlog::error("{}: {}", participant(), keys.status().ToString());
      for (auto& c : batch) c.done(keys.status());
      continue;
    }
    std::vector<Command> cmds;
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].outbox_key = (*keys)[i];
      cmds.push_back(std::move(batch[i]));
    }
    PostAll(std::move(cmds));
  }
}

void Client::Impl::Answered(uint64_t key) {
  if (key == 0) return;
  Status st = store_->Forget(key);
  if (!st.ok()) spdlog::warn("{}: {}", participant(), st.ToString());
}

void Client::Impl::ConnectSocket() {
  dealer_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
  auto& s = *dealer_;
  s.set(zmq::sockopt::curve_serverkey, opts_.broker_public_key);
  s.set(zmq::sockopt::curve_publickey, opts_.identity.curve.public_z85);
  s.set(zmq::sockopt::curve_secretkey, opts_.identity.curve.secret_z85);
  s.set(zmq::sockopt::immediate, 1);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, 10000);
  s.set(zmq::sockopt::rcvhwm, 10000);
  s.set(zmq::sockopt::reconnect_ivl,
        static_cast<int>(opts_.reconnect_min.count()));
  s.set(zmq::sockopt::reconnect_ivl_max,
        static_cast<int>(opts_.reconnect_max.count()));
  s.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(opts_.heartbeat.count()));
  s.set(zmq::sockopt::heartbeat_timeout,
        static_cast<int>(opts_.heartbeat.count() * 3));
  const std::string mon = "inproc://relais-client-monitor-" +
                          std::to_string(reinterpret_cast<uintptr_t>(this));
  if (zmq_socket_monitor(s.handle(), mon.c_str(), kMonitorEvents) != 0) {
    throw zmq::error_t();
  }
  monitor_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
  monitor_->connect(mon);
  s.connect(opts_.endpoint);
}

void Client::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  const uint64_t one = 1;
  if (wake_fd_ >= 0) [[maybe_unused]]
    ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  del_cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(keep_mu_);  // no lost wake-up
  }
  keep_cv_.notify_all();
  if (keeper_thread_.joinable()) keeper_thread_.join();
  {
    // Never kept: their callers hear it (kept ones stay for the next run).
    std::lock_guard<std::mutex> lock(keep_mu_);
    for (auto& c : to_keep_) {
      c.done(
          Status::Rejected(wire::RejectCode::ShuttingDown, "client stopped"));
    }
    to_keep_.clear();
  }
  if (handler_thread_.joinable()) handler_thread_.join();
  if (io_thread_.joinable()) io_thread_.join();
  monitor_.reset();
  dealer_.reset();
  ctx_.shutdown();
  ctx_.close();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
}

Status Client::Impl::WaitConnected(milliseconds timeout) {
  std::unique_lock<std::mutex> lock(conn_mu_);
  if (conn_cv_.wait_for(lock, timeout,
                        [this] { return welcomed_.load() || auth_refused_; })) {
    if (welcomed_.load()) return Status::OK();
    return Status::Rejected(
        wire::RejectCode::NotAuthorised,
        "relaisd at " + opts_.endpoint + " refused the CURVE key of " +
            participant() +
            " (is it registered in relaisd.toml with this public key?)");
  }
  return Status::Timeout("not connected to " + opts_.endpoint + " after " +
                         std::to_string(timeout.count()) + " ms");
}

Result<SealedEnvelope> Client::Impl::Seal(EnvelopeDraft d, milliseconds ttl) {
  d.sender = opts_.identity.participant;
  if (d.created_at_ms == 0) d.created_at_ms = relais::Clock::System()->NowMs();
  if (d.expires_at_ms == 0) d.expires_at_ms = d.created_at_ms + ttl.count();
  return SealEnvelope(d, opts_.identity.signing);
}

void Client::Impl::SubmitAsync(SealedEnvelope env, SubmitCallback done) {
  if (stopping_.load()) {
    done(
        Status::Rejected(wire::RejectCode::ShuttingDown, "client is stopping"));
    return;
  }
  if (outbox_) {
    {
      std::lock_guard<std::mutex> lock(keep_mu_);
      to_keep_.push_back(SubmitCmd{std::move(env), std::move(done)});
    }
    keep_cv_.notify_one();
    return;
  }
  Post(SubmitCmd{std::move(env), std::move(done)});
}

Result<std::string> Client::Impl::QueryCase(
    const std::string& case_id, milliseconds timeout,
    std::function<std::string(uint64_t)> admin_frame) {
  auto promise = std::make_shared<std::promise<Result<std::string>>>();
  auto future = promise->get_future();
  Post(QueryCmd{
      case_id,
      [promise](Result<std::string> r) { promise->set_value(std::move(r)); },
      std::move(admin_frame)});
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Status::Timeout("no answer to the case status query");
  }
  return future.get();
}

void Client::Impl::Post(Command c) {
  std::vector<Command> one;
  one.push_back(std::move(c));
  PostAll(std::move(one));
}

void Client::Impl::PostAll(std::vector<Command> cs) {
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    for (auto& c : cs) commands_.push_back(std::move(c));
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

bool Client::Impl::SendFrame(std::string_view frame) {
  try {
    if (!dealer_->send(zmq::buffer(frame), zmq::send_flags::dontwait))
      return false;
    last_sent_ = Clock::now();
    return true;
  } catch (const zmq::error_t& e) {
    spdlog::debug("send failed: {}", e.what());
    return false;
  }
}

void Client::Impl::IoLoop() {
  last_sent_ = Clock::now();
  while (!stopping_.load()) {
    zmq::pollitem_t items[] = {{dealer_->handle(), 0, ZMQ_POLLIN, 0},
                               {monitor_->handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 3, milliseconds(50));
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) break;
      continue;
    }
    if (items[1].revents & ZMQ_POLLIN) OnMonitorEvent();
    if (items[2].revents & ZMQ_POLLIN) {
      uint64_t n;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &n, sizeof(n));
    }
    SayHello();
    RunCommands();
    for (int i = 0; i < 1024; ++i) {
      zmq::message_t msg;
      if (!dealer_->recv(msg, zmq::recv_flags::dontwait)) break;
      OnFrame(msg);
    }
    SendDue(false);
    CheckReachable();
    if (handshaken_ && Clock::now() - last_sent_ > opts_.heartbeat) {
      SendFrame(HeartbeatFrame(0, relais::Clock::System()->NowMs()));
    }
  }
  FailAll(Status::Rejected(wire::RejectCode::ShuttingDown, "client stopped"));
}

void Client::Impl::OnMonitorEvent() {
  zmq::message_t head, endpoint;
  if (!monitor_->recv(head, zmq::recv_flags::dontwait)) return;
  if (head.more() && !monitor_->recv(endpoint, zmq::recv_flags::none)) return;
  if (head.size() < 6) return;
  uint16_t event;
  std::memcpy(&event, head.data(), sizeof(event));
  switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: {
      handshaken_ = true;
      auth_warned_ = false;
      {
        std::lock_guard<std::mutex> lock(conn_mu_);
        auth_refused_ = false;
      }
      generation_.fetch_add(1);
      stats_.connects.fetch_add(1);
      if (unreachable_said_) {
        const auto down = std::chrono::duration_cast<std::chrono::seconds>(
            Clock::now() - down_since_);
        spdlog::info("{}: connected to {} again, after {} s unreachable",
                     participant(), opts_.endpoint, down.count());
      } else {
        spdlog::info("{}: connected to {}", participant(), opts_.endpoint);
      }
      unreachable_said_ = false;
      hello_due_ = Clock::now();  // the loop says Hello, then resends
      break;
    }
    case ZMQ_EVENT_DISCONNECTED:
      if (handshaken_) {
        spdlog::warn("{}: disconnected from {}; reconnecting", participant(),
                     opts_.endpoint);
        down_since_ = Clock::now();
      }
      handshaken_ = false;
      welcomed_.store(false);
      hello_due_ = Clock::time_point::max();
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      stats_.auth_failures.fetch_add(1);
      {
        std::lock_guard<std::mutex> lock(conn_mu_);
        auth_refused_ = true;
      }
      conn_cv_.notify_all();
      if (!auth_warned_) {
        spdlog::error("{}: the broker refused our CURVE key (not registered?)",
                      participant());
        auth_warned_ = true;
      }
      break;
    default:
      spdlog::debug("{}: handshake with {} failed (event {})", participant(),
                    opts_.endpoint, event);
  }
}

void Client::Impl::CheckReachable() {
  if (handshaken_ || unreachable_said_ || auth_warned_ ||
      Clock::now() - down_since_ < kUnreachableAfter) {
    return;
  }
  unreachable_said_ = true;
  spdlog::warn(
      "{}: relaisd is unreachable at {} (no connection for {} s); trying "
      "again every {} ms at most, and saying so once it is back",
      participant(), opts_.endpoint,
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() -
                                                       down_since_)
          .count(),
      opts_.reconnect_max.count());
}

// Hello goes first on each connection, then everything unanswered, in
// request order. Without a Welcome it is said again every 2 s.
void Client::Impl::SayHello() {
  const auto now = Clock::now();
  if (!handshaken_ || welcomed_.load() || now < hello_due_) return;
  if (!SendFrame(HelloFrame(0, participant(), opts_.window, opts_.software))) {
    hello_due_ = now + milliseconds(20);
    return;
  }
  hello_due_ = now + milliseconds(2000);
  SendDue(true);
}

void Client::Impl::RunCommands() {
  std::deque<Command> cmds;
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    cmds.swap(commands_);
  }
  const auto now = Clock::now();
  for (auto& c : cmds) {
    if (auto* s = std::get_if<SubmitCmd>(&c)) {
      const uint64_t req = next_request_id_++;
      Pending p;
      p.frame = SubmitFrame(req, s->envelope.bytes);
      p.submit_done = std::move(s->done);
      p.next_send = now;
      p.outbox_key = s->outbox_key;
      pending_.emplace(req, std::move(p));
    } else if (auto* q = std::get_if<QueryCmd>(&c)) {
      const uint64_t req = next_request_id_++;
      Pending p;
      p.frame = q->admin_frame ? q->admin_frame(req)
                               : CaseStatusQueryFrame(req, q->case_id);
      p.query_done = std::move(q->done);
      p.next_send = now;
      pending_.emplace(req, std::move(p));
    } else {
      auto& a = std::get<AckCmd>(c);
      // An ack for an earlier connection is dropped: the broker sends the
      // delivery again on this one and the processed store acks it.
      if (a.generation == generation_.load() && handshaken_) {
        SendFrame(DeliveryAckFrame(0, a.sequence, a.message_id, a.outcome,
                                   CleanText(a.reason, kMaxReasonBytes)));
      }
    }
  }
}

void Client::Impl::SendDue(bool all) {
  if (!handshaken_) return;
  const auto now = Clock::now();
  for (auto& [req, p] : pending_) {
    if (!all && p.next_send > now) continue;
    if (!SendFrame(p.frame)) {
      p.next_send = now + milliseconds(100);
      continue;
    }
    if (p.submit_done) {
      stats_.submits_sent.fetch_add(1);
      if (p.sent_once) stats_.resends.fetch_add(1);
    }
    p.sent_once = true;
    p.next_send = now + opts_.resend_after;
  }
}

void Client::Impl::OnFrame(const zmq::message_t& msg) {
  auto parsed = ParseFrame(msg.to_string_view());
  if (!parsed.ok()) {
    spdlog::warn("{}: ignored a malformed frame from the broker",
                 participant());
    return;
  }
  const wire::Frame& f = **parsed;
  const uint64_t req = f.request_id();
  switch (f.body_type()) {
    case wire::Body::Welcome: {
      {
        std::lock_guard<std::mutex> lock(conn_mu_);
        welcomed_.store(true);
      }
      conn_cv_.notify_all();
      return;
    }
    case wire::Body::Accepted: {
      auto it = pending_.find(req);
      if (it == pending_.end() || !it->second.submit_done) return;  // late echo
      const auto* a = f.body_as_Accepted();
      Receipt r{std::string(VectorBytes(a->message_id())), a->sequence(),
                a->accepted_at_ms(), a->duplicate()};
      auto done = std::move(it->second.submit_done);
      Answered(it->second.outbox_key);
      pending_.erase(it);
      stats_.accepted.fetch_add(1);
      done(std::move(r));
      return;
    }
    case wire::Body::Rejected: {
      const auto* r = f.body_as_Rejected();
      const Status st =
          Status::Rejected(r->code(), std::string(StringView(r->reason())));
      auto it = pending_.find(req);
      if (req == 0 || it == pending_.end()) {
        spdlog::debug("{}: broker: {}", participant(), st.ToString());
        return;
      }
      if (IsRetryable(r->code()) && it->second.submit_done) {
        it->second.next_send = Clock::now() + Backoff(++it->second.retries);
        return;
      }
      Pending p = std::move(it->second);
      pending_.erase(it);
      if (p.submit_done) {
        stats_.rejected.fetch_add(1);
        Answered(p.outbox_key);
        p.submit_done(st);
      } else if (p.query_done) {
        p.query_done(st);
      }
      return;
    }
    case wire::Body::StatusRecorded:
    case wire::Body::SubjectsRegistered:
    case wire::Body::RouteReply:
    case wire::Body::AdminReply: {
      auto it = pending_.find(req);
      if (it == pending_.end() || !it->second.query_done) return;
      auto done = std::move(it->second.query_done);
      pending_.erase(it);
      done(std::string(static_cast<const char*>(msg.data()), msg.size()));
      return;
    }
    case wire::Body::CaseStatusReply: {
      auto it = pending_.find(req);
      if (it == pending_.end() || !it->second.query_done) return;
      const std::string_view state =
          VectorBytes(f.body_as_CaseStatusReply()->state());
      auto done = std::move(it->second.query_done);
      pending_.erase(it);
      if (ParseCaseState(state) == nullptr) {
        done(Status::Corruption("the broker sent an invalid CaseState"));
      } else {
        done(std::string(state));
      }
      return;
    }
    case wire::Body::Deliver: {
      if (opts_.window == 0) return;
      const auto* d = f.body_as_Deliver();
      stats_.deliveries.fetch_add(1);
      {
        std::lock_guard<std::mutex> lock(del_mu_);
        deliveries_.push_back(
            Incoming{generation_.load(), d->sequence(), d->attempt(),
                     std::string(VectorBytes(d->envelope())), d->replayed()});
      }
      del_cv_.notify_one();
      return;
    }
    default:
      return;  // Heartbeat and anything newer: nothing to do
  }
}

void Client::Impl::FailAll(const Status& st) {
  for (auto& [req, p] : pending_) {
    if (p.submit_done) p.submit_done(st);
    if (p.query_done) p.query_done(st);
  }
  pending_.clear();
}

// Handles what is queued, in order, then records every processed id with
// one synced write and only then acknowledges them (group commit: one sync
// per batch, never an ack before its sync).
void Client::Impl::HandlerLoop() {
  constexpr size_t kMaxBatch = 256;
  if (!CompleteRestoredHandOffs()) return;
  if (opts_.before_first_delivery) opts_.before_first_delivery();
  for (;;) {
    std::vector<Incoming> batch;
    {
      std::unique_lock<std::mutex> lock(del_mu_);
      del_cv_.wait_for(lock, std::chrono::seconds(60), [this] {
        return stopping_.load() || !deliveries_.empty();
      });
      if (stopping_.load()) return;
      if (Clock::now() - last_prune_ > kPruneEvery) {
        lock.unlock();
        Prune();
        continue;
      }
      while (!deliveries_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(deliveries_.front()));
        deliveries_.pop_front();
      }
    }
    std::vector<AckCmd> acks;
    std::vector<LocalStore::Entry> records;
    std::set<std::string> in_batch;
    Effects effects = store_->NewEffects();
    for (const Incoming& in : batch) {
      // Sent on an earlier connection: it comes again on the current one.
      if (in.generation != generation_.load()) continue;
      auto ack = HandleOne(in, &in_batch, &records, &effects);
      if (!ack) break;  // store unreadable or stopping: no acks past here
      acks.push_back(std::move(*ack));
    }
    CrashPoint("client.handled");
    std::vector<uint64_t> keys;
    Status st = store_->Commit(records, effects,
                               relais::Clock::System()->NowMs(), &keys);
    if (!st.ok()) {
      spdlog::error("{}: {}", participant(), st.ToString());
      continue;  // not acked: redelivered later, and handled again
    }
    CrashPoint("client.committed");
    std::vector<std::string> hand_offs;
    for (const auto& r : records) {
      if (!r.hand_off.empty()) hand_offs.push_back(r.hand_off);
    }
    // Recorded: completed now, or by the next Start if this one dies.
    if (!CompleteHandOffs(hand_offs, keys)) return;
    CrashPoint("client.handed_over");
    std::vector<Command> cmds;
    for (auto& a : acks) cmds.push_back(std::move(a));
    PostAll(std::move(cmds));
  }
}

bool Client::Impl::CompleteHandOffs(const std::vector<std::string>& records,
                                    const std::vector<uint64_t>& keys) {
  if (records.empty()) return true;
  for (int attempt = 0;; ++attempt) {
    Status st = opts_.complete_hand_offs
                    ? opts_.complete_hand_offs(records)
                    : Status::InvalidArgument(
                          "the handler returned HandOff but the client has no "
                          "complete_hand_offs");
    if (st.ok()) break;
    spdlog::error("{}: {} hand-off(s) not completed yet, will try again: {}",
                  participant(), records.size(), st.ToString());
    std::unique_lock<std::mutex> lock(del_mu_);
    if (del_cv_.wait_for(lock, Backoff(attempt),
                         [this] { return stopping_.load(); })) {
      return false;
    }
  }
  stats_.hand_offs_completed.fetch_add(records.size());
  Status st = store_->ForgetHandOffs(keys);
  if (!st.ok()) spdlog::warn("{}: {}", participant(), st.ToString());
  return true;
}

bool Client::Impl::CompleteRestoredHandOffs() {
  for (int attempt = 0;; ++attempt) {
    auto restored = store_->HandOffs();
    if (restored.ok()) {
      if (restored->empty()) return true;
      std::vector<std::string> records;
      std::vector<uint64_t> keys;
      for (auto& h : *restored) {
        records.push_back(std::move(h.record));
        keys.push_back(h.key);
      }
      spdlog::info("{}: completing {} hand-off(s) recorded before a restart",
                   participant(), records.size());
      if (!CompleteHandOffs(records, keys)) return false;
      stats_.hand_offs_restored.fetch_add(records.size());
      return true;
    }
    spdlog::error("{}: {}", participant(), restored.status().ToString());
    std::unique_lock<std::mutex> lock(del_mu_);
    if (del_cv_.wait_for(lock, Backoff(attempt),
                         [this] { return stopping_.load(); })) {
      return false;
    }
  }
}

void Client::Impl::Prune() {
  last_prune_ = Clock::now();
  auto pruned = store_->Prune(relais::Clock::System()->NowMs());
  if (!pruned.ok()) {
    spdlog::warn("{}: {}", participant(), pruned.status().ToString());
  } else if (*pruned > 0) {
    stats_.processed_pruned.fetch_add(*pruned);
    spdlog::info("{}: forgot {} processed ids older than {} h", participant(),
                 *pruned, opts_.processed_retention.count());
  }
}

std::optional<Client::Impl::AckCmd> Client::Impl::HandleOne(
    const Incoming& in, std::set<std::string>* in_batch,
    std::vector<LocalStore::Entry>* records, Effects* effects) {
  const int64_t now = relais::Clock::System()->NowMs();
  // An operator's replay is handled even past the message's expiry.
  auto opened = OpenEnvelope(in.envelope, opts_.peers, now, opts_.time_policy,
                             /*check_expiry=*/!in.replayed);
  AckCmd ack{in.generation, in.sequence, {}, wire::AckOutcome::Processed, {}};
  if (!opened.ok()) {
    // Not recorded as processed: a forged copy must not shadow the real one.
    ack.message_id = PeekMessageId(in.envelope);
    ack.outcome = wire::AckOutcome::Rejected;
    ack.reason = opened.status().ToString();
    stats_.deliveries_rejected.fetch_add(1);
    spdlog::warn("{}: refused delivery of message {} (sequence {}): {}",
                 participant(), HexEncode(ack.message_id), in.sequence,
                 ack.reason);
    return ack;
  }
  ack.message_id = std::string(opened->message_id);
  LocalStore::Outcome prior = LocalStore::Outcome::kProcessed;
  bool seen = in_batch->count(ack.message_id) > 0;
  if (!seen) {
    auto stored = store_->Contains(ack.message_id, &prior);
    if (!stored.ok()) {
      spdlog::error("{}: {}", participant(), stored.status().ToString());
      return std::nullopt;
    }
    seen = *stored;
  }
  if (seen) {
    stats_.redeliveries_suppressed.fetch_add(1);
    if (prior == LocalStore::Outcome::kRejected)
      ack.outcome = wire::AckOutcome::Rejected;
    return ack;
  }
  HandlerResult r;
  Effects stage = effects->Stage();
  Delivery d{in.sequence, in.attempt, &*opened, in.replayed, &stage};
  for (int attempt = 0; !stopping_.load(); ++attempt) {
    r = handler_(d);
    if (r.kind != HandlerResult::Kind::kRetry) break;
    stage = effects->Stage();  // a retry starts from what was committed
    spdlog::warn("{}: handler will retry message {}: {}", participant(),
                 in.sequence, r.reason);
    std::unique_lock<std::mutex> lock(del_mu_);
    del_cv_.wait_for(lock, Backoff(attempt),
                     [this] { return stopping_.load(); });
  }
  if (r.kind == HandlerResult::Kind::kRetry) return std::nullopt;  // stopping
  const bool rejected = r.kind == HandlerResult::Kind::kRejected;
  ack.outcome =
      rejected ? wire::AckOutcome::Rejected : wire::AckOutcome::Processed;
  ack.reason = r.reason;
  records->push_back({ack.message_id,
                      rejected ? LocalStore::Outcome::kRejected
                               : LocalStore::Outcome::kProcessed,
                      rejected ? std::string() : std::move(r.hand_off)});
  effects->Absorb(std::move(stage));
  in_batch->insert(ack.message_id);
  stats_.handled.fetch_add(1);
  if (rejected) {
    stats_.deliveries_rejected.fetch_add(1);
    spdlog::warn("{}: refused delivery of message {} (sequence {}): {}",
                 participant(), HexEncode(ack.message_id), in.sequence,
                 ack.reason);
  }
  return ack;
}

// --- Client ---------------------------------------------------------------

const wire::StatusReport* AsStatusReport(const EnvelopeView& envelope) {
  if (envelope.header->payload_encoding() !=
      wire::PayloadEncoding::StatusReport) {
    return nullptr;
  }
  return VerifiedRoot<wire::StatusReport>(envelope.payload,
                                          kStatusReportIdentifier);
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Start(ClientOptions options,
                                              DeliveryHandler handler) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  RELAIS_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Status Client::WaitConnected(milliseconds timeout) {
  return impl_->WaitConnected(timeout);
}
bool Client::connected() const { return impl_->connected(); }

Result<SealedEnvelope> Client::Seal(EnvelopeDraft draft, milliseconds ttl) {
  return impl_->Seal(std::move(draft), ttl);
}

void Client::SubmitAsync(SealedEnvelope envelope, SubmitCallback done) {
  impl_->SubmitAsync(std::move(envelope), std::move(done));
}

Result<Receipt> Client::Submit(SealedEnvelope envelope, milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<Receipt>>>();
  auto future = promise->get_future();
  impl_->SubmitAsync(std::move(envelope), [promise](Result<Receipt> r) {
    promise->set_value(std::move(r));
  });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Status::Timeout("no receipt from the broker within " +
                           std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

Result<std::string> Client::QueryCase(const std::string& case_id,
                                      milliseconds timeout) {
  return impl_->QueryCase(case_id, timeout, nullptr);
}

void Client::Stop() { impl_->Stop(); }

Result<std::optional<std::string>> Client::ReadEffect(const std::string& key) {
  if (impl_->store() == nullptr) {
    return Status::InvalidArgument("this client has no local store");
  }
  return impl_->store()->GetEffect(key);
}

Result<size_t> Client::OutboxSize() {
  if (impl_->store() == nullptr) return size_t{0};
  RELAIS_ASSIGN_OR_RETURN(auto kept, impl_->store()->Outbox());
  return kept.size();
}
const ClientStats& Client::stats() const { return impl_->stats(); }
const std::string& Client::participant() const { return impl_->participant(); }

Result<StatusRecord> Client::ReportStatus(const std::string& message_id,
                                          wire::RecipientState state,
                                          const std::string& reason,
                                          milliseconds timeout) {
  RELAIS_ASSIGN_OR_RETURN(
      std::string reply, impl_->QueryCase({}, timeout, [&](uint64_t req) {
        return StatusUpdateFrame(req, message_id, state,
                                 CleanText(reason, kMaxReasonBytes));
      }));
  auto f = ParseFrame(reply);
  const wire::StatusRecorded* r =
      f.ok() ? (*f)->body_as_StatusRecorded() : nullptr;
  if (r == nullptr) {
    return Status::Corruption("the broker's answer is not a StatusRecorded");
  }
  return StatusRecord{r->state(), r->changed(), r->recorded_at_ms()};
}

Result<uint32_t> Client::RegisterSubjects(const std::vector<std::string>& refs,
                                          bool unregister,
                                          milliseconds timeout) {
  std::string joined;
  for (const auto& r : refs) joined += r;
  RELAIS_ASSIGN_OR_RETURN(
      std::string reply, impl_->QueryCase({}, timeout, [&](uint64_t req) {
        return SubjectRegistrationFrame(req, joined, unregister);
      }));
  auto f = ParseFrame(reply);
  const wire::SubjectsRegistered* r =
      f.ok() ? (*f)->body_as_SubjectsRegistered() : nullptr;
  if (r == nullptr) {
    return Status::Corruption(
        "the broker's answer is not a SubjectsRegistered");
  }
  return r->changed();
}

Result<std::vector<std::string>> Client::Route(wire::CaseType case_type,
                                               const std::string& subject_ref,
                                               milliseconds timeout) {
  RELAIS_ASSIGN_OR_RETURN(std::string reply,
                          impl_->QueryCase({}, timeout, [&](uint64_t req) {
                            return RouteQueryFrame(req, case_type, subject_ref);
                          }));
  auto f = ParseFrame(reply);
  const wire::RouteReply* r = f.ok() ? (*f)->body_as_RouteReply() : nullptr;
  if (r == nullptr) {
    return Status::Corruption("the broker's answer is not a RouteReply");
  }
  std::vector<std::string> out;
  if (r->recipients()) {
    for (const auto* s : *r->recipients()) out.push_back(s->str());
  }
  return out;
}

Result<std::string> Client::Admin(wire::AdminOp op,
                                  const std::string& recipient,
                                  uint64_t sequence, uint32_t limit,
                                  milliseconds timeout) {
  return impl_->QueryCase({}, timeout, [=](uint64_t req) {
    return AdminRequestFrame(req, op, recipient, sequence, limit);
  });
}

}  // namespace relais::sdk
