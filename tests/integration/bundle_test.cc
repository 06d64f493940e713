// Integration: Bundle frames (PROTOCOL.md 3.1) through a real relaisd on
// 127.0.0.1, sent and read by raw clients: each bundled frame gets the
// answer it would get alone, a bad bundle is refused whole or frame by
// frame, and deliveries come in bundles only to a connection that asked.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::seconds;
using wire::RejectCode;

constexpr char kDesk[] = "france-services/paris-15";

// The frames one message from the broker holds: its bundle's, or itself.
std::vector<std::string> Unpack(const std::string& message) {
  auto f = ParseFrame(message);
  if (!f.ok()) return {};
  if ((*f)->body_type() != wire::Body::Bundle) return {message};
  std::vector<std::string> out;
  for (auto bytes : BundledFrames(*(*f)->body_as_Bundle())) {
    out.emplace_back(bytes);
  }
  return out;
}

bool IsBundle(const std::string& message) {
  auto f = ParseFrame(message);
  return f.ok() && (*f)->body_type() == wire::Body::Bundle;
}

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
    auto desk = stack_.Connect(kDesk);
    ASSERT_TRUE(desk.ok()) << desk.status().ToString();
    desk_ = std::move(*desk);
  }

  SealedEnvelope Seal(std::vector<std::string> recipients) {
    auto sealed = desk_->Seal(SampleDraft(kDesk, std::move(recipients)));
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return *sealed;
  }

  RawClient Raw(const std::string& participant) {
    return RawClient(stack_.endpoint(), stack_.BrokerCurvePublic(),
                     stack_.IdentityOf(participant).curve);
  }

  // Receives on `raw` until every request id of `wanted` has its answer
  // (or 20 s pass): the answers by request id (0: the refusals that cannot
  // name one), and how many of the messages were bundles.
  struct Answers {
    std::multimap<uint64_t, std::string> by_request;
    int bundles = 0;
  };
  Answers Collect(RawClient& raw, const std::set<uint64_t>& wanted) {
    Answers a;
    std::set<uint64_t> missing = wanted;
    const auto until = std::chrono::steady_clock::now() + seconds(20);
    while (!missing.empty() && std::chrono::steady_clock::now() < until) {
      auto message = raw.Receive(std::chrono::milliseconds(500));
      if (!message) continue;
      if (IsBundle(*message)) ++a.bundles;
      for (auto& frame : Unpack(*message)) {
        const uint64_t req = (*ParseFrame(frame))->request_id();
        missing.erase(req);
        a.by_request.emplace(req, std::move(frame));
      }
    }
    EXPECT_TRUE(missing.empty()) << missing.size() << " answer(s) missing";
    return a;
  }

  TestStack stack_;
  std::unique_ptr<sdk::Client> desk_;
};

TEST_F(BundleTest, EachBundledFrameGetsTheAnswerItWouldGetAlone) {
  RawClient raw = Raw(kDesk);
  const SealedEnvelope first = Seal({"caf"});
  const SealedEnvelope second = Seal({"cpam"});
  const std::string nested = BundleFrame(13, {HeartbeatFrame(99, 1)});
  const std::vector<std::string> frames = {
      SubmitFrame(11, first.bytes),
      SubmitFrame(12, second.bytes),
      std::string("not a frame at all, and long enough to be read"),
      nested,
      SubmitFrame(14, first.bytes),  // the same again: a duplicate
      SubmitFrame(15, "garbage envelope bytes, long enough to be verified"),
      HeartbeatFrame(16, 1)};
  raw.Send(BundleFrame(10, {frames.begin(), frames.end()}));
  Answers a = Collect(raw, {0, 11, 12, 13, 14, 15, 16});

  auto only = [&](uint64_t req) -> std::string {
    EXPECT_EQ(a.by_request.count(req), 1u) << "request " << req;
    auto it = a.by_request.find(req);
    return it == a.by_request.end() ? std::string() : it->second;
  };
  const std::string answers[] = {only(11), only(12), only(14), only(16)};
  for (const auto& answer : answers) ASSERT_TRUE(ParseFrame(answer).ok());
  const auto* one = (*ParseFrame(answers[0]))->body_as_Accepted();
  const auto* two = (*ParseFrame(answers[1]))->body_as_Accepted();
  const auto* again = (*ParseFrame(answers[2]))->body_as_Accepted();
  ASSERT_TRUE(one && two && again);
  EXPECT_EQ(VectorBytes(one->message_id()), first.message_id);
  EXPECT_EQ(VectorBytes(two->message_id()), second.message_id);
  EXPECT_FALSE(one->duplicate());
  EXPECT_TRUE(again->duplicate());
  EXPECT_EQ(again->sequence(), one->sequence());
  EXPECT_EQ(CodeOf(only(13)), RejectCode::MalformedFrame);  // nested bundle
  EXPECT_EQ(CodeOf(only(15)), RejectCode::MalformedEnvelope);
  EXPECT_EQ(CodeOf(only(0)), RejectCode::MalformedFrame);  // the garbage
  EXPECT_NE((*ParseFrame(answers[3]))->body_as_Heartbeat(), nullptr);
  // The answers the loop gives at once (the two refusals and the
  // heartbeat) went together, in one bundle at least.
  EXPECT_GE(a.bundles, 1);
  // No answer names the bundle itself, nor the heartbeat inside the nested
  // one (it was not handled).
  EXPECT_EQ(a.by_request.count(10), 0u);
  EXPECT_EQ(a.by_request.count(99), 0u);
}

TEST_F(BundleTest, AnEmptyOrOversizedBundleIsRefusedWhole) {
  RawClient raw = Raw(kDesk);
  raw.Send(BundleFrame(20, {}));
  auto empty = raw.ReceiveType(wire::Body::Rejected, seconds(5));
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(CodeOf(empty), RejectCode::MalformedFrame);
  EXPECT_EQ((*ParseFrame(*empty))->request_id(), 20u);

  std::vector<std::string> many;
  for (uint64_t i = 0; i <= kMaxBundleFrames; ++i) {
    many.push_back(HeartbeatFrame(1000 + i, 1));
  }
  raw.Send(BundleFrame(21, {many.begin(), many.end()}));
  auto before = FramesBeforeHeartbeat(raw, 22);
  ASSERT_TRUE(before.has_value());
  int refused = 0;
  for (const auto& message : *before) {
    for (const auto& frame : Unpack(message)) {
      const auto* f = *ParseFrame(frame);
      // None of the oversized bundle's heartbeats was answered.
      EXPECT_NE(f->body_type(), wire::Body::Heartbeat);
      if (CodeOf(frame) == RejectCode::MalformedFrame &&
          f->request_id() == 21) {
        ++refused;
      }
    }
  }
  EXPECT_EQ(refused, 1);
}

TEST_F(BundleTest, DeliveriesComeInBundlesOnlyToAConnectionThatAsked) {
  // Five for caf (which reads bundles) and three for cpam (which does
  // not), queued before either connects.
  std::vector<std::string> to_caf, to_cpam, caf_cases;
  for (int i = 0; i < 5; ++i) {
    SealedEnvelope e = Seal({"caf"});
    ASSERT_TRUE(desk_->Submit(e, seconds(10)).ok());
    to_caf.push_back(e.message_id);
    caf_cases.emplace_back(ParseEnvelope(e.bytes)->case_id);
  }
  for (int i = 0; i < 3; ++i) {
    SealedEnvelope e = Seal({"cpam"});
    ASSERT_TRUE(desk_->Submit(e, seconds(10)).ok());
    to_cpam.push_back(e.message_id);
  }

  RawClient caf = Raw("caf");
  caf.Send(HelloFrame(1, "caf", 64, "test", /*bundles=*/true));
  auto welcome = caf.ReceiveType(wire::Body::Welcome, seconds(5));
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ((*ParseFrame(*welcome))->body_as_Welcome()->max_bundle_frames(),
            kMaxBundleFrames);
  // The Hello's pump sends the whole queue at once: one bundle, in order.
  auto bundle = caf.ReceiveType(wire::Body::Bundle, seconds(10));
  ASSERT_TRUE(bundle.has_value());
  std::vector<std::string> got, acks;
  uint64_t last_sequence = 0;
  for (const auto& frame : Unpack(*bundle)) {
    const auto* d = (*ParseFrame(frame))->body_as_Deliver();
    ASSERT_NE(d, nullptr);
    EXPECT_GT(d->sequence(), last_sequence);
    last_sequence = d->sequence();
    EXPECT_EQ(d->attempt(), 1u);
    auto env = ParseEnvelope(VectorBytes(d->envelope()));
    ASSERT_TRUE(env.ok());
    got.emplace_back(env->message_id);
    acks.push_back(DeliveryAckFrame(0, d->sequence(), env->message_id,
                                    wire::AckOutcome::Processed, ""));
  }
  EXPECT_EQ(got, to_caf);
  // All five acknowledged in one bundle: no refusal, and every case says
  // caf has them.
  caf.Send(BundleFrame(0, {acks.begin(), acks.end()}));
  auto after = FramesBeforeHeartbeat(caf, 2);
  ASSERT_TRUE(after.has_value());
  for (const auto& message : *after) {
    for (const auto& frame : Unpack(message)) {
      EXPECT_EQ(CodeOf(frame), RejectCode::None);
    }
  }
  EXPECT_TRUE(WaitUntil([&] {
    for (const auto& case_id : caf_cases) {
      auto state = desk_->QueryCase(case_id);
      if (!state.ok() ||
          ParseCaseState(*state)->recipients()->Get(0)->state() !=
              wire::RecipientState::Delivered) {
        return false;
      }
    }
    return true;
  }));

  // cpam said nothing of bundles: one Deliver per message.
  RawClient cpam = Raw("cpam");
  cpam.Send(HelloFrame(1, "cpam", 64, "test"));
  ASSERT_TRUE(cpam.ReceiveType(wire::Body::Welcome, seconds(5)).has_value());
  std::vector<std::string> plain;
  for (int i = 0; i < 3; ++i) {
    auto message = cpam.Receive(seconds(10));
    ASSERT_TRUE(message.has_value());
    ASSERT_FALSE(IsBundle(*message));
    const auto* d = (*ParseFrame(*message))->body_as_Deliver();
    ASSERT_NE(d, nullptr);
    plain.emplace_back(ParseEnvelope(VectorBytes(d->envelope()))->message_id);
  }
  EXPECT_EQ(plain, to_cpam);
}

TEST_F(BundleTest, ABundledHellosWelcomeComesBeforeItsDeliveries) {
  // Three waiting for caf; its Hello comes inside a bundle, whose answers
  // gather until the loop's turn ends, while the Hello's pump sends the
  // deliveries at once. PROTOCOL.md 6.1: the Welcome precedes any Deliver.
  std::vector<std::string> queued;
  for (int i = 0; i < 3; ++i) {
    SealedEnvelope e = Seal({"caf"});
    ASSERT_TRUE(desk_->Submit(e, seconds(10)).ok());
    queued.push_back(e.message_id);
  }
  RawClient caf = Raw("caf");
  caf.Send(
      BundleFrame(7, {HelloFrame(8, "caf", 8, "test", /*bundles=*/false)}));
  std::vector<wire::Body> order;
  std::vector<std::string> delivered;
  const auto until = std::chrono::steady_clock::now() + seconds(20);
  while (delivered.size() < queued.size() &&
         std::chrono::steady_clock::now() < until) {
    auto message = caf.Receive(std::chrono::milliseconds(500));
    if (!message) continue;
    for (const auto& frame : Unpack(*message)) {
      const auto* f = *ParseFrame(frame);
      order.push_back(f->body_type());
      if (const auto* d = f->body_as_Deliver()) {
        delivered.emplace_back(
            ParseEnvelope(VectorBytes(d->envelope()))->message_id);
      }
    }
  }
  ASSERT_EQ(delivered, queued);
  ASSERT_FALSE(order.empty());
  EXPECT_EQ(order.front(), wire::Body::Welcome)
      << "first frame: " << wire::EnumNameBody(order.front());
  EXPECT_EQ(std::count(order.begin(), order.end(), wire::Body::Welcome), 1);
}

}  // namespace
}  // namespace relais::testing
