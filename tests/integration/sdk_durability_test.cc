// Integration: the SDK's local store against a real relaisd. A submit is
// kept in the durable outbox until the broker answers, so a client that
// stops (or dies) first submits the very same envelope on its next start;
// a handler's effects are committed with its processed id, so a restarted
// receiver neither loses nor repeats them.

#include <gtest/gtest.h>

#include <mutex>

#include "adapters/sdk/client_config.h"
#include "core/bytes.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr char kDesk[] = "france-services/paris-15";

// The desk's options with a local store of its own.
sdk::ClientOptions DurableSender(TestStack& stack) {
  auto config = sdk::LoadParticipantConfig(stack.layout().ClientConfig(kDesk),
                                           seconds(10));
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  sdk::ClientOptions o = config->client;
  o.window = 0;
  o.resend_after = milliseconds(1000);
  o.state_dir = stack.dir() + "/desk-state";
  return o;
}

TEST(SdkDurabilityTest, UnansweredSubmitIsSentAgainByTheNextRunWithItsId) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  stack.KillBroker();  // the broker is down while the desk submits

  std::string id;
  {
    auto desk = sdk::Client::Start(DurableSender(stack));
    ASSERT_TRUE(desk.ok()) << desk.status().ToString();
    auto env = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
    ASSERT_TRUE(env.ok());
    id = env->message_id;
    std::atomic<int> answers{0};
    Status answer;
    (*desk)->SubmitAsync(*env, [&](Result<sdk::Receipt> r) {
      answer = r.status();
      ++answers;
    });
    ASSERT_TRUE(WaitUntil([&] { return *(*desk)->OutboxSize() == 1; }));
    (*desk)->Stop();  // as if the process died: nothing was answered
    ASSERT_EQ(answers.load(), 1);
    EXPECT_EQ(answer.reject_code(), wire::RejectCode::ShuttingDown);
  }

  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  std::mutex mu;
  std::vector<std::pair<std::string, Result<sdk::Receipt>>> restored;
  sdk::ClientOptions o = DurableSender(stack);
  o.restored_done = [&](const std::string& message_id, Result<sdk::Receipt> r) {
    std::lock_guard<std::mutex> lock(mu);
    restored.emplace_back(message_id, std::move(r));
  };
  auto desk = sdk::Client::Start(std::move(o));
  ASSERT_TRUE(desk.ok());
  EXPECT_EQ((*desk)->stats().outbox_restored.load(), 1u);
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !restored.empty();
  })) << stack.BrokerLog();
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(restored.size(), 1u);
    EXPECT_EQ(restored[0].first, id);
    ASSERT_TRUE(restored[0].second.ok())
        << restored[0].second.status().ToString();
    EXPECT_EQ(restored[0].second->message_id, id);
  }
  // Answered: gone from the outbox, and caf gets it once.
  EXPECT_TRUE(WaitUntil([&] { return *(*desk)->OutboxSize() == 0; }));
  std::atomic<int> seen{0};
  auto caf = stack.Connect("caf", [&](const sdk::Delivery& d) {
    if (d.envelope->message_id == id) ++seen;
    return sdk::HandlerResult::Processed();
  });
  ASSERT_TRUE(caf.ok());
  ASSERT_TRUE(WaitUntil([&] { return seen.load() == 1; }));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(seen.load(), 1);
}

TEST(SdkDurabilityTest, RefusedSubmitLeavesTheOutboxToo) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  auto desk = sdk::Client::Start(DurableSender(stack));
  ASSERT_TRUE(desk.ok());
  auto env = (*desk)->Seal(SampleDraft(kDesk, {"no-such-agency"}));
  auto r = (*desk)->Submit(*env, seconds(10));
  EXPECT_EQ(r.status().reject_code(), wire::RejectCode::UnknownRecipient);
  EXPECT_EQ(*(*desk)->OutboxSize(), 0u);
  auto ok = (*desk)->Submit(*(*desk)->Seal(SampleDraft(kDesk, {"caf"})));
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*(*desk)->OutboxSize(), 0u);
}

// A handler that counts what it was given in its effects: after the
// receiver restarts, the count is exactly the number of messages, and each
// message's effect is there once.
TEST(SdkDurabilityTest, HandlerEffectsAreCommittedWithTheProcessedIds) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  auto desk = stack.Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto env = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
    ASSERT_TRUE((*desk)->Submit(*env, seconds(10)).ok());
    ids.push_back(env->message_id);
  }
  std::atomic<int> calls{0};
  auto handler = [&](const sdk::Delivery& d) {
    ++calls;
    auto count = d.effects->Get("count");
    if (!count.ok()) return sdk::HandlerResult::Retry("store");
    const uint64_t n = *count ? GetBigEndian64(count->value().data()) : 0;
    std::string next;
    PutBigEndian64(&next, n + 1);
    d.effects->Put("count", next);
    d.effects->Put("m/" + std::string(d.envelope->message_id), "handled");
    // The first attempt of the fifth message asks to retry: what it
    // staged is dropped, and the next attempt starts afresh.
    if (calls.load() == 5) {
      d.effects->Put("ghost", "x");
      return sdk::HandlerResult::Retry("transient");
    }
    return sdk::HandlerResult::Processed();
  };
  auto caf = stack.Connect("caf", handler);
  ASSERT_TRUE(caf.ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto c = (*caf)->ReadEffect("count");
    return c.ok() && *c && GetBigEndian64((*c)->data()) == ids.size();
  }));
  (*caf)->Stop();
  caf->reset();
  // Restarted on the same store: nothing is handled again, all is there.
  calls = 0;
  auto again = stack.Connect("caf", handler);
  ASSERT_TRUE(again.ok());
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(calls.load(), 0);
  auto count = (*again)->ReadEffect("count");
  ASSERT_TRUE(count.ok() && *count);
  EXPECT_EQ(GetBigEndian64((*count)->data()), ids.size());
  for (const auto& id : ids) {
    auto e = (*again)->ReadEffect("m/" + id);
    ASSERT_TRUE(e.ok() && *e) << HexEncode(id);
  }
  EXPECT_FALSE((*(*again)->ReadEffect("ghost")).has_value());
}

}  // namespace
}  // namespace relais::testing
