// Fault: relaisd killed with SIGKILL after it acknowledged a message, then
// restarted: the message is still delivered, once, to the partner.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "adapters/sdk/client_config.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::seconds;
constexpr char kDesk[] = "france-services/paris-15";

TEST(RestartTest, AcceptedMessageSurvivesSigkillAndIsDeliveredOnce) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  std::vector<std::string> ids;
  {
    auto desk = stack.Connect(kDesk);
    ASSERT_TRUE(desk.ok());
    for (int i = 0; i < 10; ++i) {
      auto env = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
      ASSERT_TRUE((*desk)->Submit(*env, seconds(10)).ok());
      ids.push_back(env->message_id);
    }
  }
  stack.KillBroker();  // right after the receipts: no clean shutdown
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();

  DeliveryCounter caf;
  auto client = stack.Connect("caf", caf.Handler());
  ASSERT_TRUE(client.ok());
  for (const auto& id : ids) {
    ASSERT_TRUE(WaitUntil([&] { return caf.count(id) >= 1; }))
        << stack.BrokerLog();
  }
  // Queued after them: once caf has it, a second copy of any of them would
  // have come before it.
  auto desk = stack.Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  auto marker = SubmitMarker(**desk, "caf");
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return caf.count(*marker) == 1; }));
  for (const auto& id : ids) EXPECT_EQ(caf.count(id), 1);
}

TEST(RestartTest, ConnectedClientsRideThroughABrokerKill) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  DeliveryCounter caf;
  auto receiver = stack.Connect("caf", caf.Handler());
  // The desk keeps its submits in a local store until answered, so the
  // test can see when it holds one.
  auto config = sdk::LoadParticipantConfig(stack.layout().ClientConfig(kDesk));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  sdk::ClientOptions options = config->client;
  options.window = 0;
  options.resend_after = std::chrono::milliseconds(1000);
  options.state_dir = stack.dir() + "/desk-state";
  auto desk = sdk::Client::Start(std::move(options));
  ASSERT_TRUE(receiver.ok() && desk.ok());

  auto before = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
  ASSERT_TRUE((*desk)->Submit(*before, seconds(10)).ok());
  ASSERT_TRUE(WaitUntil([&] { return caf.count(before->message_id) == 1; }));

  stack.KillBroker();
  // Submitted while the broker is down (the desk saw it go): the SDK keeps
  // it and sends it again.
  ASSERT_TRUE(WaitUntil([&] { return !(*desk)->connected(); }));
  auto during = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
  sdk::Receipt receipt;
  std::atomic<bool> answered{false};
  (*desk)->SubmitAsync(*during, [&](Result<sdk::Receipt> r) {
    if (r.ok()) receipt = *r;
    answered = true;
  });
  ASSERT_TRUE(WaitUntil([&] {
    auto kept = (*desk)->OutboxSize();
    return kept.ok() && *kept == 1;
  }));
  EXPECT_FALSE(answered.load());
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();

  ASSERT_TRUE(WaitUntil([&] { return answered.load(); }));
  EXPECT_EQ(receipt.message_id, during->message_id);
  ASSERT_TRUE(WaitUntil([&] { return caf.count(during->message_id) == 1; }))
      << stack.BrokerLog();
  auto marker = SubmitMarker(**desk, "caf");
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return caf.count(*marker) == 1; }));
  EXPECT_EQ(caf.count(before->message_id), 1);  // not handed over twice
  EXPECT_EQ(caf.count(during->message_id), 1);
}

// While relaisd is down, something else can hold its port for a moment (on
// loopback, a reconnecting client can be given it as its own source port).
// The restart on that port is tried again until the port is free; the test
// holds the port with a listener of its own for a second.
TEST(RestartTest, ARestartWaitsWhileItsPortIsBrieflyHeld) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  const std::string endpoint = stack.endpoint();
  const int port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  stack.KillBroker();

  const int holder = ListenOnLoopback(port);
  ASSERT_GE(holder, 0);
  // Released once relaisd found it taken (never before: the test would
  // not try what it names).
  std::thread release([holder, &stack] {
    WaitUntil([&] {
      return stack.BrokerLog().find("Address already in use") !=
             std::string::npos;
    });
    ::close(holder);
  });
  const Status started = stack.StartBroker();
  release.join();
  ASSERT_TRUE(started.ok()) << stack.BrokerLog();
  EXPECT_EQ(stack.endpoint(), endpoint);
  EXPECT_NE(stack.BrokerLog().find("Address already in use"), std::string::npos)
      << "the port was not held: the test did not try what it names";
  DeliveryCounter caf;
  auto client = stack.Connect("caf", caf.Handler());
  ASSERT_TRUE(client.ok());
  auto desk = stack.Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  auto marker = SubmitMarker(**desk, "caf");
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return caf.count(*marker) == 1; }));
}

}  // namespace
}  // namespace relais::testing
