// Integration: a real relaisd on 127.0.0.1 (port 0, temporary folder) with
// SDK clients and raw frames.

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using wire::RejectCode;

constexpr char kDesk[] = "france-services/paris-15";

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
    auto desk = stack_.Connect(kDesk);
    ASSERT_TRUE(desk.ok()) << desk.status().ToString();
    desk_ = std::move(*desk);
  }

  SealedEnvelope SealFromDesk(std::vector<std::string> recipients) {
    EnvelopeDraft d = SampleDraft(kDesk, std::move(recipients));
    auto sealed = desk_->Seal(d);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return *sealed;
  }

  Status StatusOfSubmit(const SealedEnvelope& env) {
    return desk_->Submit(env, seconds(10)).status();
  }

  // `n` messages from the desk to `to` (cpam among them), accepted before
  // cpam connects with `window` (and `adjust`); then a marker, handed over
  // after the backlog. What cpam's handler was given, in order.
  struct Backlog {
    std::vector<std::string> ids;    // accepted, the marker last
    std::vector<std::string> order;  // handed to cpam's handler
    size_t handler_threads = 0;      // threads the handler ran on
    uint64_t rejected = 0;           // deliveries cpam refused
  };
  Backlog ReceiveBacklog(
      int n, const std::vector<std::string>& to, uint32_t window,
      const std::function<void(sdk::ClientOptions*)>& adjust) {
    Backlog b;
    for (int i = 0; i < n; ++i) {
      SealedEnvelope env = SealFromDesk(to);
      EXPECT_TRUE(desk_->Submit(env, seconds(10)).ok());
      b.ids.push_back(env.message_id);
    }
    std::mutex mu;
    std::set<std::thread::id> threads;
    auto cpam = stack_.Connect(
        "cpam",
        [&](const sdk::Delivery& d) {
          std::lock_guard<std::mutex> lock(mu);
          b.order.emplace_back(d.envelope->message_id);
          threads.insert(std::this_thread::get_id());
          return sdk::HandlerResult::Processed();
        },
        window, adjust);
    EXPECT_TRUE(cpam.ok());
    if (!cpam.ok()) return b;
    // Once cpam has the marker, a duplicate of the backlog would have come
    // before it.
    auto marker = SubmitMarker(*desk_, "cpam");
    EXPECT_TRUE(marker.ok()) << marker.status().ToString();
    if (!marker.ok()) return b;
    b.ids.push_back(*marker);
    EXPECT_TRUE(WaitUntil([&] {
      std::lock_guard<std::mutex> lock(mu);
      return !b.order.empty() && b.order.back() == *marker;
    }));
    (*cpam)->Stop();  // the handler runs no more
    b.handler_threads = threads.size();
    b.rejected = (*cpam)->stats().deliveries_rejected.load();
    return b;
  }

  TestStack stack_;
  std::unique_ptr<sdk::Client> desk_;
};

TEST_F(BrokerTest, ConnectedRecipientGetsTheMessageAndStatusFollows) {
  DeliveryCounter caf;
  auto client = stack_.Connect("caf", caf.Handler());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->WaitConnected(seconds(10)).ok());

  SealedEnvelope env = SealFromDesk({"caf"});
  auto receipt = desk_->Submit(env, seconds(10));
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_EQ(receipt->message_id, env.message_id);
  EXPECT_GT(receipt->sequence, 0u);
  EXPECT_FALSE(receipt->duplicate);

  ASSERT_TRUE(WaitUntil([&] { return caf.count(env.message_id) == 1; }));
  EXPECT_EQ(caf.payload(env.message_id), SampleAddressChange());

  const std::string case_id(ParseEnvelope(env.bytes)->case_id);
  ASSERT_TRUE(WaitUntil([&] {
    auto state = desk_->QueryCase(case_id);
    if (!state.ok()) return false;
    const auto* s = ParseCaseState(*state);
    return s->recipients()->Get(0)->state() == wire::RecipientState::Delivered;
  }));
  auto state = desk_->QueryCase(case_id);
  const auto* s = ParseCaseState(*state);
  EXPECT_EQ(StringView(s->originator()), kDesk);
  ASSERT_EQ(s->trail()->size(), 2u);
  EXPECT_EQ(s->trail()->Get(0)->event(), wire::TraceEvent::Accepted);
  EXPECT_EQ(s->trail()->Get(1)->event(), wire::TraceEvent::Delivered);
  EXPECT_EQ(StringView(s->trail()->Get(1)->party()), "caf");
}

TEST_F(BrokerTest, RecipientConnectingAfterAcceptanceGetsItsBacklogInOrder) {
  // A small window: the backlog comes in several rounds.
  const Backlog b = ReceiveBacklog(20, {"caf", "cpam"}, 4, nullptr);
  EXPECT_EQ(b.order, b.ids);  // all of them, once, in acceptance order
}

// The SDK verifies a batch of deliveries on several threads at once
// (ClientOptions::verify_threads), yet hands them to the handler one by one,
// on one thread, in acceptance order.
TEST_F(BrokerTest, DeliveriesVerifiedInParallelAreHandledInOrder) {
  const Backlog b = ReceiveBacklog(
      150, {"cpam"}, 64, [](sdk::ClientOptions* o) { o->verify_threads = 4; });
  EXPECT_EQ(b.order, b.ids);  // all of them, once, in acceptance order
  EXPECT_EQ(b.handler_threads, 1u);
  EXPECT_EQ(b.rejected, 0u);
}

TEST_F(BrokerTest, ResubmissionReturnsTheSameReceiptAndDeliversOnce) {
  DeliveryCounter caf;
  auto client = stack_.Connect("caf", caf.Handler());
  ASSERT_TRUE(client.ok());
  SealedEnvelope env = SealFromDesk({"caf"});
  auto first = desk_->Submit(env, seconds(10));
  auto second = desk_->Submit(env, seconds(10));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(first->sequence, second->sequence);
  EXPECT_EQ(first->accepted_at_ms, second->accepted_at_ms);
  ASSERT_TRUE(WaitUntil([&] { return caf.count(env.message_id) == 1; }));
  auto marker = SubmitMarker(*desk_, "caf");
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return caf.count(*marker) == 1; }));
  EXPECT_EQ(caf.count(env.message_id), 1);
}

TEST_F(BrokerTest, ResubmissionAfterExpiryStillGetsTheFirstReceipt) {
  // A sender that lost the Accepted frame and comes back after the message
  // expired must learn it was accepted, not that it expired.
  EnvelopeDraft d = SampleDraft(kDesk, {"caf"}, milliseconds(1500));
  auto env = desk_->Seal(d);
  ASSERT_TRUE(env.ok());
  auto first = desk_->Submit(*env, seconds(10));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(WaitUntil(
      [&] { return Clock::System()->NowMs() > d.expires_at_ms + 100; }));
  auto again = desk_->Submit(*env, seconds(10));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->sequence, first->sequence);
  // A new message with the same expiry is refused.
  EnvelopeDraft late = SampleDraft(kDesk, {"caf"});
  late.created_at_ms = d.created_at_ms;
  late.expires_at_ms = d.expires_at_ms;
  EXPECT_EQ(StatusOfSubmit(*desk_->Seal(late)).reject_code(),
            RejectCode::Expired);
}

TEST_F(BrokerTest, SameMessageIdWithOtherContentIsAConflict) {
  SealedEnvelope env = SealFromDesk({"caf"});
  ASSERT_TRUE(desk_->Submit(env, seconds(10)).ok());
  EnvelopeDraft other = SampleDraft(kDesk, {"cpam"});
  other.message_id = env.message_id;
  auto forged = desk_->Seal(other);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(StatusOfSubmit(*forged).reject_code(),
            RejectCode::DuplicateConflict);
}

TEST_F(BrokerTest, ForgedSignatureIsRejectedWithItsCode) {
  // Signed by a key that is not the desk's, under the desk's key id.
  Identity impostor = MakeIdentity(kDesk);
  SigningKey key = impostor.signing;
  key.key_id = stack_.IdentityOf(kDesk).signing.key_id;
  auto forged = SealEnvelope(SampleDraft(kDesk, {"caf"}), key);
  ASSERT_TRUE(forged.ok());
  Status st = StatusOfSubmit(*forged);
  EXPECT_EQ(st.reject_code(), RejectCode::BadSignature) << st.ToString();
  EXPECT_EQ(static_cast<int>(st.reject_code()), 203);
  // The broker keeps serving.
  EXPECT_TRUE(StatusOfSubmit(SealFromDesk({"caf"})).ok());
}

TEST_F(BrokerTest, SenderMustBeTheConnectionsIdentity) {
  Identity caf = stack_.IdentityOf("caf");
  auto env = SealEnvelope(SampleDraft("caf", {"cpam"}), caf.signing);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(StatusOfSubmit(*env).reject_code(), RejectCode::SenderMismatch);
}

TEST_F(BrokerTest, PolicyIsDenyByDefault) {
  auto caf = stack_.Connect("caf");
  ASSERT_TRUE(caf.ok());
  // caf may send rsa_application to cpam and france-travail only.
  EnvelopeDraft d = SampleDraft("caf", {"dgfip"});
  d.case_type = wire::CaseType::RsaApplication;
  d.encoding = wire::PayloadEncoding::Opaque;
  auto env = (*caf)->Seal(d);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ((*caf)->Submit(*env, seconds(10)).status().reject_code(),
            RejectCode::NotAuthorised);
  EXPECT_EQ(StatusOfSubmit(SealFromDesk({"caf", "nobody"})).reject_code(),
            RejectCode::UnknownRecipient);
}

TEST_F(BrokerTest, ExpiredAndFutureMessagesAreRejected) {
  EnvelopeDraft d = SampleDraft(kDesk, {"caf"});
  d.created_at_ms = Clock::System()->NowMs() - 7200 * 1000;
  d.expires_at_ms = Clock::System()->NowMs() - 1000;
  EXPECT_EQ(StatusOfSubmit(*desk_->Seal(d)).reject_code(), RejectCode::Expired);
  d.created_at_ms = Clock::System()->NowMs() + 3600 * 1000;
  d.expires_at_ms = d.created_at_ms + 3600 * 1000;
  EXPECT_EQ(StatusOfSubmit(*desk_->Seal(d)).reject_code(),
            RejectCode::ClockSkew);
}

TEST_F(BrokerTest, UnregisteredCurveKeyCannotConnect) {
  sdk::ClientOptions options;
  options.endpoint = stack_.endpoint();
  options.broker_public_key = stack_.BrokerCurvePublic();
  options.identity = MakeIdentity("caf");  // right name, unregistered keys
  options.reconnect_min = milliseconds(50);
  auto intruder = sdk::Client::Start(std::move(options));
  ASSERT_TRUE(intruder.ok());
  // The handshake is refused by the broker's authentication (libzmq then
  // stops reconnecting), and none was accepted.
  ASSERT_TRUE(WaitUntil(
      [&] { return (*intruder)->stats().auth_failures.load() >= 1; }));
  EXPECT_EQ((*intruder)->stats().connects.load(), 0u);
  EXPECT_FALSE((*intruder)->connected());

  // A raw DEALER with unregistered keys: its handshake fails
  // authentication (and is not tried again), so its Hello never reaches the
  // broker and nothing can come back.
  zmq::context_t ctx;
  zmq::socket_t raw(ctx, zmq::socket_type::dealer);
  const auto keys = *crypto::GenerateCurveKeyPair();
  raw.set(zmq::sockopt::curve_serverkey, stack_.BrokerCurvePublic());
  raw.set(zmq::sockopt::curve_publickey, keys.public_z85);
  raw.set(zmq::sockopt::curve_secretkey, keys.secret_z85);
  raw.set(zmq::sockopt::linger, 0);
  ASSERT_EQ(zmq_socket_monitor(raw.handle(), "inproc://intruder",
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
            0);
  zmq::socket_t events(ctx, zmq::socket_type::pair);
  events.connect("inproc://intruder");
  raw.connect(stack_.endpoint());
  const std::string hello = HelloFrame(1, "caf", 0, "intruder");
  raw.send(zmq::buffer(hello), zmq::send_flags::none);
  zmq::pollitem_t item{events.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, seconds(20)), 1) << "no handshake";
  zmq::message_t event, endpoint;
  ASSERT_TRUE(events.recv(event));
  ASSERT_TRUE(events.recv(endpoint));
  uint16_t id = 0;
  ASSERT_GE(event.size(), sizeof(id));
  std::memcpy(&id, event.data(), sizeof(id));
  EXPECT_EQ(id, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  zmq::message_t reply;
  EXPECT_FALSE(raw.recv(reply, zmq::recv_flags::dontwait).has_value());
  raw.close();
  events.close();
}

TEST_F(BrokerTest, BadFramesGetCodedRejectionsAndDisturbNothing) {
  RawClient raw(stack_.endpoint(), stack_.BrokerCurvePublic(),
                stack_.IdentityOf("caf").curve);
  raw.Send("definitely not a flatbuffer");
  EXPECT_EQ(CodeOf(raw.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::MalformedFrame);
  const std::string submit = SubmitFrame(1, "garbage envelope bytes");
  raw.Send(std::string_view(submit).substr(0, submit.size() / 2));
  EXPECT_EQ(CodeOf(raw.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::MalformedFrame);
  raw.Send(
      SubmitFrame(2, "garbage envelope bytes, long enough to be verified"));
  EXPECT_EQ(CodeOf(raw.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::MalformedEnvelope);
  raw.Send(HelloFrame(3, "cpam", 8, "liar"));
  EXPECT_EQ(CodeOf(raw.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::HelloMismatch);
  raw.Send(DeliveryAckFrame(4, 999, std::string(16, 'x'),
                            wire::AckOutcome::Processed, ""));
  EXPECT_EQ(CodeOf(raw.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::UnknownDelivery);
  raw.Send(AcceptedFrame(5, std::string(16, 'x'), 1, 1, false));
  EXPECT_EQ(CodeOf(raw.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::UnexpectedFrame);
  raw.Send(CaseStatusQueryFrame(6, "no-such-case"));
  EXPECT_EQ(CodeOf(raw.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::UnknownCase);
  // The same connection still works, and so does everyone else's.
  raw.Send(HeartbeatFrame(7, 1));
  auto hb = raw.ReceiveType(wire::Body::Heartbeat, seconds(5));
  ASSERT_TRUE(hb.has_value());
  EXPECT_EQ((*ParseFrame(*hb))->request_id(), 7u);
  EXPECT_TRUE(StatusOfSubmit(SealFromDesk({"caf"})).ok());
}

// Text a participant sends is checked before the broker keeps or repeats
// it: a control character or invalid UTF-8 gets 100 naming the field and
// the byte, never echoing it, and the broker's log keeps one line per event.
TEST_F(BrokerTest, TextFieldsAreCheckedBeforeTheBrokerRepeatsThem) {
  RawClient raw(stack_.endpoint(), stack_.BrokerCurvePublic(),
                stack_.IdentityOf("caf").curve);
  const auto reason_of = [](const std::optional<std::string>& frame) {
    auto f = ParseFrame(*frame);
    return std::string(StringView((*f)->body_as_Rejected()->reason()));
  };
  const std::string forged =
      "sdk\n2026-11-28T00:00:00.000 critical relaisd: forged line";
  raw.Send(HelloFrame(1, "caf", 4, forged));
  auto r = raw.ReceiveType(wire::Body::Rejected, seconds(5));
  EXPECT_EQ(CodeOf(r), RejectCode::MalformedFrame);
  EXPECT_EQ(reason_of(r), "Hello.software: a control character at byte 3");
  raw.Send(HelloFrame(2, "caf\xE9", 4, "ok"));
  r = raw.ReceiveType(wire::Body::Rejected, seconds(5));
  EXPECT_EQ(reason_of(r), "Hello.participant: not UTF-8 at byte 3");
  raw.Send(HelloFrame(3, "caf", 4, std::string(129, 's')));
  EXPECT_EQ(reason_of(raw.ReceiveType(wire::Body::Rejected, seconds(5))),
            "Hello.software: 129 bytes, at most 128");
  raw.Send(DeliveryAckFrame(4, 1, std::string(16, 'x'),
                            wire::AckOutcome::Rejected, "bad\x01reason"));
  r = raw.ReceiveType(wire::Body::Rejected, seconds(5));
  EXPECT_EQ(reason_of(r), "DeliveryAck.reason: a control character at byte 3");
  EXPECT_EQ(VectorBytes((*ParseFrame(*r))->body_as_Rejected()->message_id()),
            std::string(16, 'x'));
  raw.Send(StatusUpdateFrame(5, std::string(16, 'x'),
                             wire::RecipientState::Rejected,
                             std::string(1025, 'r')));
  EXPECT_EQ(reason_of(raw.ReceiveType(wire::Body::Rejected, seconds(5))),
            "StatusUpdate.reason: 1025 bytes, at most 1024");
  raw.Send(CaseStatusQueryFrame(6, "c-1\n' OR 1=1"));
  r = raw.ReceiveType(wire::Body::Rejected, seconds(5));
  EXPECT_EQ(CodeOf(r), RejectCode::MalformedFrame);
  EXPECT_EQ(reason_of(r).find('\n'), std::string::npos);
  // The connection still works; the log holds no line the sender forged.
  raw.Send(HelloFrame(7, "caf", 4, "relais-test/1"));
  ASSERT_TRUE(raw.ReceiveType(wire::Body::Welcome, seconds(5)).has_value());
  EXPECT_EQ(stack_.BrokerLog().find("critical relaisd: forged"),
            std::string::npos);
  EXPECT_TRUE(StatusOfSubmit(SealFromDesk({"caf"})).ok());
}

// A recipient that refuses a delivery (its adapter cannot use it) tells the
// sender: a StatusReport Rejected with the recipient's reason.
TEST_F(BrokerTest, ARefusedDeliveryIsReportedToItsSender) {
  DeliveryCounter reports;
  auto desk = stack_.Connect(kDesk, reports.Handler());
  ASSERT_TRUE(desk.ok());
  auto caf = stack_.Connect("caf", [](const sdk::Delivery&) {
    return sdk::HandlerResult::Rejected(
        "field nir: NIR key does not match the first 13 characters");
  });
  ASSERT_TRUE(caf.ok());
  auto env = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
  ASSERT_TRUE(env.ok());
  ASSERT_TRUE((*desk)->Submit(*env, seconds(10)).ok());
  std::string report;
  ASSERT_TRUE(WaitUntil([&] {
    for (const auto& id : reports.ids()) report = reports.payload(id);
    return !report.empty();
  })) << stack_.BrokerLog();
  const auto* r = flatbuffers::GetRoot<wire::StatusReport>(report.data());
  EXPECT_EQ(VectorBytes(r->message_id()), env->message_id);
  EXPECT_EQ(StringView(r->recipient()), "caf");
  EXPECT_EQ(r->state(), wire::RecipientState::Rejected);
  EXPECT_EQ(StringView(r->detail()),
            "field nir: NIR key does not match the first 13 characters");
}

// A recipient acking what is not in flight to it, acking twice, or asking
// for more credit than it may have: coded rejections, and its deliveries
// go on exactly as before.
TEST_F(BrokerTest, ForeignAcksRepeatedAcksAndExcessCreditChangeNothing) {
  RawClient caf(stack_.endpoint(), stack_.BrokerCurvePublic(),
                stack_.IdentityOf("caf").curve);
  caf.Send(HelloFrame(1, "caf", 1, "test"));
  auto welcome = caf.ReceiveType(wire::Body::Welcome, seconds(5));
  ASSERT_TRUE(welcome.has_value());
  const uint32_t max_window =
      (*ParseFrame(*welcome))->body_as_Welcome()->max_window();
  EXPECT_EQ(max_window, 1024u);
  SealedEnvelope first = SealFromDesk({"caf"});
  SealedEnvelope second = SealFromDesk({"caf"});
  ASSERT_TRUE(desk_->Submit(first, seconds(10)).ok());
  ASSERT_TRUE(desk_->Submit(second, seconds(10)).ok());
  auto deliver = caf.ReceiveType(wire::Body::Deliver, seconds(5));
  ASSERT_TRUE(deliver.has_value());
  const uint64_t seq = (*ParseFrame(*deliver))->body_as_Deliver()->sequence();

  // Another participant acking caf's delivery.
  RawClient cpam(stack_.endpoint(), stack_.BrokerCurvePublic(),
                 stack_.IdentityOf("cpam").curve);
  cpam.Send(HelloFrame(1, "cpam", 1, "test"));
  ASSERT_TRUE(cpam.ReceiveType(wire::Body::Welcome, seconds(5)).has_value());
  cpam.Send(DeliveryAckFrame(2, seq, first.message_id,
                             wire::AckOutcome::Processed, ""));
  EXPECT_EQ(CodeOf(cpam.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::UnknownDelivery);
  // The right sequence with another message's id.
  caf.Send(DeliveryAckFrame(3, seq, second.message_id,
                            wire::AckOutcome::Processed, ""));
  EXPECT_EQ(CodeOf(caf.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::UnknownDelivery);
  // More credit than the broker grants: refused, the window stays 1.
  caf.Send(CreditFrame(4, max_window + 1));
  // A granted Credit sends what the new window allows at once, before the
  // broker reads the next frame: the second message did not come before
  // the answer to a later Heartbeat, so the window is still 1 (a
  // redelivery of the first, unacknowledged, may come).
  auto after_credit = FramesBeforeHeartbeat(caf, 40);
  ASSERT_TRUE(after_credit.has_value());
  int too_large = 0;
  for (const auto& f : *after_credit) {
    if (CodeOf(f) == RejectCode::WindowTooLarge) ++too_large;
    const auto* d = (*ParseFrame(f))->body_as_Deliver();
    if (d != nullptr) {
      EXPECT_EQ(d->sequence(), seq) << "the window grew";
    }
  }
  EXPECT_EQ(too_large, 1);
  // None of that acknowledged the first message: its status says so.
  const std::string case_id(ParseEnvelope(first.bytes)->case_id);
  auto state = desk_->QueryCase(case_id);
  ASSERT_TRUE(state.ok());
  EXPECT_NE(ParseCaseState(*state)->recipients()->Get(0)->state(),
            wire::RecipientState::Delivered);

  // The real ack lets the second through; acking the first again is
  // refused.
  caf.Send(DeliveryAckFrame(5, seq, first.message_id,
                            wire::AckOutcome::Processed, ""));
  auto next = caf.ReceiveType(wire::Body::Deliver, seconds(5));
  ASSERT_TRUE(next.has_value());
  auto env = ParseEnvelope(
      VectorBytes((*ParseFrame(*next))->body_as_Deliver()->envelope()));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->message_id, second.message_id);
  caf.Send(DeliveryAckFrame(6, seq, first.message_id,
                            wire::AckOutcome::Processed, ""));
  EXPECT_EQ(CodeOf(caf.ReceiveType(wire::Body::Rejected, seconds(5))),
            RejectCode::UnknownDelivery);
  // A Credit within the cap is accepted silently.
  caf.Send(CreditFrame(7, max_window));
  auto after_cap = FramesBeforeHeartbeat(caf, 8);
  ASSERT_TRUE(after_cap.has_value());
  for (const auto& f : *after_cap) EXPECT_EQ(CodeOf(f), RejectCode::None);
}

// A recipient's partner reports received, in progress, done: the case
// shows each, the originator gets a StatusReport for each change, and what
// does not follow is refused with StatusNotAllowed.
TEST_F(BrokerTest, PartnerStatusesReachTheCaseAndItsOriginator) {
  struct Report {
    std::string message_id;
    wire::RecipientState state;
    std::string detail;
  };
  std::mutex mu;
  std::vector<Report> reports;
  DeliveryCounter caf_seen;
  auto desk = stack_.Connect(kDesk, [&](const sdk::Delivery& d) {
    if (const auto* r = sdk::AsStatusReport(*d.envelope)) {
      std::lock_guard<std::mutex> lock(mu);
      reports.push_back({std::string(VectorBytes(r->message_id())), r->state(),
                         std::string(StringView(r->detail()))});
    }
    return sdk::HandlerResult::Processed();
  });
  auto caf = stack_.Connect("caf", caf_seen.Handler());
  auto cpam = stack_.Connect("cpam");
  ASSERT_TRUE(desk.ok() && caf.ok() && cpam.ok());
  auto env = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
  ASSERT_TRUE((*desk)->Submit(*env, seconds(10)).ok());
  const std::string id = env->message_id;
  const std::string case_id(ParseEnvelope(env->bytes)->case_id);
  const auto state_of_caf = [&] {
    auto st = (*desk)->QueryCase(case_id);
    return st.ok() ? ParseCaseState(*st)->recipients()->Get(0)->state()
                   : wire::RecipientState::Sent;
  };
  ASSERT_TRUE(WaitUntil(
      [&] { return state_of_caf() == wire::RecipientState::Delivered; }));

  using S = wire::RecipientState;
  auto received = (*caf)->ReportStatus(id, S::Received);
  ASSERT_TRUE(received.ok()) << received.status().ToString();
  EXPECT_TRUE(received->changed);
  EXPECT_TRUE((*caf)->ReportStatus(id, S::InProgress).ok());
  // Said again: recorded, nothing changes, no report.
  auto again = (*caf)->ReportStatus(id, S::InProgress);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  // Backwards, or from someone who did not receive it: refused.
  EXPECT_EQ((*caf)->ReportStatus(id, S::Received).status().reject_code(),
            RejectCode::StatusNotAllowed);
  EXPECT_EQ((*cpam)->ReportStatus(id, S::Done).status().reject_code(),
            RejectCode::StatusNotAllowed);
  EXPECT_EQ((*caf)
                ->ReportStatus(std::string(16, 'z'), S::Done)
                .status()
                .reject_code(),
            RejectCode::StatusNotAllowed);
  EXPECT_EQ((*caf)->ReportStatus(id, S::Delivered).status().reject_code(),
            RejectCode::MalformedFrame);
  auto done = (*caf)->ReportStatus(id, S::Done, "dossier mis à jour");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(state_of_caf(), S::Done);
  EXPECT_EQ(
      (*caf)->ReportStatus(id, S::Rejected, "trop tard").status().reject_code(),
      RejectCode::StatusNotAllowed);  // nothing follows Done

  // A later report, on another message: the desk's reports come in the
  // order the broker recorded them, so once it has this one, any report
  // the repeated or refused statuses above had made would be there too.
  auto marker = SubmitMarker(**desk, "caf");
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  ASSERT_TRUE(WaitUntil(
      [&] { return (*caf)->ReportStatus(*marker, S::Received).ok(); }));
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !reports.empty() && reports.back().message_id == *marker;
  }));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(reports.size(), 4u);
  EXPECT_EQ(reports[0].state, S::Received);
  EXPECT_EQ(reports[1].state, S::InProgress);
  EXPECT_EQ(reports[2].state, S::Done);
  EXPECT_EQ(reports[2].detail, "dossier mis à jour");
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(reports[i].message_id, id);
  // The trail says it too.
  auto st = (*desk)->QueryCase(case_id);
  ASSERT_TRUE(st.ok());
  std::vector<wire::TraceEvent> events;
  for (const auto* e : *ParseCaseState(*st)->trail()) {
    if (StringView(e->party()) == "caf") events.push_back(e->event());
  }
  EXPECT_EQ(events, (std::vector<wire::TraceEvent>{
                        wire::TraceEvent::Delivered, wire::TraceEvent::Received,
                        wire::TraceEvent::InProgress, wire::TraceEvent::Done}));
}

TEST_F(BrokerTest, CaseStatusIsOnlyForTheCasesParties) {
  SealedEnvelope env = SealFromDesk({"caf"});
  ASSERT_TRUE(desk_->Submit(env, seconds(10)).ok());
  const std::string case_id(ParseEnvelope(env.bytes)->case_id);
  auto caf = stack_.Connect("caf");
  auto dgfip = stack_.Connect("dgfip");
  ASSERT_TRUE(caf.ok() && dgfip.ok());
  EXPECT_TRUE((*caf)->QueryCase(case_id).ok());
  EXPECT_EQ((*dgfip)->QueryCase(case_id).status().reject_code(),
            RejectCode::UnknownCase);
}

TEST(BrokerLimitsTest, OversizedEnvelopeIsRejectedWithItsCode) {
  deploy::StackSpec spec;
  spec.broker_extra = "max_message_bytes = 4096\n";
  TestStack stack(spec);
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  auto desk = stack.Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  EnvelopeDraft d = SampleDraft(kDesk, {"caf"});
  d.encoding = wire::PayloadEncoding::Opaque;
  d.payload = std::string(10000, 'p');
  auto big = (*desk)->Seal(d);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ((*desk)->Submit(*big, seconds(10)).status().reject_code(),
            RejectCode::MessageTooLarge);
  d.payload = std::string(1000, 'p');
  EXPECT_TRUE((*desk)->Submit(*(*desk)->Seal(d), seconds(10)).ok());

  // Over the transport ceiling (2 x 4096 + 64 KiB), libzmq would close the
  // connection at each resend: the SDK refuses it itself, with the same
  // code, and stays connected.
  const uint64_t connects = (*desk)->stats().connects.load();
  d.payload = std::string(200000, 'p');
  auto huge = (*desk)->Submit(*(*desk)->Seal(d), seconds(10));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().reject_code(), RejectCode::MessageTooLarge);
  EXPECT_NE(huge.status().message().find("exceeds the limit of 4096"),
            std::string::npos)
      << huge.status().message();
  d.payload = std::string(1000, 'p');
  EXPECT_TRUE((*desk)->Submit(*(*desk)->Seal(d), seconds(10)).ok());
  EXPECT_EQ((*desk)->stats().connects.load(), connects);
}

}  // namespace
}  // namespace relais::testing

namespace relais::testing {
namespace {

// The reference directory: a death reaches by subscription exactly the
// agencies that registered the citizen; unregistering takes one out; the
// registrations are journaled (they survive a SIGKILL of relaisd);
// malformed requests get coded refusals.
TEST_F(BrokerTest, RouteBySubscriptionNamesTheAgenciesThatKnowTheCitizen) {
  std::map<std::string, std::unique_ptr<sdk::Client>> agencies;
  for (const char* a : {"caf", "cpam", "dgfip", "france-travail"}) {
    auto c = stack_.Connect(a);
    ASSERT_TRUE(c.ok());
    agencies[a] = std::move(*c);
  }
  const std::string jeanne(32, 'J'), paul(32, 'P');
  auto route = [&](const std::string& from, const std::string& ref) {
    auto r = agencies[from]->Route(wire::CaseType::DeathNotification, ref);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<std::string>{"error"};
  };
  EXPECT_TRUE(route("cpam", jeanne).empty());  // nobody knows her yet
  EXPECT_EQ(*agencies["caf"]->RegisterSubjects({jeanne, paul}), 2u);
  EXPECT_EQ(*agencies["caf"]->RegisterSubjects({jeanne}), 0u);  // already
  EXPECT_EQ(*agencies["dgfip"]->RegisterSubjects({jeanne}), 1u);
  EXPECT_EQ(*agencies["cpam"]->RegisterSubjects({jeanne}), 1u);
  // The sender is left out; France Travail does not know her.
  EXPECT_EQ(route("cpam", jeanne), (std::vector<std::string>{"caf", "dgfip"}));
  EXPECT_EQ(route("cpam", paul), std::vector<std::string>{"caf"});
  // Another case type nobody subscribed to: nobody.
  auto births = agencies["cpam"]->Route(wire::CaseType::Birth, jeanne);
  ASSERT_TRUE(births.ok());
  EXPECT_TRUE(births->empty());
  EXPECT_EQ(*agencies["dgfip"]->RegisterSubjects({jeanne}, true), 1u);
  EXPECT_EQ(route("cpam", jeanne), std::vector<std::string>{"caf"});

  // Journaled: a SIGKILLed broker still knows.
  agencies.clear();
  stack_.KillBroker();
  ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
  auto cpam = stack_.Connect("cpam");
  ASSERT_TRUE(cpam.ok());
  auto after = (*cpam)->Route(wire::CaseType::DeathNotification, jeanne);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, std::vector<std::string>{"caf"});

  // Malformed: a reference of 31 bytes, none at all, a case type of 0.
  for (const auto& refs : {std::vector<std::string>{std::string(31, 'x')},
                           std::vector<std::string>{}}) {
    auto bad = (*cpam)->RegisterSubjects(refs);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().reject_code(), RejectCode::MalformedFrame);
  }
  auto bad_type = (*cpam)->Route(wire::CaseType::Unknown, jeanne);
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.status().reject_code(), RejectCode::MalformedFrame);
}

}  // namespace
}  // namespace relais::testing
