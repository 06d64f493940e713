// Integration: relaisd's log as an operator reads it (docs/OPERATIONS.md,
// "Logs"): one line per case event, none per hello, nothing personal, and
// JSON lines on request; its threads named for `top -H` and perf; and a
// configuration mistake found at start said plainly, with exit status 2.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "core/bytes.h"
#include "core/files.h"
#include "deploy/lib/process.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::seconds;

constexpr char kDesk[] = "france-services/paris-15";

std::vector<std::string> LinesWith(const std::string& log,
                                   const std::string& what) {
  std::vector<std::string> out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(what) != std::string::npos) out.push_back(line);
  }
  return out;
}

// Opens a case for caf, has caf take it, and returns "case C: message M".
std::string OneCaseDelivered(TestStack& stack) {
  DeliveryCounter seen;
  auto caf = stack.Connect("caf", seen.Handler());
  auto desk = stack.Connect(kDesk);
  EXPECT_TRUE(caf.ok() && desk.ok());
  if (!caf.ok() || !desk.ok()) return "";
  auto sealed = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
  EXPECT_TRUE(sealed.ok());
  EXPECT_TRUE((*desk)->Submit(*sealed, seconds(10)).ok());
  const std::string what = "case " +
                           std::string(ParseEnvelope(sealed->bytes)->case_id) +
                           ": message " + HexEncode(sealed->message_id);
  EXPECT_TRUE(WaitUntil([&] {
    return !LinesWith(stack.BrokerLog(), what + " delivered to caf").empty();
  })) << stack.BrokerLog();
  return what;
}

TEST(BrokerLogTest, OneLinePerCaseEventAndNothingPersonal) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  const std::string what = OneCaseDelivered(stack);
  const std::string log = stack.BrokerLog();
  const auto accepted = LinesWith(log, what + " from " + kDesk + " accepted");
  ASSERT_EQ(accepted.size(), 1u) << log;
  EXPECT_NE(accepted[0].find(" info relaisd: "), std::string::npos);
  EXPECT_NE(accepted[0].find(") for caf"), std::string::npos) << accepted[0];
  EXPECT_EQ(LinesWith(log, what + " delivered to caf").size(), 1u) << log;
  // Connections come and go without a line each.
  EXPECT_TRUE(LinesWith(log, "hello").empty()) << log;
  EXPECT_TRUE(stack.PersonalDataInLogs().empty());
}

// An operator's `top -H -p $(pidof relaisd)` (or perf) tells relaisd's
// threads apart by name.
TEST(BrokerLogTest, ThreadsAreNamed) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  const std::string tasks =
      "/proc/" + std::to_string(stack.broker_pid()) + "/task";
  const auto names = [&] {
    std::set<std::string> seen;
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      std::getline(comm, name);
      seen.insert(name);
    }
    return seen;
  };
  // A thread names itself once it runs: on a busy machine that may be
  // after relaisd said it was ready.
  const std::set<std::string> expected = {"relaisd", "journal-writer",
                                          "ingress-verify", "zap-auth",
                                          "stop-signals"};
  std::set<std::string> seen;
  EXPECT_TRUE(WaitUntil([&] {
    seen = names();
    return std::includes(seen.begin(), seen.end(), expected.begin(),
                         expected.end());
  })) << "threads: "
      << ::testing::PrintToString(seen);
}

TEST(BrokerLogTest, JsonLinesOnRequest) {
  deploy::StackSpec spec;
  spec.broker_extra = "log_format = \"json\"\n";
  TestStack stack(spec);
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  const std::string what = OneCaseDelivered(stack);
  // A refusal that repeats what a participant sent, control characters
  // included, stays on its line.
  RawClient raw(stack.endpoint(), stack.BrokerCurvePublic(),
                stack.IdentityOf(kDesk).curve);
  raw.Send("\n{\"level\": \"forged\"}\n");
  EXPECT_EQ(CodeOf(raw.Receive(seconds(10))), wire::RejectCode::MalformedFrame);
  ASSERT_TRUE(WaitUntil(
      [&] { return !LinesWith(stack.BrokerLog(), "rejected").empty(); }));

  std::istringstream lines(stack.BrokerLog());
  int events = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    ASSERT_EQ(j.size(), 4u) << line;
    EXPECT_EQ(j.value("program", ""), "relaisd") << line;
    EXPECT_NE(j.value("level", ""), "forged") << line;
    const std::string time = j.value("time", "");
    EXPECT_EQ(time.size(), 24u) << line;  // 2026-11-30T01:55:58.123Z
    EXPECT_EQ(time.back(), 'Z') << line;
    if (j.value("message", "").rfind(what, 0) == 0) ++events;
  }
  EXPECT_EQ(events, 2);  // accepted, delivered
}

TEST(BrokerLogTest, AConfigurationMistakeFoundAtStartIsExitTwo) {
  // Found once the file parsed (a route naming no participant, a missing
  // key file): exit 2, which the systemd unit does not restart, and the
  // reason in words, without the status's internal name.
  TestStack stack;
  auto text = ReadFile(stack.layout().BrokerConfig());
  ASSERT_TRUE(text.ok());
  const std::string route = "to = [\"caf\", ";
  for (const auto& [from, to, says] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {route, "to = [\"caff\", ", "unknown participant 'caff'"},
           {"identity = \"secrets/relais.key.toml\"",
            "identity = \"secrets/none.key.toml\"", "none.key.toml"}}) {
    std::string changed = *text;
    const size_t at = changed.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    changed.replace(at, from.size(), to);
    const std::string config = stack.dir() + "/mistaken.toml";
    ASSERT_TRUE(WriteFileAtomic(config, changed).ok());
    auto [code, said] =
        RunToEnd(stack, {deploy::BinDir() + "/relaisd", "--config", config});
    EXPECT_EQ(code, 2) << says;
    EXPECT_NE(said.find(says), std::string::npos) << said;
    EXPECT_EQ(said.find("InvalidArgument"), std::string::npos) << said;
    EXPECT_EQ(said.find("NotFound"), std::string::npos) << said;
  }
}

}  // namespace
}  // namespace relais::testing
