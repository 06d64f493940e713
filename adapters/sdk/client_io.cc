// Client::Impl's I/O thread (client_impl.h): the DEALER and its monitor,
// reachability, Hello, the commands other threads post, sending and
// resending requests with backoff, and the broker's frames: answers matched
// to pending requests, deliveries queued for the handler thread. The only
// file of the SDK that includes ZeroMQ (cmake/layers.txt).

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <zmq.hpp>

#include "adapters/sdk/client_impl.h"
#include "core/clock.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais::sdk {
namespace {

constexpr int kMonitorEvents =
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

// Without a connection for this long, the broker is said to be unreachable
// (once, until it is back): a restart of relaisd is only a disconnection.
constexpr auto kUnreachableAfter = std::chrono::seconds(2);

int64_t SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace

// --- The socket --------------------------------------------------------------

struct Client::Impl::Socket {
  zmq::context_t ctx;
  zmq::socket_t dealer{ctx, zmq::socket_type::dealer};
  zmq::socket_t monitor{ctx, zmq::socket_type::pair};
  ~Socket() {
    monitor.close();
    dealer.close();
    ctx.shutdown();
    ctx.close();
  }
};

void Client::Impl::SocketDeleter::operator()(Socket* s) const { delete s; }

Status Client::Impl::ConnectSocket() {
  try {
    socket_.reset(new Socket);
    auto& s = socket_->dealer;
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
    s.set(zmq::sockopt::heartbeat_ivl,
          static_cast<int>(opts_.heartbeat.count()));
    s.set(zmq::sockopt::heartbeat_timeout,
          static_cast<int>(opts_.heartbeat.count() * 3));
    const std::string mon = "inproc://relais-client-monitor-" +
                            std::to_string(reinterpret_cast<uintptr_t>(this));
    if (zmq_socket_monitor(s.handle(), mon.c_str(), kMonitorEvents) != 0) {
      throw zmq::error_t();
    }
    socket_->monitor.connect(mon);
    s.connect(opts_.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(std::string("cannot connect to ") +
                                   opts_.endpoint + ": " + e.what());
  }
  return Status::OK();
}

void Client::Impl::CloseSocket() { socket_.reset(); }

// --- Commands: what other threads hand to the I/O thread ---------------------

void Client::Impl::Post(Command c) {
  std::vector<Command> one;
  one.push_back(std::move(c));
  PostAll(std::move(one));
}

void Client::Impl::PostAll(std::vector<Command> cs) {
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    if (!io_stopped_) {
      for (auto& c : cs) commands_.push_back(std::move(c));
      cs.clear();
    }
  }
  if (cs.empty()) {
    Wake();
    return;
  }
  // The I/O thread has stopped: nothing posted now would be answered.
  const Status st =
      Status::Rejected(wire::RejectCode::ShuttingDown, "client stopped");
  for (auto& c : cs) FailCommand(&c, st);
}

void Client::Impl::FailCommand(Command* c, const Status& st) {
  if (auto* s = std::get_if<SubmitCmd>(c)) s->done(st);
  if (auto* q = std::get_if<QueryCmd>(c)) q->done(st);
}

void Client::Impl::Wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
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

// Submits and queries become pending requests (sent by SendDue); acks are
// sent at once.
void Client::Impl::RunCommands() {
  std::deque<Command> cmds;
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    cmds.swap(commands_);
  }
  const auto now = Clock::now();
  std::vector<std::string> acks;
  for (auto& c : cmds) {
    if (const auto* a = std::get_if<AckCmd>(&c)) {
      // An ack for an earlier connection is dropped: the broker sends the
      // delivery again on this one and the processed store acks it.
      if (a->generation == generation_.load() && handshaken_) {
        acks.push_back(DeliveryAckFrame(0, a->sequence, a->message_id,
                                        a->outcome,
                                        CleanText(a->reason, kMaxReasonBytes)));
      }
      continue;
    }
    const uint64_t req = next_request_id_++;
    Pending p;
    p.next_send = now;
    if (auto* s = std::get_if<SubmitCmd>(&c)) {
      p.frame = SubmitFrame(req, s->envelope.bytes);
      p.envelope_bytes = s->envelope.bytes.size();
      p.submit_done = std::move(s->done);
      p.outbox_key = s->outbox_key;
    } else {
      auto& q = std::get<QueryCmd>(c);
      p.frame = q.admin_frame ? q.admin_frame(req)
                              : CaseStatusQueryFrame(req, q.case_id);
      p.query_done = std::move(q.done);
    }
    pending_.emplace(req, std::move(p));
  }
  SendFrames({acks.begin(), acks.end()});
}

// --- The loop ----------------------------------------------------------------

void Client::Impl::IoLoop() {
  last_sent_ = Clock::now();
  while (!stopping_.load()) {
    zmq::pollitem_t items[] = {{socket_->dealer.handle(), 0, ZMQ_POLLIN, 0},
                               {socket_->monitor.handle(), 0, ZMQ_POLLIN, 0},
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
      if (!socket_->dealer.recv(msg, zmq::recv_flags::dontwait)) break;
      OnFrame(msg.to_string_view());
    }
    SendDue(false);
    CheckReachable();
    stats_.awaiting_answer.store(pending_.size(), std::memory_order_relaxed);
    if (handshaken_ && Clock::now() - last_sent_ > opts_.heartbeat) {
      SendFrame(HeartbeatFrame(0, relais::Clock::System()->NowMs()));
    }
  }
  FailAll(Status::Rejected(wire::RejectCode::ShuttingDown, "client stopped"));
}

std::vector<bool> Client::Impl::SendFrames(
    const std::vector<std::string_view>& frames) {
  std::vector<bool> sent(frames.size(), false);
  const size_t most = std::max<uint32_t>(1, bundle_frames_);
  size_t first = 0;
  while (first < frames.size()) {
    // frames[first, end) as one message: a bundle within the broker's
    // limits, or a frame alone.
    size_t end = first + 1;
    size_t bytes = frames[first].size();
    while (end < frames.size() && end - first < most &&
           bytes + frames[end].size() <= bundle_bytes_) {
      bytes += frames[end++].size();
    }
    const bool ok = end - first == 1
                        ? SendFrame(frames[first])
                        : SendFrame(BundleFrame(0, {frames.begin() + first,
                                                    frames.begin() + end}));
    for (size_t i = first; i < end; ++i) sent[i] = ok;
    first = end;
  }
  return sent;
}

bool Client::Impl::SendFrame(std::string_view frame) {
  try {
    if (!socket_->dealer.send(zmq::buffer(frame), zmq::send_flags::dontwait))
      return false;
    last_sent_ = Clock::now();
    return true;
  } catch (const zmq::error_t& e) {
    spdlog::debug("send failed: {}", e.what());
    return false;
  }
}

// --- Connection and reachability ---------------------------------------------

void Client::Impl::OnMonitorEvent() {
  zmq::message_t head, endpoint;
  auto& monitor = socket_->monitor;
  if (!monitor.recv(head, zmq::recv_flags::dontwait)) return;
  if (head.more() && !monitor.recv(endpoint, zmq::recv_flags::none)) return;
  if (head.size() < 6) return;
  uint16_t event;
  std::memcpy(&event, head.data(), sizeof(event));
  switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      OnConnected();
      break;
    case ZMQ_EVENT_DISCONNECTED:
      OnDisconnected();
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      OnAuthRefused();
      break;
    default:
      spdlog::debug("{}: handshake with {} failed (event {})", participant(),
                    opts_.endpoint, event);
  }
}

void Client::Impl::OnConnected() {
  handshaken_ = true;
  auth_warned_ = false;
  {
    std::lock_guard<std::mutex> lock(conn_mu_);
    auth_refused_ = false;
  }
  generation_.fetch_add(1);
  stats_.connects.fetch_add(1);
  if (unreachable_said_) {
    spdlog::info("{}: connected to {} again, after {} s unreachable",
                 participant(), opts_.endpoint, SecondsSince(down_since_));
  } else {
    spdlog::info("{}: connected to {}", participant(), opts_.endpoint);
  }
  unreachable_said_ = false;
  hello_due_ = Clock::now();  // the loop says Hello, then resends
}

void Client::Impl::OnDisconnected() {
  if (handshaken_) {
    spdlog::warn("{}: disconnected from {}; reconnecting", participant(),
                 opts_.endpoint);
    down_since_ = Clock::now();
  }
  handshaken_ = false;
  welcomed_.store(false);
  hello_due_ = Clock::time_point::max();
}

void Client::Impl::OnAuthRefused() {
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
      participant(), opts_.endpoint, SecondsSince(down_since_),
      opts_.reconnect_max.count());
}

// --- Sending -----------------------------------------------------------------

// Hello goes first on each connection, then everything unanswered, in
// request order. Without a Welcome it is said again every 2 s.
void Client::Impl::SayHello() {
  const auto now = Clock::now();
  if (!handshaken_ || welcomed_.load() || now < hello_due_) return;
  // Until this connection's Welcome says what the broker takes, each frame
  // goes alone.
  bundle_frames_ = 0;
  if (!SendFrame(HelloFrame(0, participant(), opts_.window, opts_.software,
                            /*bundles=*/true))) {
    hello_due_ = now + milliseconds(20);
    return;
  }
  hello_due_ = now + milliseconds(2000);
  SendDue(true);
}

// Sends the pending requests that are due (all of them if `all`); each is
// sent again after resend_after unless answered.
void Client::Impl::SendDue(bool all) {
  if (!handshaken_) return;
  const auto now = Clock::now();
  std::vector<Pending*> due;
  std::vector<std::string_view> frames;
  std::vector<uint64_t> too_large;
  for (auto& [req, p] : pending_) {
    if (!all && p.next_send > now) continue;
    // Known from the first Welcome on (before it, such a submit costs
    // one connection, once).
    if (max_envelope_bytes_ > 0 && p.envelope_bytes > max_envelope_bytes_) {
      too_large.push_back(req);
      continue;
    }
    due.push_back(&p);
    frames.push_back(p.frame);
  }
  for (const uint64_t req : too_large) {
    Pending p = std::move(pending_.at(req));
    pending_.erase(req);
    stats_.rejected.fetch_add(1);
    Answered(p.outbox_key);
    // The broker's own words for it (PROTOCOL.md 11).
    p.submit_done(Status::Rejected(wire::RejectCode::MessageTooLarge,
                                   "envelope of " +
                                       std::to_string(p.envelope_bytes) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(max_envelope_bytes_)));
  }
  if (due.empty()) return;
  const std::vector<bool> sent = SendFrames(frames);
  for (size_t i = 0; i < due.size(); ++i) {
    Pending& p = *due[i];
    if (!sent[i]) {
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

// --- Receiving: the broker's frames ------------------------------------------

void Client::Impl::OnFrame(std::string_view frame, bool inner) {
  auto parsed = ParseFrame(frame);
  if (!parsed.ok()) {
    spdlog::warn("{}: ignored a malformed frame from the broker",
                 participant());
    return;
  }
  const wire::Frame& f = **parsed;
  const uint64_t req = f.request_id();
  switch (f.body_type()) {
    case wire::Body::Welcome:
      OnWelcome(*f.body_as_Welcome());
      return;
    case wire::Body::Accepted:
      OnAccepted(req, *f.body_as_Accepted());
      return;
    case wire::Body::Rejected:
      OnRejected(req, *f.body_as_Rejected());
      return;
    case wire::Body::StatusRecorded:
    case wire::Body::SubjectsRegistered:
    case wire::Body::RouteReply:
    case wire::Body::AdminReply:
      if (auto done = TakeQuery(req)) done(std::string(frame));
      return;
    case wire::Body::CaseStatusReply:
      if (auto done = TakeQuery(req)) {
        const std::string_view state =
            VectorBytes(f.body_as_CaseStatusReply()->state());
        if (ParseCaseState(state) == nullptr) {
          done(Status::Corruption("the broker sent an invalid CaseState"));
        } else {
          done(std::string(state));
        }
      }
      return;
    case wire::Body::Deliver:
      OnDeliver(*f.body_as_Deliver());
      return;
    case wire::Body::Bundle:
      if (!inner) OnBundle(*f.body_as_Bundle());
      return;
    default:
      return;  // Heartbeat and anything newer: nothing to do
  }
}

// Each frame of a bundle as if it had come alone (a bundle inside one is
// ignored).
void Client::Impl::OnBundle(const wire::Bundle& bundle) {
  std::string copy;
  for (std::string_view bytes : BundledFrames(bundle)) {
    OnFrame(AlignedFrameBytes(bytes, &copy), /*inner=*/true);
  }
}

void Client::Impl::OnWelcome(const wire::Welcome& w) {
  bundle_frames_ = std::min(w.max_bundle_frames(), kMaxBundleFrames);
  bundle_bytes_ = std::min<size_t>(w.max_message_bytes(), kBundleBytes);
  max_envelope_bytes_ = w.max_message_bytes();
  {
    std::lock_guard<std::mutex> lock(conn_mu_);
    welcomed_.store(true);
  }
  conn_cv_.notify_all();
}

void Client::Impl::OnAccepted(uint64_t req, const wire::Accepted& a) {
  auto it = pending_.find(req);
  if (it == pending_.end() || !it->second.submit_done) return;  // late echo
  Receipt r{std::string(VectorBytes(a.message_id())), a.sequence(),
            a.accepted_at_ms(), a.duplicate()};
  auto done = std::move(it->second.submit_done);
  Answered(it->second.outbox_key);
  pending_.erase(it);
  stats_.accepted.fetch_add(1);
  done(std::move(r));
}

// A retryable (5xx) rejection of a submit sends it again after a backoff;
// any other rejection is the request's answer.
void Client::Impl::OnRejected(uint64_t req, const wire::Rejected& r) {
  const Status st =
      Status::Rejected(r.code(), std::string(StringView(r.reason())));
  auto it = pending_.find(req);
  if (req == 0 || it == pending_.end()) {
    spdlog::debug("{}: broker: {}", participant(), st.ToString());
    return;
  }
  if (IsRetryable(r.code()) && it->second.submit_done) {
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
}

std::function<void(Result<std::string>)> Client::Impl::TakeQuery(uint64_t req) {
  auto it = pending_.find(req);
  if (it == pending_.end() || !it->second.query_done) return nullptr;
  auto done = std::move(it->second.query_done);
  pending_.erase(it);
  return done;
}

void Client::Impl::OnDeliver(const wire::Deliver& d) {
  if (opts_.window == 0) return;
  stats_.deliveries.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(del_mu_);
    deliveries_.push_back(
        Incoming{generation_.load(), d.sequence(), d.attempt(),
                 std::string(VectorBytes(d.envelope())), d.replayed()});
  }
  del_cv_.notify_one();
}

void Client::Impl::FailAll(const Status& st) {
  for (auto& [req, p] : pending_) {
    if (p.submit_done) p.submit_done(st);
    if (p.query_done) p.query_done(st);
  }
  pending_.clear();
  // Posted after the loop's last turn: never sent, answered here too (and
  // PostAll answers what comes later).
  std::deque<Command> cmds;
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    cmds.swap(commands_);
    io_stopped_ = true;
  }
  for (auto& c : cmds) FailCommand(&c, st);
}

}  // namespace relais::sdk
