// Integration: what an adapter's log says about its broker and the
// deliveries it refuses (adapters/README.md, "The adapter's log"): connect
// and disconnect, an unreachable relaisd once (not at every retry) and its
// return, and each refused delivery with its message id and reason, without
// any personal data of the case; and the configurations an adapter refuses
// to start with (another agency's file, two folders the same), exit 2.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/cases.h"
#include "core/files.h"
#include "deploy/lib/process.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::seconds;

constexpr char kDesk[] = "france-services/paris-15";

// The lines of `text` holding `needle`.
std::vector<std::string> LinesWith(const std::string& text,
                                   const std::string& needle) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (line.find(needle) != std::string::npos) out.push_back(line);
    start = end + 1;
  }
  return out;
}

class AdapterLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
    ASSERT_TRUE(stack_.StartAdapter("caf").ok());
  }
  void TearDown() override {
    EXPECT_EQ(stack_.PersonalDataInLogs(), std::vector<std::string>{});
  }
  std::string Log() const {
    auto text = ReadFile(stack_.AdapterLogPath("caf"), 16 << 20);
    return text.ok() ? *text : std::string();
  }
  // Waits until the CAF's log has `n` lines holding `needle`.
  bool WaitForLines(const std::string& needle, size_t n) {
    return WaitUntil([&] { return LinesWith(Log(), needle).size() >= n; },
                     seconds(30));
  }

  TestStack stack_;
};

TEST_F(AdapterLogTest, ConnectionsAndAnUnreachableBrokerAreSaidOnce) {
  const std::string endpoint = stack_.endpoint();
  ASSERT_TRUE(WaitForLines("caf: connected to " + endpoint, 1)) << Log();

  ASSERT_EQ(stack_.StopBroker(), 0);
  ASSERT_TRUE(WaitForLines("caf: disconnected from " + endpoint, 1)) << Log();
  ASSERT_TRUE(WaitForLines("caf: relaisd is unreachable at " + endpoint, 1))
      << Log();
  // Retries every 100 ms doubling to 5 s: in 8 s more, about eight. Only a
  // time can show that none of them was said again.
  std::this_thread::sleep_for(seconds(8));
  ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
  ASSERT_TRUE(
      WaitForLines("caf: connected to " + endpoint + " again, after ", 1))
      << Log();

  const std::string log = Log();
  EXPECT_EQ(LinesWith(log, "unreachable at").size(), 1u) << log;
  EXPECT_EQ(LinesWith(log, "disconnected from").size(), 1u) << log;
  EXPECT_EQ(LinesWith(log, "caf: connected to").size(), 2u) << log;
  const auto unreachable = LinesWith(log, "unreachable at");
  ASSERT_EQ(unreachable.size(), 1u);
  EXPECT_NE(unreachable[0].find(" warning relais-adapter-caf: caf: relaisd is "
                                "unreachable at " +
                                endpoint + " (no connection for 2 s)"),
            std::string::npos)
      << unreachable[0];
}

// A case the CAF cannot write (a given name outside ISO-8859-1) is refused:
// the log says so with the message id and the reason naming the field, and
// nothing of the citizen (name, NIR, address, e-mail).
TEST_F(AdapterLogTest, ARefusedDeliveryIsLoggedWithoutPersonalData) {
  auto desk = stack_.Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  auto doc = nlohmann::json::parse(*ReadFile(
      SourcePath("deploy/samples/france_services/address_change.json")));
  doc["event"]["body"]["citizen"]["identity"]["given_names"][0] =
      "\xC5\x81ukasz";  // Łukasz
  EnvelopeDraft d;
  d.recipients = {"caf"};
  d.case_type = wire::CaseType::AddressChange;
  auto payload = CaseEventFromJson(doc["event"].dump());
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  d.payload = *payload;
  d.case_id = "c-log-refused";
  auto sealed = (*desk)->Seal(d);
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE((*desk)->Submit(*sealed, seconds(10)).ok());
  const std::string id = HexEncode(sealed->message_id);
  ASSERT_TRUE(WaitForLines("caf: refused delivery of message " + id, 1))
      << Log();

  const std::string log = Log();
  const auto refused = LinesWith(log, "refused delivery of message " + id);
  ASSERT_EQ(refused.size(), 1u) << log;
  EXPECT_NE(refused[0].find(" warning relais-adapter-caf: caf: refused "
                            "delivery of message " +
                            id + " (sequence "),
            std::string::npos)
      << refused[0];
  EXPECT_TRUE(refused[0].ends_with(
      "): field allocataire.identite.prenoms[0]: character U+0141 cannot be "
      "written in ISO-8859-1"))
      << refused[0];
  for (const char* personal :
       {"ukasz", "MARTIN", "284057512345672", "2840575123456", "Lilas", "March",
        "claire.martin", "+33612345678", "1984-05-12"}) {
    EXPECT_EQ(log.find(personal), std::string::npos) << personal << "\n" << log;
  }
  EXPECT_TRUE(FileNames(stack_.layout().Outbox("caf")).empty());
}

// Runs relais-adapter-`agency` with `config` until it exits (30 s at
// most): its exit status and output.
std::pair<int, std::string> RunAdapter(const TestStack& stack,
                                       const std::string& agency,
                                       const std::string& config) {
  return RunToEnd(stack, {deploy::BinDir() + "/relais-adapter-" + agency,
                          "--config", config});
}

TEST_F(AdapterLogTest, ConfigurationsThatWouldMisdeliverAreRefusedAtStart) {
  // Each file below names an endpoint file that never comes, as if relaisd
  // were down: its mistake must still stop the adapter at once, not after
  // the adapter waited for relaisd.
  auto text = ReadFile(stack_.layout().AdapterConfig("caf"));
  ASSERT_TRUE(text.ok());
  const std::string key = "broker_endpoint_file = ";
  const size_t endpoint = text->find(key);
  ASSERT_NE(endpoint, std::string::npos) << *text;
  text->replace(endpoint, text->find('\n', endpoint) - endpoint,
                key + "\"relaisd-is-down.endpoint\"");
  const auto with = [&](const std::string& line, const std::string& instead) {
    std::string changed = *text;
    const size_t at = changed.find(line);
    EXPECT_NE(at, std::string::npos) << line;
    if (at != std::string::npos) changed.replace(at, line.size(), instead);
    const std::string path = stack_.layout().ParticipantDir("caf") + "/x.toml";
    EXPECT_TRUE(WriteFileAtomic(path, changed).ok());
    return path;
  };

  // CPAM's adapter given the CAF's file would take the CAF's deliveries
  // and write them in CPAM's formats.
  const std::string as_is = with("", "");
  auto [code, out] = RunAdapter(stack_, "cpam", as_is);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("cannot start: "), std::string::npos) << out;
  EXPECT_NE(out.find("this file is for participant 'caf', and "
                     "relais-adapter-cpam is the adapter of 'cpam'"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("waiting for it"), std::string::npos) << out;
  EXPECT_EQ(out.find("InvalidArgument"), std::string::npos) << out;

  // Its inbox its outbox ("outbox/" is that folder): it would read its own
  // deliveries as the partner's cases. Then a folder left empty.
  std::tie(code, out) = RunAdapter(
      stack_, "caf", with("inbox = \"inbox\"", "inbox = \"outbox/\""));
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("'inbox' and 'outbox' are the same folder"),
            std::string::npos)
      << out;
  std::tie(code, out) =
      RunAdapter(stack_, "caf", with("done = \"done\"", "done = \"\""));
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("'done' is empty: it must name a folder"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("waiting for it"), std::string::npos) << out;

  // A file without a mistake waits for relaisd (and says so), until told
  // to stop.
  auto waiting = deploy::ChildProcess::Start(
      {deploy::BinDir() + "/relais-adapter-caf", "--config", with("", "")},
      stack_.dir() + "/waiting.log");
  ASSERT_TRUE(waiting.ok()) << waiting.status().ToString();
  const auto log = [&] {
    auto t = ReadFile(stack_.dir() + "/waiting.log");
    return t.ok() ? *t : std::string();
  };
  ASSERT_TRUE(WaitUntil([&] {
    return log().find("waiting for it") != std::string::npos;
  })) << log();
  EXPECT_TRUE(waiting->running());
  EXPECT_EQ(waiting->Stop(), 0) << log();
}

}  // namespace
}  // namespace relais::testing
