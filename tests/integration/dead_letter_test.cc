// Fault tests: redelivery on a live connection, retry budget and expiry to
// dead letters, the sender's status report, and an operator's replay and
// drop through the `relais dead-letters` command, against a real relaisd.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
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
  DeadLetterTest() : DeadLetterTest(FastRetries()) {}
  explicit DeadLetterTest(deploy::StackSpec spec) : stack_(std::move(spec)) {}
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

// The (sequence, attempt) of each Deliver among `frames`.
std::vector<std::pair<uint64_t, uint32_t>> Deliveries(
    const std::vector<std::string>& frames) {
  std::vector<std::pair<uint64_t, uint32_t>> out;
  for (const auto& f : frames) {
    auto parsed = ParseFrame(f);
    if (!parsed.ok()) continue;
    if (const auto* d = (*parsed)->body_as_Deliver()) {
      out.emplace_back(d->sequence(), d->attempt());
    }
  }
  return out;
}

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
  // Delivered three times (attempt 1, 2, 3), then a dead letter: the desk
  // hears that caf never took it.
  std::vector<std::string> frames;
  ASSERT_TRUE(WaitUntil([&] {
    while (auto f = caf.Receive(milliseconds(0))) frames.push_back(*f);
    return reports_.size() == 1;
  })) << stack_.BrokerLog();
  EXPECT_EQ(
      reports_.got[0],
      std::make_pair(std::string("caf"), wire::RecipientState::Undeliverable));
  // Then no more: a second message goes through its own three deliveries
  // and dead letter (over several redelivery periods) on the same
  // connection, and the first is not delivered again meanwhile.
  auto second =
      desk_->Submit(*desk_->Seal(SampleDraft(kDesk, {"caf"})), seconds(10));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_TRUE(WaitUntil([&] {
    while (auto f = caf.Receive(milliseconds(0))) frames.push_back(*f);
    return reports_.size() == 2;
  })) << stack_.BrokerLog();
  auto rest = FramesBeforeHeartbeat(caf, 1000);
  ASSERT_TRUE(rest.has_value());
  frames.insert(frames.end(), rest->begin(), rest->end());
  using Attempts = std::vector<std::pair<uint64_t, uint32_t>>;
  EXPECT_EQ(Deliveries(frames), (Attempts{{receipt->sequence, 1},
                                          {receipt->sequence, 2},
                                          {receipt->sequence, 3},
                                          {second->sequence, 1},
                                          {second->sequence, 2},
                                          {second->sequence, 3}}));
  // The operator sees both, and replays the first to a caf that now
  // acknowledges.
  auto [code, out] = RunCli(
      stack_, {"dead-letters", "list", "--config", OperatorConfig(), "--json"});
  ASSERT_EQ(code, 0) << out;
  auto list = nlohmann::json::parse(out);
  ASSERT_EQ(list["dead_letters"].size(), 2u);
  EXPECT_EQ(list["dead_letters"][0]["sequence"], receipt->sequence);
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
  list = nlohmann::json::parse(out);
  ASSERT_EQ(list["dead_letters"].size(), 1u);
  EXPECT_EQ(list["dead_letters"][0]["sequence"], second->sequence);
  // Replaying again: nothing to replay, refused with its code.
  std::tie(code, out) =
      RunCli(stack_, {"dead-letters", "replay", "--config", OperatorConfig(),
                      "caf", std::to_string(receipt->sequence)});
  EXPECT_EQ(code, 3) << out;  // the CLI's exit code for a refusal
  EXPECT_NE(out.find("Rejected(401 UnknownDelivery): no dead letter of "
                     "sequence " +
                     std::to_string(receipt->sequence) + " for 'caf'"),
            std::string::npos)
      << out;
}

TEST_F(DeadLetterTest, ExpiredMessagesOfAnOfflineRecipientAreDeadLettered) {
  EnvelopeDraft d = SampleDraft(kDesk, {"cpam", "dgfip"}, milliseconds(1500));
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
  // cpam comes online: it gets nothing (the message left its queue). A
  // marker queued after it is the first thing cpam handles.
  DeliveryCounter cpam_seen;
  auto cpam = stack_.Connect("cpam", cpam_seen.Handler());
  ASSERT_TRUE(cpam.ok());
  auto marker = SubmitMarker(*desk_, "cpam");
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return cpam_seen.count(*marker) == 1; }));
  EXPECT_EQ(cpam_seen.count(env->message_id), 0);
  // Drop dgfip's, replay cpam's: cpam handles it although it expired.
  auto [code, out] =
      RunCli(stack_, {"dead-letters", "drop", "--config", OperatorConfig(),
                      "dgfip", std::to_string(receipt->sequence)});
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) =
      RunCli(stack_, {"dead-letters", "replay", "--config", OperatorConfig(),
                      "cpam", std::to_string(receipt->sequence)});
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitUntil([&] { return cpam_seen.count(env->message_id) == 1; }));
  std::tie(code, out) = RunCli(
      stack_, {"dead-letters", "list", "--config", OperatorConfig(), "--json"});
  EXPECT_EQ(nlohmann::json::parse(out)["dead_letters"].size(), 0u);
}

// relaisd with payload_retention_days = 0: an envelope is deleted as soon
// as it expired (DESIGN.md, retention).
class RetentionTest : public DeadLetterTest {
 protected:
  RetentionTest() : DeadLetterTest(NoRetention()) {}
  static deploy::StackSpec NoRetention() {
    deploy::StackSpec spec;
    spec.broker_extra = "payload_retention_days = 0\n";
    return spec;
  }
};

TEST_F(RetentionTest, AnExpiredEnvelopeIsDeletedAndItsDeadLetterStays) {
  EnvelopeDraft d = SampleDraft(kDesk, {"cpam"}, milliseconds(1500));
  auto env = desk_->Seal(d);
  ASSERT_TRUE(env.ok());
  auto receipt = desk_->Submit(*env, seconds(10));
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return reports_.size() == 1; }))
      << stack_.BrokerLog();
  const std::string seq = std::to_string(receipt->sequence);
  // The sweep after the one that made the dead letter deletes the
  // envelope; `show` then says so, and still shows the dead letter.
  nlohmann::json shown;
  ASSERT_TRUE(WaitUntil([&] {
    auto [code, out] = RunCli(stack_, {"dead-letters", "show", "--config",
                                       OperatorConfig(), "cpam", seq});
    if (code != 0) return false;
    shown = nlohmann::json::parse(out);
    return shown.contains("envelope_deleted");
  })) << stack_.BrokerLog();
  EXPECT_EQ(shown["sequence"], receipt->sequence);
  EXPECT_EQ(shown["reason"], "expired");
  EXPECT_EQ(shown["envelope_bytes"], 0);
  EXPECT_FALSE(shown.contains("event"));
  auto [code, out] = RunCli(stack_, {"dead-letters", "replay", "--config",
                                     OperatorConfig(), "cpam", seq});
  EXPECT_EQ(code, 3) << out;
  EXPECT_NE(out.find("Rejected(401 UnknownDelivery): the dead letter of "
                     "sequence " +
                     seq + " for 'cpam' cannot be replayed"),
            std::string::npos)
      << out;
  // The case and its trail stay.
  auto state_bytes =
      desk_->QueryCase(std::string(ParseEnvelope(env->bytes)->case_id));
  ASSERT_TRUE(state_bytes.ok()) << state_bytes.status().ToString();
  const auto* state = ParseCaseState(*state_bytes);
  ASSERT_EQ(state->recipients()->size(), 1u);
  EXPECT_EQ(state->recipients()->Get(0)->state(),
            wire::RecipientState::Expired);
  EXPECT_NE(stack_.BrokerLog().find("retention: envelopes deleted: 1 "),
            std::string::npos);
  // Dropping it still works.
  std::tie(code, out) = RunCli(stack_, {"dead-letters", "drop", "--config",
                                        OperatorConfig(), "cpam", seq});
  EXPECT_EQ(code, 0) << out;
}

// Every operator operation, through the SDK and through the CLI, from a
// participant without the operator role (the desk): refused with 301
// NotAuthorised, and nothing changes.
TEST_F(DeadLetterTest, OnlyOperatorsMayAct) {
  // A dead letter to act on: cpam is offline and the message expires.
  EnvelopeDraft d = SampleDraft(kDesk, {"cpam"}, milliseconds(1500));
  auto receipt = desk_->Submit(*desk_->Seal(d), seconds(10));
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return reports_.size() == 1; }))
      << stack_.BrokerLog();
  const std::string seq = std::to_string(receipt->sequence);
  struct Op {
    wire::AdminOp op;
    std::vector<std::string> cli;  // the command, before its arguments
    std::vector<std::string> args;
  };
  const std::vector<Op> ops = {
      {wire::AdminOp::ListDeadLetters, {"dead-letters", "list"}, {}},
      {wire::AdminOp::ShowDeadLetter, {"dead-letters", "show"}, {"cpam", seq}},
      {wire::AdminOp::ReplayDeadLetter,
       {"dead-letters", "replay"},
       {"cpam", seq}},
      {wire::AdminOp::DropDeadLetter, {"dead-letters", "drop"}, {"cpam", seq}},
      {wire::AdminOp::Stats, {"stats"}, {}},
      {wire::AdminOp::Backup, {"backup"}, {}},
      {wire::AdminOp::ListCases, {"cases", "list"}, {}},
  };
  // Every operation of the protocol is tried.
  for (const wire::AdminOp op : wire::EnumValuesAdminOp()) {
    if (op == wire::AdminOp::Unknown) continue;
    EXPECT_TRUE(std::any_of(ops.begin(), ops.end(),
                            [&](const Op& o) { return o.op == op; }))
        << wire::EnumNameAdminOp(op) << " is not tried";
  }
  const std::string desk_config = stack_.layout().ClientConfig(kDesk);
  for (const Op& o : ops) {
    SCOPED_TRACE(wire::EnumNameAdminOp(o.op));
    auto r = desk_->Admin(o.op, "cpam", receipt->sequence);
    EXPECT_EQ(r.status().reject_code(), wire::RejectCode::NotAuthorised)
        << r.status().ToString();
    std::vector<std::string> argv = o.cli;
    argv.insert(argv.end(), {"--config", desk_config});
    argv.insert(argv.end(), o.args.begin(), o.args.end());
    auto [code, out] = RunCli(stack_, argv);
    EXPECT_EQ(code, 3) << out;  // the CLI's exit code for a refusal
    EXPECT_NE(out.find("Rejected(301 NotAuthorised)"), std::string::npos)
        << out;
  }
  // The dead letter is still there, untouched; the operator may act.
  auto [code, out] = RunCli(
      stack_, {"dead-letters", "list", "--config", OperatorConfig(), "--json"});
  ASSERT_EQ(code, 0) << out;
  auto list = nlohmann::json::parse(out);
  ASSERT_EQ(list["dead_letters"].size(), 1u);
  EXPECT_EQ(list["dead_letters"][0]["sequence"], receipt->sequence);
  EXPECT_EQ(list["dead_letters"][0]["reason"], "expired");
  std::tie(code, out) =
      RunCli(stack_, {"stats", "--config", OperatorConfig(), "--json"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["dead_letters_made"].get<int>(), 1);
  EXPECT_GE(nlohmann::json::parse(out)["sessions"].get<int>(), 1);
}

}  // namespace
}  // namespace relais::testing
