#include "broker/broker.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <thread>

#include "broker/cases/case_book.h"
#include "broker/router/routes.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais::broker {
namespace {

// Most incoming messages handled before posted work gets a turn.
constexpr int kReceiveBurst = 512;

std::string Hex8(std::string_view id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < id.size() && i < 8; ++i) {
    out.push_back(kHex[static_cast<uint8_t>(id[i]) >> 4]);
    out.push_back(kHex[static_cast<uint8_t>(id[i]) & 0xf]);
  }
  return out;
}

}  // namespace

Broker::Broker(BrokerConfig config, const Clock* clock)
    : config_(std::move(config)), clock_(clock ? clock : Clock::System()) {}

Result<std::unique_ptr<Broker>> Broker::Start(BrokerConfig config,
                                              const Clock* clock) {
  std::unique_ptr<Broker> b(new Broker(std::move(config), clock));
  RELAIS_RETURN_IF_ERROR(b->Init());
  return b;
}

Status Broker::Init() {
  RELAIS_ASSIGN_OR_RETURN(identity_, LoadIdentityFile(config_.identity_file));
  // Recipients verify the broker's reports with the keys of [broker] id.
  if (identity_.participant != config_.broker_id) {
    return Status::InvalidArgument(
        config_.identity_file + ": the identity of '" +
        Escaped(identity_.participant, 64) + "', not of the broker ('" +
        config_.broker_id +
        "', [broker] id): make it with relais keygen --id " +
        config_.broker_id);
  }
  RELAIS_ASSIGN_OR_RETURN(Registry registry,
                          Registry::Build(std::move(config_.participants)));
  registry_ = std::make_unique<Registry>(std::move(registry));
  RELAIS_ASSIGN_OR_RETURN(
      journal_, journal::Journal::Open(config_.journal_dir, config_.journal));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::IOError("eventfd failed");

  RELAIS_ASSIGN_OR_RETURN(
      writer_, journal::JournalWriter::Create(
                   journal_.get(), clock_,
                   journal::BrokerSigner{config_.broker_id, identity_.signing},
                   [this](journal::CommitReport report) {
                     OnCommitted(std::move(report));
                   }));

  const size_t threads =
      config_.ingress_threads
          ? config_.ingress_threads
          : std::max(1u, std::thread::hardware_concurrency());
  ingress_ = std::make_unique<IngressPool>(
      registry_.get(), clock_,
      IngressLimits{config_.max_message_bytes, config_.time_policy}, threads,
      config_.ingress_queue,
      [this](journal::SubmitRequest r) { writer_->PostSubmit(std::move(r)); },
      [this](IngressRejection r) {
        pending_bytes_.fetch_sub(r.envelope_bytes);
        spdlog::warn("{}: rejected message {}: {}", r.participant,
                     Hex8(r.message_id), r.status.ToString());
        Post({RejectionTo(r.reply, r.status, r.message_id)}, {});
      },
      [this](std::string_view message_id, std::string_view sender,
             std::string_view header_sha256) {
        auto first = journal_->GetDedup(message_id);
        return first.ok() && first->sender == sender &&
               first->header_sha256 == header_sha256;
      });

  zap_ = std::make_unique<transport::ZapHandler>(
      &context_, [this](std::string_view key, std::string_view) {
        const std::string* id = registry_->ParticipantForCurveKey(key);
        return id ? std::optional<std::string>(*id) : std::nullopt;
      });
  RELAIS_RETURN_IF_ERROR(zap_->Start());

  transport::RouterOptions ro;
  ro.endpoint = config_.listen;
  ro.curve_secret_z85 = identity_.curve.secret_z85;
  ro.max_transport_bytes = int64_t{2} * config_.max_message_bytes + (64 << 10);
  ro.send_hwm = static_cast<int>(config_.max_window) * 4 + 1000;
  RELAIS_ASSIGN_OR_RETURN(router_,
                          transport::RouterServer::Bind(&context_, ro));
  sessions_ = std::make_unique<delivery::Sessions>(
      journal_.get(), clock_, config_.redelivery,
      [this](const std::string& rid, std::string_view frame) {
        return router_->Send(rid, frame);
      });
  writer_->Start();
  if (!config_.endpoint_file.empty()) {
    RELAIS_RETURN_IF_ERROR(
        WriteFileAtomic(config_.endpoint_file, router_->endpoint() + "\n"));
  }
  spdlog::info("relaisd '{}' listening on {} ({} participants, journal {})",
               config_.broker_id, router_->endpoint(), registry_->size(),
               config_.journal_dir);
  return Status::OK();
}

Broker::~Broker() {
  if (ingress_) ingress_->Stop();
  if (writer_) writer_->Stop();
  router_.reset();
  if (zap_) zap_->Stop();
  context_.shutdown();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

const std::string& Broker::endpoint() const { return router_->endpoint(); }

// On the writer's thread: answers what the batch decided and hands the
// loop the recipients and sessions it changed.
void Broker::OnCommitted(journal::CommitReport report) {
  for (const auto& s : report.submits) {
    pending_bytes_.fetch_sub(s.envelope_bytes);
    if (!s.status.ok()) {
      spdlog::warn("message {} refused at journaling: {}", Hex8(s.message_id),
                   s.status.ToString());
    }
  }
  if (!report.commit_status.ok()) {
    spdlog::error("journal batch failed: {}", report.commit_status.ToString());
  }
  for (const auto& [r, seq] : report.dead_letters) {
    spdlog::warn("{}: sequence {} is now a dead letter", r, seq);
  }
  Post(ReplyFrames(report), std::move(report.recipients),
       std::move(report.failed_ack_recipients), std::move(report.dead_letters),
       std::move(report.replayed), report.journal_recovered);
}

void Broker::RequestStop() {
  stop_.store(true);
  Wake();
}

void Broker::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void Broker::Post(std::vector<Outgoing> frames,
                  std::vector<std::string> recipients,
                  std::vector<std::string> restarts,
                  std::vector<std::pair<std::string, uint64_t>> dead,
                  std::vector<std::pair<std::string, uint64_t>> replayed,
                  bool pump_all) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_pump_all_ |= pump_all;
    for (auto& f : frames) posted_frames_.push_back(std::move(f));
    for (auto& r : recipients) posted_recipients_.push_back(std::move(r));
    for (auto& r : restarts) posted_restarts_.push_back(std::move(r));
    for (auto& d : dead) posted_dead_.push_back(std::move(d));
    for (auto& r : replayed) posted_replayed_.push_back(std::move(r));
  }
  Wake();
}

void Broker::DrainPosted() {
  std::vector<Outgoing> frames;
  std::vector<std::string> recipients, restarts;
  std::vector<std::pair<std::string, uint64_t>> dead, replayed;
  bool pump_all = false;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    std::swap(pump_all, posted_pump_all_);
    frames.swap(posted_frames_);
    recipients.swap(posted_recipients_);
    restarts.swap(posted_restarts_);
    dead.swap(posted_dead_);
    replayed.swap(posted_replayed_);
  }
  for (const auto& f : frames) Send(f.routing_id, f.frame);
  for (const auto& [r, seq] : dead) {
    sessions_->Forget(r, seq);
    recipients.push_back(r);  // its window has room again
  }
  for (const auto& [r, seq] : replayed) {
    sessions_->Rewind(r, seq);
    recipients.push_back(r);
  }
  // Its acks were lost: send everything again. While the journal cannot
  // write, not yet (the acks of the resent ones would fail too, over and
  // over): its recovery restarts every session.
  if (journal_->healthy()) {
    for (auto& r : restarts) {
      sessions_->Restart(r);
      recipients.push_back(std::move(r));
    }
  }
  std::sort(recipients.begin(), recipients.end());
  recipients.erase(std::unique(recipients.begin(), recipients.end()),
                   recipients.end());
  for (const auto& r : recipients) sessions_->Pump(r);
  if (pump_all) {
    // Batches that failed during the outage may have held acks or dead
    // letters: every session reads its outbox again from the start.
    sessions_->RestartAll();
    sessions_->PumpAll();
  }
}

Status Broker::Run() {
  zmq::pollitem_t items[] = {{router_->handle(), 0, ZMQ_POLLIN, 0},
                             {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
  while (!stop_.load()) {
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(kTickMs));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status::IOError(std::string("poll failed: ") + e.what());
    }
    if (items[1].revents & ZMQ_POLLIN) {
      uint64_t n;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &n, sizeof(n));
    }
    DrainPosted();
    if (clock_->NowMs() >= next_tick_ms_) {
      next_tick_ms_ = clock_->NowMs() + kTickMs;
      for (auto& d : sessions_->Tick()) writer_->PostDeadLetter(std::move(d));
    }
    for (int i = 0; i < kReceiveBurst; ++i) {
      auto in = router_->TryReceive();
      if (!in) break;
      HandleIncoming(std::move(*in));
    }
  }
  spdlog::info("relaisd stopping: finishing queued work");
  ingress_->Stop();
  writer_->Stop();
  DrainPosted();
  // Flushed, so the next start replays no log. A failed flush loses
  // nothing (the log holds it): the next start replays it.
  Status closed = journal_->Close();
  if (!closed.ok()) spdlog::error("{}", closed.ToString());
  return Status::OK();
}

void Broker::Send(const std::string& routing_id, std::string_view frame) {
  Status st = router_->Send(routing_id, frame);
  if (!st.ok()) {
    // The client resends what it has no answer for; nothing is lost here.
    spdlog::debug("reply not sent: {}", st.ToString());
  }
}

void Broker::Reject(const transport::Incoming& in, uint64_t req,
                    const Status& status, std::string_view message_id) {
  spdlog::warn("{}: rejected: {}", in.participant, status.ToString());
  Send(in.routing_id,
       RejectedFrame(req, status.reject_code(), status.message(), message_id));
}

void Broker::HandleIncoming(transport::Incoming in) {
  const std::string_view bytes(static_cast<const char*>(in.payload.data()),
                               in.payload.size());
  auto frame = ParseFrame(bytes);
  if (!frame.ok()) {
    Reject(in, 0, frame.status());
    return;
  }
  HandleFrame(in, **frame);
}

void Broker::HandleFrame(const transport::Incoming& in, const wire::Frame& f) {
  const uint64_t req = f.request_id();
  switch (f.body_type()) {
    case wire::Body::Hello:
      return OnHello(in, req, *f.body_as_Hello());
    case wire::Body::Submit:
      return OnSubmit(in, req, *f.body_as_Submit());
    case wire::Body::DeliveryAck:
      return OnAck(in, req, *f.body_as_DeliveryAck());
    case wire::Body::Credit: {
      const uint32_t window = f.body_as_Credit()->window();
      if (window > config_.max_window) {
        return Reject(in, req,
                      Status::Rejected(wire::RejectCode::WindowTooLarge,
                                       "Credit asks for a window of " +
                                           std::to_string(window) +
                                           "; this broker grants at most " +
                                           std::to_string(config_.max_window)));
      }
      Status st = sessions_->SetWindow(in.routing_id, window);
      if (!st.ok()) return Reject(in, req, st);
      return sessions_->Pump(in.participant);
    }
    case wire::Body::Heartbeat:
      return Send(in.routing_id, HeartbeatFrame(req, clock_->NowMs()));
    case wire::Body::CaseStatusQuery:
      return OnCaseStatus(in, req, *f.body_as_CaseStatusQuery());
    case wire::Body::AdminRequest:
      return OnAdmin(in, req, *f.body_as_AdminRequest());
    case wire::Body::StatusUpdate:
      return OnStatusUpdate(in, req, *f.body_as_StatusUpdate());
    case wire::Body::SubjectRegistration:
      return OnSubjectRegistration(in, req, *f.body_as_SubjectRegistration());
    case wire::Body::RouteQuery:
      return OnRouteQuery(in, req, *f.body_as_RouteQuery());
    default:
      return Reject(
          in, req,
          Status::Rejected(wire::RejectCode::UnexpectedFrame,
                           std::string("a participant may not send ") +
                               wire::EnumNameBody(f.body_type())));
  }
}

void Broker::OnHello(const transport::Incoming& in, uint64_t req,
                     const wire::Hello& h) {
  // Checked before anything of them is repeated (a reason, a log line).
  for (const Status& st :
       {CheckWireText("Hello.participant", StringView(h.participant()),
                      kMaxParticipantIdSize),
        CheckWireText("Hello.software", StringView(h.software()),
                      kMaxSoftwareBytes)}) {
    if (!st.ok()) return Reject(in, req, st);
  }
  if (StringView(h.participant()) != in.participant) {
    return Reject(
        in, req,
        Status::Rejected(
            wire::RejectCode::HelloMismatch,
            "Hello says '" + std::string(StringView(h.participant())) +
                "' but the CURVE key belongs to '" + in.participant + "'"));
  }
  if (h.protocol_version() != kProtocolVersion) {
    return Reject(
        in, req,
        Status::Rejected(wire::RejectCode::UnsupportedVersion,
                         "protocol version " +
                             std::to_string(h.protocol_version()) +
                             " is not supported (this broker speaks 1)"));
  }
  const uint32_t window = std::min(h.window(), config_.max_window);
  Send(in.routing_id,
       WelcomeFrame(req, {config_.broker_id, config_.max_message_bytes,
                          config_.heartbeat_interval_ms, clock_->NowMs(),
                          window, config_.max_window}));
  spdlog::info("{}: hello (window {}, {})", in.participant, window,
               std::string(StringView(h.software())));
  sessions_->Open(in.participant, in.routing_id, window);
  sessions_->Pump(in.participant);
}

void Broker::OnSubmit(const transport::Incoming& in, uint64_t req,
                      const wire::Submit& s) {
  const std::string_view envelope = VectorBytes(s.envelope());
  if (envelope.size() > config_.max_message_bytes) {
    return Reject(
        in, req,
        Status::Rejected(wire::RejectCode::MessageTooLarge,
                         "envelope of " + std::to_string(envelope.size()) +
                             " bytes exceeds the limit of " +
                             std::to_string(config_.max_message_bytes)),
        PeekMessageId(envelope));
  }
  if (pending_bytes_.load() + envelope.size() > config_.max_pending_bytes) {
    return Reject(
        in, req,
        Status::Rejected(wire::RejectCode::Overloaded,
                         "too many bytes awaiting the journal; retry later"),
        PeekMessageId(envelope));
  }
  pending_bytes_.fetch_add(envelope.size());
  IngressTask task{{in.routing_id, req}, in.participant, std::string(envelope)};
  if (!ingress_->TrySubmit(std::move(task))) {
    pending_bytes_.fetch_sub(envelope.size());
    Reject(in, req,
           Status::Rejected(wire::RejectCode::Overloaded,
                            "ingress queue is full; retry later"),
           PeekMessageId(envelope));
  }
}

void Broker::OnAck(const transport::Incoming& in, uint64_t req,
                   const wire::DeliveryAck& a) {
  // The Verifier does not range-check enums.
  if (a.outcome() != wire::AckOutcome::Processed &&
      a.outcome() != wire::AckOutcome::Rejected) {
    return Reject(
        in, req,
        Status::Rejected(wire::RejectCode::MalformedFrame,
                         "unknown ack outcome " +
                             std::to_string(static_cast<int>(a.outcome()))),
        VectorBytes(a.message_id()));
  }
  // The reason goes into the case, the audit chain and the sender's
  // status report.
  if (Status st = CheckWireText("DeliveryAck.reason", StringView(a.reason()),
                                kMaxReasonBytes);
      !st.ok()) {
    return Reject(in, req, st, VectorBytes(a.message_id()));
  }
  auto ack =
      sessions_->Ack(in.routing_id, a.sequence(), VectorBytes(a.message_id()),
                     a.outcome(), StringView(a.reason()));
  if (!ack.ok())
    return Reject(in, req, ack.status(), VectorBytes(a.message_id()));
  writer_->PostAck(std::move(*ack));
  sessions_->Pump(in.participant);
}

void Broker::OnCaseStatus(const transport::Incoming& in, uint64_t req,
                          const wire::CaseStatusQuery& q) {
  const std::string case_id(StringView(q.case_id()));
  if (!IsValidCaseId(case_id)) {
    return Reject(in, req,
                  Status::Rejected(wire::RejectCode::MalformedFrame,
                                   "CaseStatusQuery.case_id: not a case id "
                                   "(1 to 64 of A-Z a-z 0-9 . _ : -)"));
  }
  auto state = journal_->GetCase(case_id);
  if (!state.ok() && state.status().code() != Status::Code::kNotFound) {
    spdlog::error("case {}: cannot read its state: {}", case_id,
                  state.status().ToString());
    return Reject(in, req,
                  Status::Rejected(wire::RejectCode::JournalUnavailable,
                                   "cannot read the case state; retry later"));
  }
  const wire::CaseState* parsed = state.ok() ? ParseCaseState(*state) : nullptr;
  if (parsed == nullptr || !cases::IsPartyTo(*parsed, in.participant)) {
    return Reject(in, req,
                  Status::Rejected(wire::RejectCode::UnknownCase,
                                   "no case '" + case_id + "' visible to '" +
                                       in.participant + "'"));
  }
  Send(in.routing_id, CaseStatusReplyFrame(req, case_id, *state));
}

void Broker::OnStatusUpdate(const transport::Incoming& in, uint64_t req,
                            const wire::StatusUpdate& u) {
  using S = wire::RecipientState;
  const std::string_view message_id = VectorBytes(u.message_id());
  const std::string_view reason = StringView(u.reason());
  if (Status st = CheckWireText("StatusUpdate.reason", reason, kMaxReasonBytes);
      !st.ok()) {
    return Reject(in, req, st, message_id);
  }
  if (message_id.size() != kMessageIdSize ||
      (u.state() != S::Received && u.state() != S::InProgress &&
       u.state() != S::Done && u.state() != S::Rejected)) {
    return Reject(in, req,
                  Status::Rejected(wire::RejectCode::MalformedFrame,
                                   "a StatusUpdate needs a 16-byte message "
                                   "id and a state among Received, "
                                   "InProgress, Done and Rejected"));
  }
  journal::StatusRequest r;
  r.reply = {in.routing_id, req};
  r.participant = in.participant;
  r.message_id = std::string(message_id);
  r.state = u.state();
  r.reason = std::string(reason);
  writer_->PostStatus(std::move(r));
}

void Broker::OnSubjectRegistration(const transport::Incoming& in, uint64_t req,
                                   const wire::SubjectRegistration& r) {
  const std::string_view refs = VectorBytes(r.subject_refs());
  if (refs.empty() || refs.size() % kSubjectRefSize != 0 ||
      refs.size() > kMaxSubjectRefs * kSubjectRefSize) {
    return Reject(in, req,
                  Status::Rejected(wire::RejectCode::MalformedFrame,
                                   "a SubjectRegistration needs 1 to 1000 "
                                   "subject references of 32 bytes each"));
  }
  journal::SubjectRequest s;
  s.reply = {in.routing_id, req};
  s.participant = in.participant;
  s.unregister = r.unregister();
  for (size_t at = 0; at < refs.size(); at += kSubjectRefSize) {
    s.subject_refs.emplace_back(refs.substr(at, kSubjectRefSize));
  }
  spdlog::info("{}: {} {} subject reference(s)", in.participant,
               s.unregister ? "unregisters" : "registers",
               s.subject_refs.size());
  writer_->PostSubjects(std::move(s));
}

void Broker::OnRouteQuery(const transport::Incoming& in, uint64_t req,
                          const wire::RouteQuery& q) {
  const std::string_view ref = VectorBytes(q.subject_ref());
  if (q.case_type() < wire::CaseType::AddressChange ||
      q.case_type() > wire::CaseType::AssistedCase ||
      (!ref.empty() && ref.size() != kSubjectRefSize)) {
    return Reject(in, req,
                  Status::Rejected(wire::RejectCode::MalformedFrame,
                                   "a RouteQuery needs a case type from 1 to "
                                   "8 and an absent or 32-byte subject "
                                   "reference"));
  }
  auto recipients = router::RouteBySubscription(
      *registry_, *journal_, in.participant, q.case_type(), ref);
  if (!recipients.ok()) {
    spdlog::error("reference directory: {}", recipients.status().ToString());
    return Reject(in, req,
                  Status::Rejected(wire::RejectCode::JournalUnavailable,
                                   "cannot read the reference directory; "
                                   "retry later"));
  }
  Send(in.routing_id, RouteReplyFrame(req, *recipients));
}

void Broker::OnAdmin(const transport::Incoming& in, uint64_t req,
                     const wire::AdminRequest& a) {
  if (!registry_->IsOperator(in.participant)) {
    return Reject(in, req,
                  Status::Rejected(wire::RejectCode::NotAuthorised,
                                   "'" + in.participant +
                                       "' does not have the operator role"));
  }
  const std::string recipient(StringView(a.recipient()));
  if (!recipient.empty() && !IsValidParticipantId(recipient)) {
    return Reject(in, req,
                  Status::Rejected(wire::RejectCode::MalformedFrame,
                                   "AdminRequest.recipient: not a participant "
                                   "id"));
  }
  switch (a.op()) {
    case wire::AdminOp::ListDeadLetters: {
      const size_t limit = a.limit() == 0 ? 100 : std::min(a.limit(), 1000u);
      std::vector<journal::DeadLetterRecord> records;
      Status st =
          journal_->ListDead(recipient, a.sequence(), limit + 1, &records);
      if (!st.ok()) {
        return Reject(in, req,
                      Status::Rejected(wire::RejectCode::JournalUnavailable,
                                       st.message()));
      }
      const bool more = records.size() > limit;
      if (more) records.pop_back();
      std::vector<std::string> items;
      for (auto& r : records) items.push_back(std::move(r.value));
      return Send(in.routing_id,
                  AdminReplyFrame(req, a.op(), items, {}, more, nullptr));
    }
    case wire::AdminOp::ShowDeadLetter: {
      auto dead = journal_->GetDead(recipient, a.sequence());
      const wire::DeadLetter* dl =
          dead.ok() ? journal::ParseDeadLetter(*dead) : nullptr;
      if (dl == nullptr) {
        return Reject(
            in, req,
            dead.status().code() == Status::Code::kNotFound || dead.ok()
                ? Status::Rejected(wire::RejectCode::UnknownDelivery,
                                   "no dead letter of sequence " +
                                       std::to_string(a.sequence()) + " for '" +
                                       recipient + "'")
                : Status::Rejected(wire::RejectCode::JournalUnavailable,
                                   dead.status().message()));
      }
      auto envelope = journal_->GetMessage(VectorBytes(dl->message_id()));
      return Send(in.routing_id,
                  AdminReplyFrame(req, a.op(), {*dead},
                                  envelope.ok() ? *envelope : std::string(),
                                  false, nullptr));
    }
    case wire::AdminOp::ReplayDeadLetter:
    case wire::AdminOp::DropDeadLetter:
      writer_->PostOperator({{in.routing_id, req},
                             in.participant,
                             a.op() == wire::AdminOp::ReplayDeadLetter,
                             recipient,
                             a.sequence()});
      return;
    case wire::AdminOp::Stats: {
      wire::BrokerStatsT stats;
      const auto& w = writer_->stats();
      stats.journal_batches = w.batches.load();
      stats.journal_submits = w.submits.load();
      stats.journal_largest_batch = w.largest_batch.load();
      stats.journal_failed_batches = w.failed_batches.load();
      stats.dead_letters_made = w.dead_letters.load();
      stats.redeliveries = sessions_->redeliveries();
      stats.sessions = static_cast<uint32_t>(sessions_->session_count());
      return Send(in.routing_id,
                  AdminReplyFrame(req, a.op(), {}, {}, false, &stats));
    }
    default:
      return Reject(
          in, req,
          Status::Rejected(
              wire::RejectCode::MalformedFrame,
              "unknown admin op " + std::to_string(static_cast<int>(a.op()))));
  }
}

}  // namespace relais::broker
