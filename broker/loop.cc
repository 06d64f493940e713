// The loop's side of the broker: the one thread that owns the socket and
// the sessions. It sends what other threads posted, runs the redelivery
// timers, and hands each incoming frame to the stage that acts on it.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "broker/broker.h"
#include "broker/frames/inbound.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"

namespace relais::broker {
namespace {

// Most incoming messages handled before posted work gets a turn.
constexpr int kReceiveBurst = 512;

// A message id a refusal may name: only one of the right size.
std::string_view Named(std::string_view message_id) {
  return message_id.size() == kMessageIdSize ? message_id : std::string_view();
}

}  // namespace

Status Broker::Run() {
  Status failed;
  while (!stop_.load() && failed.ok()) {
    failed = router_->Wait(std::chrono::milliseconds(kTickMs));
    DrainPosted();
    if (clock_->NowMs() >= next_tick_ms_) {
      next_tick_ms_ = clock_->NowMs() + kTickMs;
      for (auto& d : sessions_->Tick()) writer_->Post(std::move(d));
    }
    for (int i = 0; i < kReceiveBurst; ++i) {
      auto in = router_->TryReceive();
      if (!in) break;
      HandleIncoming(*in);
    }
    FlushBundles();
  }
  spdlog::info("relaisd stopping: finishing queued work");
  ingress_->Stop();
  writer_->Stop();
  DrainPosted();
  FlushBundles();
  // Flushed, so the next start replays no log. A failed flush loses
  // nothing (the log holds it): the next start replays it.
  Status closed = journal_->Close();
  if (!closed.ok()) spdlog::error("{}", closed.ToString());
  return failed;
}

void Broker::DrainPosted() {
  LoopWork w;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    std::swap(w, posted_);
  }
  for (auto& f : w.frames) Send(std::move(f));
  for (auto& [id, envelope] : w.accepted) {
    sessions_->Remember(std::move(id), std::move(envelope));
  }
  for (const auto& [r, seq] : w.dead) {
    sessions_->Forget(r, seq);
    w.recipients.push_back(r);  // its window has room again
  }
  for (const auto& [r, seq] : w.replayed) {
    sessions_->Rewind(r, seq);
    w.recipients.push_back(r);
  }
  // Its acks were lost: send everything again. While the journal cannot
  // write, not yet (the acks of the resent ones would fail too, over and
  // over): its recovery restarts every session.
  if (journal_->healthy()) {
    for (auto& r : w.restarts) {
      sessions_->Restart(r);
      w.recipients.push_back(std::move(r));
    }
  }
  std::sort(w.recipients.begin(), w.recipients.end());
  w.recipients.erase(std::unique(w.recipients.begin(), w.recipients.end()),
                     w.recipients.end());
  for (const auto& r : w.recipients) sessions_->Pump(r);
  if (w.pump_all) {
    // Batches that failed during the outage may have held acks or dead
    // letters: every session reads its outbox again from the start.
    sessions_->RestartAll();
    sessions_->PumpAll();
  }
}

void Broker::HandleIncoming(const transport::Incoming& in) {
  if (auto* m = metrics_->Of(in.participant)) {
    m->last_seen_ms.store(clock_->NowMs(), std::memory_order_relaxed);
  }
  auto frame = ParseFrame(in.payload);
  if (!frame.ok()) return Reject(in, {in.routing_id, 0}, frame.status());
  if ((*frame)->body_type() == wire::Body::Bundle) {
    return HandleBundle(in, **frame);
  }
  HandleFrame(in, **frame, /*bundled=*/false);
}

// Each frame of a bundle as if it had come alone; the sessions its acks and
// credits touched are pumped once, at the end (one outbox read for all).
void Broker::HandleBundle(const transport::Incoming& in, const wire::Frame& f) {
  const journal::ReplyTo whole{in.routing_id, f.request_id(), true};
  const auto frames = BundledFrames(*f.body_as_Bundle());
  if (frames.empty() || frames.size() > kMaxBundleFrames) {
    return Reject(
        in, whole,
        Status::Rejected(wire::RejectCode::MalformedFrame,
                         "a bundle holds " + std::to_string(frames.size()) +
                             " frames; it must hold 1 to " +
                             std::to_string(kMaxBundleFrames)));
  }
  to_pump_.emplace();
  std::string copy;
  for (size_t i = 0; i < frames.size(); ++i) {
    auto inner = ParseBundledFrame(frames[i], &copy);
    if (!inner.ok()) {
      Reject(
          in, {in.routing_id, 0, true},
          Status::Rejected(wire::RejectCode::MalformedFrame,
                           "frame " + std::to_string(i) +
                               " of the bundle: " + inner.status().message()));
      continue;
    }
    if ((*inner)->body_type() == wire::Body::Bundle) {
      Reject(in, {in.routing_id, (*inner)->request_id(), true},
             Status::Rejected(wire::RejectCode::MalformedFrame,
                              "frame " + std::to_string(i) +
                                  " of the bundle is itself a bundle"));
      continue;
    }
    HandleFrame(in, **inner, /*bundled=*/true);
  }
  std::set<std::string> pump = std::move(*to_pump_);
  to_pump_.reset();
  for (const auto& participant : pump) sessions_->Pump(participant);
}

void Broker::PumpSoon(const std::string& participant) {
  if (to_pump_) {
    to_pump_->insert(participant);
  } else {
    sessions_->Pump(participant);
  }
}

// Each frame to the stage that acts on it (the header's picture).
void Broker::HandleFrame(const transport::Incoming& in, const wire::Frame& f,
                         bool bundled) {
  const journal::ReplyTo reply{in.routing_id, f.request_id(), bundled};
  switch (f.body_type()) {
    case wire::Body::Hello:
      return OnHello(in, reply, *f.body_as_Hello());
    case wire::Body::Submit: {
      std::string envelope(VectorBytes(f.body_as_Submit()->envelope()));
      if (auto* m = metrics_->Of(in.participant)) m->submitted.Add();
      auto refused = ingress_->Admit({reply,
                                      in.participant,
                                      std::move(envelope),
                                      {},
                                      std::chrono::steady_clock::now()});
      if (refused) Reject(in, reply, refused->status, refused->message_id);
      return;
    }
    case wire::Body::DeliveryAck:
      return OnAck(in, reply, *f.body_as_DeliveryAck());
    case wire::Body::Credit:
      return OnCredit(in, reply, *f.body_as_Credit());
    case wire::Body::Heartbeat:
      return Reply(reply, HeartbeatFrame(reply.request_id, clock_->NowMs()));
    case wire::Body::CaseStatusQuery:
      return Answer(in, reply,
                    queries_->CaseStatus(in.participant, reply.request_id,
                                         *f.body_as_CaseStatusQuery()));
    case wire::Body::RouteQuery:
      return Answer(in, reply,
                    queries_->Route(in.participant, reply.request_id,
                                    *f.body_as_RouteQuery()));
    case wire::Body::AdminRequest:
      return OnAdmin(in, reply, *f.body_as_AdminRequest());
    case wire::Body::StatusUpdate: {
      const auto& u = *f.body_as_StatusUpdate();
      return ToJournal(in, reply, StatusRequestOf(u, in.participant, reply),
                       VectorBytes(u.message_id()));
    }
    case wire::Body::SubjectRegistration: {
      auto r = SubjectRequestOf(*f.body_as_SubjectRegistration(),
                                in.participant, reply);
      if (r.ok()) {
        spdlog::info("{}: {} {} subject reference(s)", in.participant,
                     r->unregister ? "unregisters" : "registers",
                     r->subject_refs.size());
      }
      return ToJournal(in, reply, std::move(r));
    }
    default:
      return Reject(
          in, reply,
          Status::Rejected(wire::RejectCode::UnexpectedFrame,
                           std::string("a participant may not send ") +
                               wire::EnumNameBody(f.body_type())));
  }
}

void Broker::OnHello(const transport::Incoming& in,
                     const journal::ReplyTo& reply, const wire::Hello& h) {
  if (Status st = CheckHello(h, in.participant); !st.ok()) {
    return Reject(in, reply, st);
  }
  const uint32_t window = std::min(h.window(), config_.max_window);
  Reply(reply, WelcomeFrame(reply.request_id,
                            {config_.broker_id, config_.max_message_bytes,
                             config_.heartbeat_interval_ms, clock_->NowMs(),
                             window, config_.max_window, kMaxBundleFrames}));
  spdlog::debug("{}: hello (window {}, {}{})", in.participant, window,
                std::string(StringView(h.software())),
                h.bundles() ? ", reads bundles" : "");
  sessions_->Open(in.participant, in.routing_id, window, h.bundles());
  if (auto* m = metrics_->Of(in.participant)) {
    m->session.store(sessions_->has_session(in.participant));
  }
  open_sessions_.store(sessions_->session_count());
  PumpSoon(in.participant);
}

void Broker::OnCredit(const transport::Incoming& in,
                      const journal::ReplyTo& reply, const wire::Credit& c) {
  Status st = CheckCredit(c, config_.max_window);
  if (st.ok()) st = sessions_->SetWindow(in.routing_id, c.window());
  if (!st.ok()) return Reject(in, reply, st);
  PumpSoon(in.participant);
}

void Broker::OnAck(const transport::Incoming& in, const journal::ReplyTo& reply,
                   const wire::DeliveryAck& a) {
  const std::string_view message_id = VectorBytes(a.message_id());
  if (Status st = CheckAck(a); !st.ok()) {
    return Reject(in, reply, st, Named(message_id));
  }
  auto ack = sessions_->Ack(in.routing_id, a.sequence(), message_id,
                            a.outcome(), StringView(a.reason()));
  if (!ack.ok()) return Reject(in, reply, ack.status(), Named(message_id));
  writer_->Post(std::move(*ack));
  PumpSoon(in.participant);
}

void Broker::OnAdmin(const transport::Incoming& in,
                     const journal::ReplyTo& reply,
                     const wire::AdminRequest& a) {
  auto answer = queries_->Admin(in.participant, reply, a);
  if (!answer.ok()) return Reject(in, reply, answer.status());
  if (auto* frame = std::get_if<std::string>(&*answer)) {
    return Reply(reply, std::move(*frame));
  }
  if (auto* op = std::get_if<journal::OperatorRequest>(&*answer)) {
    return writer_->Post(std::move(*op));
  }
  spdlog::info("{}: asks for a backup of the journal", in.participant);
  writer_->Post(std::get<journal::BackupRequest>(std::move(*answer)));
}

void Broker::Answer(const transport::Incoming& in,
                    const journal::ReplyTo& reply,
                    const Result<std::string>& frame) {
  if (!frame.ok()) return Reject(in, reply, frame.status());
  Reply(reply, *frame);
}

template <typename R>
void Broker::ToJournal(const transport::Incoming& in,
                       const journal::ReplyTo& reply, Result<R> request,
                       std::string_view message_id) {
  if (!request.ok()) {
    return Reject(in, reply, request.status(), Named(message_id));
  }
  writer_->Post(std::move(*request));
}

void Broker::Reject(const transport::Incoming& in,
                    const journal::ReplyTo& reply, const Status& status,
                    std::string_view message_id) {
  spdlog::warn("{}: rejected: {}", in.participant, status.ToString());
  metrics_->Rejected(RejectCodeOf(status));
  Send(RejectionTo(reply, status, message_id));
}

void Broker::Reply(const journal::ReplyTo& reply, std::string frame) {
  Send({reply.routing_id, std::move(frame), reply.bundled});
}

// A frame answering a bundled one joins the bundle going to its connection
// (sent once full, or by FlushBundles at the end of the loop's turn);
// any other goes at once, after what that connection's bundle holds.
void Broker::Send(Outgoing out) {
  if (!out.bundled) {
    FlushBundleOf(out.routing_id);
    return SendNow(out.routing_id, out.frame);
  }
  auto it = bundles_.find(out.routing_id);
  if (it == bundles_.end()) {
    it = bundles_
             .emplace(out.routing_id,
                      BundlePacker(kMaxBundleFrames, kBundleBytes))
             .first;
  }
  std::string full = it->second.Add(std::move(out.frame));
  if (!full.empty()) SendNow(out.routing_id, full);
}

void Broker::FlushBundles() {
  for (auto& [routing_id, packer] : bundles_) {
    SendNow(routing_id, packer.Finish());
  }
  bundles_.clear();
}

void Broker::FlushBundleOf(const std::string& routing_id) {
  auto it = bundles_.find(routing_id);
  if (it == bundles_.end()) return;
  SendNow(routing_id, it->second.Finish());
  bundles_.erase(it);
}

Status Broker::SendDelivery(const std::string& routing_id,
                            std::string_view frame) {
  FlushBundleOf(routing_id);
  return router_->Send(routing_id, frame);
}

void Broker::SendNow(const std::string& routing_id, std::string_view message) {
  if (message.empty()) return;
  Status st = router_->Send(routing_id, message);
  if (!st.ok()) {
    // The client resends what it has no answer for; nothing is lost here.
    spdlog::debug("reply not sent: {}", st.ToString());
  }
}

}  // namespace relais::broker
