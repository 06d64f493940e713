// Fault: the whole path under load while processes die. relais-bench (the
// load generator, bench/README.md) runs small bounded loads with relaisd
// or the receiving process SIGKILLed and restarted at random moments; the
// receiver's own store says what its handler got, so `lost` and
// `duplicates` are measured. Also: a recipient offline then back, and a
// slow consumer that must not hold up anyone else.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

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
  const std::string dir = MakeTestDir();
  const std::string out = dir + "/bench.out";
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
  const size_t line = text->rfind("\n{");
  const size_t start =
      line != std::string::npos
          ? line + 1
          : (!text->empty() && text->front() == '{' ? 0 : line);
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

// Fan-out: two senders, three receiving processes, each message to two of
// them, one receiver killed twice: every copy is handled once.
TEST(LoadFaultTest, FanOutToSeveralReceiversLosesAndRepeatsNothing) {
  auto r = Bench({"--messages", "3000", "--payload-bytes", "512", "--senders",
                  "2", "--receivers", "3", "--recipients-per-message", "2",
                  "--kill-receiver", "2"});
  EXPECT_EQ(r.value("senders", 0), 2);
  EXPECT_EQ(r.value("receivers", 0), 3);
  EXPECT_EQ(r.value("receiver_kills", 0), 2);
  EXPECT_EQ(r.value("accepted", 0), 3000);
  EXPECT_EQ(r.value("delivered", 0), 6000);
  EXPECT_EQ(r.value("lost", -1), 0);
  EXPECT_EQ(r.value("duplicates", -1), 0);
}

// Batch seals (PROTOCOL.md 4.8) while relaisd and the receiver are
// killed: envelopes of a batch resent alone after a kill still stand.
TEST(LoadFaultTest, BatchSealedUnderKillsLosesAndRepeatsNothing) {
  auto r =
      Bench({"--messages", "6000", "--payload-bytes", "512", "--batch-seal",
             "64", "--kill-broker", "2", "--kill-receiver", "2"});
  EXPECT_EQ(r.value("batch_seal", 0), 64);
  // The machine's bound, from the costs measured before the run:
  // cores / (seal + (1 + K) open), K = 1 here.
  const auto m = r.value("machine", nlohmann::json::object());
  const double seal = m.value("seal_us", 0.0), open = m.value("open_us", 0.0);
  EXPECT_GT(seal, 0.0);
  EXPECT_GT(open, 0.0);
  EXPECT_GT(m.value("synced_write_ms", 0.0), 0.0);
  // The kernel's costs are measured, not left at 0.
  EXPECT_GT(m.value("syscall_us", 0.0), 0.0);
  EXPECT_GT(m.value("page_fault_us", 0.0), 0.0);
  EXPECT_GT(m.value("fsync_cpu_us", 0.0), 0.0);
  EXPECT_NEAR(m.value("bound_msgs_per_s", 0.0),
              m.value("cores", 0) * 1e6 / (seal + 2 * open), 1e-6 * 1e6);
  EXPECT_NEAR(r.value("of_bound", 0.0),
              r.value("msgs_per_s", 0.0) / m.value("bound_msgs_per_s", 1.0),
              1e-9);
  EXPECT_EQ(r.value("broker_kills", 0), 2);
  EXPECT_EQ(r.value("receiver_kills", 0), 2);
  EXPECT_EQ(r.value("accepted", 0), 6000);
  EXPECT_EQ(r.value("delivered", 0), 6000);
  EXPECT_EQ(r.value("lost", -1), 0);
  EXPECT_EQ(r.value("duplicates", -1), 0);
}

// Options that could only hang or mislead are refused at once, each with
// its reason: a window of 0 takes no deliveries (the run would never
// drain), a payload past any relaisd's limit, a --stack that nothing
// would use.
TEST(LoadFaultTest, OptionsThatCannotWorkAreRefusedWithTheirReason) {
  const std::string dir = MakeTestDir();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--window", "0"}, "--window: must be a whole number from 1 to 65536"},
      {{"--messages", "0"}, "--messages: must be a whole number from 1 to"},
      {{"--payload-bytes", "100000000"},
       "--payload-bytes: must be a whole number from 0 to 67108864"},
      {{"--drain-timeout", "0"},
       "--drain-timeout: must be a whole number from 1 to"},
      {{"--stack", dir}, "--stack goes with --broker"},
      // NaN passes every range (its comparisons are all false): it used
      // to run a whole benchmark.
      {{"--rate", "nan"}, "--rate: must be a finite number"},
      {{"--batch-window-ms", "nan"},
       "--batch-window-ms: must be a finite number"},
      // What was typed is repeated escaped.
      {{"--bogus\x1b[2J"}, "not expected: --bogus\\x1B[2J"}};
  for (const auto& [args, reason] : cases) {
    std::vector<std::string> argv = {deploy::BinDir() + "/relais-bench"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = deploy::ChildProcess::Start(argv, dir + "/out");
    ASSERT_TRUE(child.ok());
    EXPECT_EQ(child->Wait(std::chrono::seconds(30)), 2) << args[0];
    auto text = ReadFile(dir + "/out");
    ASSERT_TRUE(text.ok());
    EXPECT_NE(text->find(reason), std::string::npos) << *text;
  }
  std::filesystem::remove_all(dir);
}

TEST(LoadFaultTest, MoreRecipientsThanReceiversIsRefusedWithItsReason) {
  const std::string dir = MakeTestDir();
  auto child = deploy::ChildProcess::Start(
      {deploy::BinDir() + "/relais-bench", "--receivers", "2",
       "--recipients-per-message", "3"},
      dir + "/out");
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->Wait(std::chrono::seconds(30)), 2);
  auto text = ReadFile(dir + "/out");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("--recipients-per-message (3) cannot exceed "
                       "--receivers (2)"),
            std::string::npos)
      << *text;
}

TEST(LoadFaultTest, RecipientOfflineThenBackDrainsItsBacklog) {
  auto r = Bench(
      {"--messages", "3000", "--payload-bytes", "512", "--backlog", "3000"});
  EXPECT_EQ(r.value("backlog", 0), 3000);
  EXPECT_EQ(r.value("delivered", 0), 3000);
  EXPECT_GT(r.value("drain_msgs_per_s", 0.0), 0.0);
  EXPECT_GT(r.value("accept_mean_ms", 0.0), 0.0);
  // The broker's share of the accept latency, read from its /metrics: its
  // stages add up to its mean.
  const auto b = r.value("broker_accept_ms", nlohmann::json::object());
  const double mean = b.value("mean", 0.0);
  EXPECT_GT(mean, 0.0) << r.dump();
  EXPECT_GT(b.value("ingress", 0.0), 0.0);
  EXPECT_GE(b.value("journal_queue", -1.0), 0.0);
  EXPECT_GT(b.value("journal_batch", 0.0), 0.0);
  EXPECT_GT(b.value("journal_write", 0.0), 0.0);
  EXPECT_NEAR(b.value("ingress", 0.0) + b.value("journal_queue", 0.0) +
                  b.value("journal_batch", 0.0),
              mean, 1e-6 * mean);
  EXPECT_EQ(r.value("lost", -1), 0);
  EXPECT_EQ(r.value("duplicates", -1), 0);
}

// Both recipients have a backlog of 150 messages. caf's handler takes
// 20 ms a message (window 2) and starts first; once it is busy, cpam (fast)
// connects. From what each handler recorded, and when: cpam had all of its
// messages before caf had handled half of its own (caf needs 3 s for all,
// cpam a fraction of that unless caf holds it up), and each got all of its
// own in order, once each.
TEST(LoadFaultTest, SlowConsumerHoldsUpNoOneElse) {
  using Clock = std::chrono::steady_clock;
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  auto desk = stack.Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  constexpr size_t kEach = 150;
  std::vector<SealedEnvelope> envelopes;
  std::vector<std::string> caf_ids, cpam_ids;
  for (size_t i = 0; i < kEach; ++i) {
    for (const char* to : {"caf", "cpam"}) {
      auto env = (*desk)->Seal(SampleDraft(kDesk, {to}));
      ASSERT_TRUE(env.ok());
      (std::string(to) == "caf" ? caf_ids : cpam_ids)
          .push_back(env->message_id);
      envelopes.push_back(std::move(*env));
    }
  }
  std::atomic<size_t> answered{0}, refused{0};
  for (auto& env : envelopes) {
    (*desk)->SubmitAsync(std::move(env), [&](Result<sdk::Receipt> r) {
      if (!r.ok()) ++refused;
      ++answered;
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return answered.load() == 2 * kEach; }));
  ASSERT_EQ(refused.load(), 0u);

  // What each handler got, and when it was done with it.
  struct Record {
    std::mutex mu;
    std::vector<std::string> ids;
    std::vector<Clock::time_point> at;
    sdk::DeliveryHandler Handler(milliseconds cost) {
      return [this, cost](const sdk::Delivery& d) {
        std::this_thread::sleep_for(cost);
        std::lock_guard<std::mutex> lock(mu);
        ids.emplace_back(d.envelope->message_id);
        at.push_back(Clock::now());
        return sdk::HandlerResult::Processed();
      };
    }
    size_t size() {
      std::lock_guard<std::mutex> lock(mu);
      return ids.size();
    }
    bool Last(const std::string& id) {
      std::lock_guard<std::mutex> lock(mu);
      return !ids.empty() && ids.back() == id;
    }
  } caf, cpam;
  auto caf_client = stack.Connect("caf", caf.Handler(milliseconds(20)), 2);
  ASSERT_TRUE(caf_client.ok());
  ASSERT_TRUE(WaitUntil([&] { return caf.size() >= 1; }));
  auto cpam_client = stack.Connect("cpam", cpam.Handler(milliseconds(0)), 64);
  ASSERT_TRUE(cpam_client.ok());
  ASSERT_TRUE(WaitUntil([&] { return cpam.size() >= kEach; }))
      << cpam.size() << " of " << kEach;
  ASSERT_TRUE(WaitUntil([&] { return caf.size() >= kEach; }, seconds(60)))
      << caf.size() << " of " << kEach;
  // Markers queued after everything: once each recipient has handled its
  // own, a second copy of anything before it would have come first.
  for (const char* to : {"caf", "cpam"}) {
    auto marker = SubmitMarker(**desk, to);
    ASSERT_TRUE(marker.ok()) << marker.status().ToString();
    auto& r = std::string(to) == "caf" ? caf : cpam;
    ASSERT_TRUE(WaitUntil([&] { return r.Last(*marker); })) << to;
    (std::string(to) == "caf" ? caf_ids : cpam_ids).push_back(*marker);
  }
  std::lock_guard<std::mutex> caf_lock(caf.mu);
  std::lock_guard<std::mutex> cpam_lock(cpam.mu);
  EXPECT_EQ(caf.ids, caf_ids);  // all, once, in order
  EXPECT_EQ(cpam.ids, cpam_ids);
  // When cpam had its last, caf had handled fewer than half of its own.
  const Clock::time_point cpam_done = cpam.at[kEach - 1];
  const size_t caf_by_then =
      std::count_if(caf.at.begin(), caf.at.end(),
                    [&](Clock::time_point t) { return t <= cpam_done; });
  EXPECT_LT(caf_by_then, kEach / 2)
      << "cpam took "
      << std::chrono::duration_cast<milliseconds>(cpam_done - cpam.at[0])
             .count()
      << " ms for its " << kEach << " messages";
}

}  // namespace
}  // namespace relais::testing
