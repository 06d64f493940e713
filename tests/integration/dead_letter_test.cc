// Fault tests: redelivery on a live connection, retry budget and expiry to
// dead letters, the sender's status report, and an operator's replay and
// drop through the `relais dead-letters` command, against a real relaisd.

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "deploy/lib/process.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kDesk[] = "france-services/paris-15";

deploy::StackSpec FastRetries() {
  deploy::StackSpec spec;
  spec.broker_extra =
      "redelivery_initial_ms = 200\nredelivery_max_ms = 400\nmax_attempts = "
      "3\n";
  return spec;
}

// Status reports the desk's handler received.
struct Reports {
  std::mutex mu;
  std::vector<std::pair<std::string, wire::RecipientState>> got;
  sdk::DeliveryHandler Handler() {
    return [this](const sdk::Delivery& d) {
      if (const auto* r = sdk::AsStatusReport(*d.envelope)) {
        std::lock_guard<std::mutex> lock(mu);
        got.emplace_back(std::string(StringView(r->recipient())), r->state());
      }
      return sdk::HandlerResult::Processed();
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return got.size();
  }
};

class DeadLetterTest : public ::testing::Test {
 protected:
  DeadLetterTest() : stack_(FastRetries()) {}
  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
    auto desk = stack_.Connect(kDesk, reports_.Handler());
    ASSERT_TRUE(desk.ok()) << desk.status().ToString();
    desk_ = std::move(*desk);
  }
  std::string OperatorConfig() {
    return stack_.layout().ClientConfig("operator");
  }

  TestStack stack_;
  Reports reports_;
  std::unique_ptr<sdk::Client> desk_;
};

TEST_F(DeadLetterTest, SilentRecipientGetsRetriesThenADeadLetterThenAReplay) {
  // caf connects but never acknowledges.
  RawClient caf(stack_.endpoint(), stack_.BrokerCurvePublic(),
                stack_.IdentityOf("caf").curve);
  caf.Send(HelloFrame(1, "caf", 16, "silent"));
  ASSERT_TRUE(caf.ReceiveType(wire::Body::Welcome, seconds(10)).has_value());
  auto env = desk_->Seal(SampleDraft(kDesk, {"caf"}));
  ASSERT_TRUE(env.ok());
  auto receipt = desk_->Submit(*env, seconds(10));
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  // Delivered three times (attempt 1, 2, 3), then no more.
  std::vector<uint32_t> attempts;
  while (auto f = caf.ReceiveType(wire::Body::Deliver, seconds(3))) {
    const auto* d = (*ParseFrame(*f))->body_as_Deliver();
    EXPECT_EQ(d->sequence(), receipt->sequence);
    attempts.push_back(d->attempt());
  }
  EXPECT_EQ(attempts, (std::vector<uint32_t>{1, 2, 3}));
  // The desk hears that caf never took it.
  ASSERT_TRUE(WaitUntil([&] { return reports_.size() == 1; }));
  EXPECT_EQ(
      reports_.got[0],
      std::make_pair(std::string("caf"), wire::RecipientState::Undeliverable));
  // The operator sees it, and replays it to a caf that now acknowledges.
  auto [code, out] = RunCli(
      stack_, {"dead-letters", "list", "--config", OperatorConfig(), "--json"});
  ASSERT_EQ(code, 0) << out;
  auto list = nlohmann::json::parse(out);
  ASSERT_EQ(list["dead_letters"].size(), 1u);
  EXPECT_EQ(list["dead_letters"][0]["reason"], "undeliverable");
  EXPECT_EQ(list["dead_letters"][0]["attempts"], 3);
  std::atomic<int> handled{0};
  std::atomic<bool> replayed{false};
  auto real_caf = stack_.Connect("caf", [&](const sdk::Delivery& d) {
    ++handled;
    replayed = d.replayed;
    return sdk::HandlerResult::Processed();
  });
  ASSERT_TRUE(real_caf.ok());
  std::tie(code, out) =
      RunCli(stack_, {"dead-letters", "replay", "--config", OperatorConfig(),
                      "caf", std::to_string(receipt->sequence)});
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitUntil([&] { return handled.load() == 1; }));
  EXPECT_TRUE(replayed.load());
  std::tie(code, out) = RunCli(
      stack_, {"dead-letters", "list", "--config", OperatorConfig(), "--json"});
  EXPECT_EQ(nlohmann::json::parse(out)["dead_letters"].size(), 0u);
  // Replaying again: nothing to replay, a coded refusal.
  std::tie(code, out) =
      RunCli(stack_, {"dead-letters", "replay", "--config", OperatorConfig(),
                      "caf", std::to_string(receipt->sequence)});
  EXPECT_EQ(code, 3) << out;
}

TEST_F(DeadLetterTest, ExpiredMessagesOfAnOfflineRecipientAreDeadLettered) {
  EnvelopeDraft d = SampleDraft(kDesk, {"cpam", "dgfip"});
  d.created_at_ms = Clock::System()->NowMs();
  d.expires_at_ms = d.created_at_ms + 1500;
  auto env = desk_->Seal(d);
  ASSERT_TRUE(env.ok());
  auto receipt = desk_->Submit(*env, seconds(10));
  ASSERT_TRUE(receipt.ok());
  // Nobody is connected; after the expiry both become dead letters and
  // the desk gets two reports.
  ASSERT_TRUE(WaitUntil([&] { return reports_.size() == 2; }))
      << stack_.BrokerLog();
  for (const auto& [who, st] : reports_.got) {
    EXPECT_EQ(st, wire::RecipientState::Expired) << who;
  }
  auto state_bytes =
      desk_->QueryCase(std::string(ParseEnvelope(env->bytes)->case_id));
  ASSERT_TRUE(state_bytes.ok());
  for (const auto* r : *ParseCaseState(*state_bytes)->recipients()) {
    EXPECT_EQ(r->state(), wire::RecipientState::Expired);
  }
  // cpam comes online: it gets nothing (the message left its queue).
  std::atomic<int> handled{0};
  auto cpam = stack_.Connect("cpam", [&](const sdk::Delivery&) {
    ++handled;
    return sdk::HandlerResult::Processed();
  });
  ASSERT_TRUE(cpam.ok());
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(handled.load(), 0);
  // Drop dgfip's, replay cpam's: cpam handles it although it expired.
  auto [code, out] =
      RunCli(stack_, {"dead-letters", "drop", "--config", OperatorConfig(),
                      "dgfip", std::to_string(receipt->sequence)});
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) =
      RunCli(stack_, {"dead-letters", "replay", "--config", OperatorConfig(),
                      "cpam", std::to_string(receipt->sequence)});
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitUntil([&] { return handled.load() == 1; }));
  std::tie(code, out) = RunCli(
      stack_, {"dead-letters", "list", "--config", OperatorConfig(), "--json"});
  EXPECT_EQ(nlohmann::json::parse(out)["dead_letters"].size(), 0u);
}

TEST_F(DeadLetterTest, OnlyOperatorsMayAct) {
  auto r = desk_->Admin(wire::AdminOp::ListDeadLetters);
  EXPECT_EQ(r.status().reject_code(), wire::RejectCode::NotAuthorised);
  auto [code, out] = RunCli(stack_, {"stats", "--config", OperatorConfig()});
  ASSERT_EQ(code, 0) << out;
  EXPECT_GE(nlohmann::json::parse(out)["sessions"].get<int>(), 1);
}

}  // namespace
}  // namespace relais::testing
