// Fault: the whole path under load while processes die. relais-bench (the
// load generator, bench/README.md) runs small bounded loads with relaisd
// or the receiving process SIGKILLed and restarted at random moments; the
// receiver's own store says what its handler got, so `lost` and
// `duplicates` are measured. Also: a recipient offline then back, and a
// slow consumer that must not hold up anyone else.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "deploy/lib/process.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr char kDesk[] = "france-services/paris-15";

// Runs relais-bench with `args` (plus --json and a fixed seed) and returns
// its JSON report.
nlohmann::json Bench(const std::vector<std::string>& args) {
  char dir[] = "/tmp/relais-load-fault-XXXXXX";
  EXPECT_NE(::mkdtemp(dir), nullptr);
  const std::string out = std::string(dir) + "/bench.out";
  std::vector<std::string> argv = {deploy::BinDir() + "/relais-bench",
                                   "--json",
                                   "--seed",
                                   "20261123",
                                   "--drain-timeout",
                                   "60"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = deploy::ChildProcess::Start(argv, out);
  EXPECT_TRUE(child.ok());
  const int status = child->Wait(std::chrono::minutes(3));
  auto text = ReadFile(out);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(status, 0) << (text.ok() ? *text : "");
  if (!text.ok()) return {};
  // The report is the last line (warnings may come before it).
  const size_t start = text->rfind('{');
  auto j = nlohmann::json::parse(
      start == std::string::npos ? "" : text->substr(start), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << *text;
  return j.is_discarded() ? nlohmann::json::object() : j;
}

TEST(LoadFaultTest, BrokerSigkilledUnderLoadLosesAndRepeatsNothing) {
  auto r = Bench(
      {"--messages", "8000", "--payload-bytes", "512", "--kill-broker", "3"});
  EXPECT_EQ(r.value("broker_kills", 0), 3);
  EXPECT_EQ(r.value("accepted", 0), 8000);
  EXPECT_EQ(r.value("delivered", 0), 8000);
  EXPECT_EQ(r.value("lost", -1), 0);
  EXPECT_EQ(r.value("duplicates", -1), 0);
}

TEST(LoadFaultTest, ReceiverSigkilledUnderLoadLosesAndRepeatsNothing) {
  auto r = Bench(
      {"--messages", "8000", "--payload-bytes", "512", "--kill-receiver", "3"});
  EXPECT_EQ(r.value("receiver_kills", 0), 3);
  EXPECT_EQ(r.value("delivered", 0), 8000);
  EXPECT_EQ(r.value("lost", -1), 0);
  EXPECT_EQ(r.value("duplicates", -1), 0);
}

TEST(LoadFaultTest, RecipientOfflineThenBackDrainsItsBacklog) {
  auto r = Bench(
      {"--messages", "3000", "--payload-bytes", "512", "--backlog", "3000"});
  EXPECT_EQ(r.value("backlog", 0), 3000);
  EXPECT_EQ(r.value("delivered", 0), 3000);
  EXPECT_GT(r.value("drain_msgs_per_s", 0.0), 0.0);
  EXPECT_EQ(r.value("lost", -1), 0);
  EXPECT_EQ(r.value("duplicates", -1), 0);
}

// caf's handler is stuck (window 2) until the test lets it go, then takes
// 5 ms a message; cpam is fast. cpam gets all of its messages while caf
// has handled none, and caf gets all of its own in order, once each, in
// the end.
TEST(LoadFaultTest, SlowConsumerHoldsUpNoOneElse) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  std::mutex mu;
  std::vector<std::string> caf_order;
  std::atomic<int> cpam_seen{0};
  std::atomic<bool> released{false};
  auto caf = stack.Connect(
      "caf",
      [&](const sdk::Delivery& d) {
        WaitUntil([&] { return released.load(); }, seconds(60));
        std::this_thread::sleep_for(milliseconds(5));
        std::lock_guard<std::mutex> lock(mu);
        caf_order.emplace_back(d.envelope->message_id);
        return sdk::HandlerResult::Processed();
      },
      2);
  auto cpam = stack.Connect(
      "cpam",
      [&](const sdk::Delivery&) {
        ++cpam_seen;
        return sdk::HandlerResult::Processed();
      },
      64);
  auto desk = stack.Connect(kDesk);
  ASSERT_TRUE(caf.ok() && cpam.ok() && desk.ok());
  constexpr int kEach = 150;
  std::vector<std::string> caf_ids;
  std::atomic<int> answered{0}, refused{0};
  for (int i = 0; i < kEach; ++i) {
    for (const char* to : {"caf", "cpam"}) {
      auto env = (*desk)->Seal(SampleDraft(kDesk, {to}));
      ASSERT_TRUE(env.ok());
      if (std::string(to) == "caf") caf_ids.push_back(env->message_id);
      (*desk)->SubmitAsync(*env, [&](Result<sdk::Receipt> r) {
        if (!r.ok()) ++refused;
        ++answered;
      });
    }
  }
  ASSERT_TRUE(WaitUntil([&] { return answered.load() == 2 * kEach; }));
  EXPECT_EQ(refused.load(), 0);
  // The fast one gets everything while the slow one is stuck.
  const bool cpam_done = WaitUntil([&] { return cpam_seen.load() == kEach; });
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(caf_order.empty());
  }
  released = true;
  ASSERT_TRUE(cpam_done) << cpam_seen.load() << " of " << kEach;
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return caf_order.size() >= caf_ids.size();
      },
      seconds(60)));
  std::this_thread::sleep_for(milliseconds(300));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(caf_order, caf_ids);  // all, once, in order
  EXPECT_EQ(cpam_seen.load(), kEach);
}

}  // namespace
}  // namespace relais::testing
