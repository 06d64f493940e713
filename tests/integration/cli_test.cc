// `relais` as a person uses it, against a real relaisd: every bad input is
// refused before anything is sent, with the file's line and column, and a
// documented exit code; --check sends nothing; the same case file opened
// twice opens one case.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/files.h"
#include "deploy/lib/process.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kDesk[] = "france-services/paris-15";

class CliTest : public ::testing::Test {
 protected:
  // Whatever the test sent or dropped, no log holds a citizen's data.
  void TearDown() override {
    EXPECT_EQ(stack_.PersonalDataInLogs(), std::vector<std::string>{});
  }

  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
  }

  std::string Config() const { return stack_.layout().ClientConfig(kDesk); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = stack_.dir() + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(path, text).ok());
    return path;
  }

  // Submits journaled by relaisd since it started (relais stats --json).
  int Journaled() {
    auto [code, out] =
        RunCli(stack_, {"stats", "--config",
                        stack_.layout().ClientConfig("operator"), "--json"});
    EXPECT_EQ(code, 0) << out;
    auto doc = json::parse(out, nullptr, false);
    return doc.is_object() ? doc.value("journal_submits", -1) : -1;
  }

  std::string Sample() {
    return *ReadFile(
        SourcePath("deploy/samples/france_services/address_change.json"));
  }

  TestStack stack_;
};

TEST_F(CliTest, BadCaseFilesAreRefusedWithLineAndColumnAndNothingIsSent) {
  const std::string sample = Sample();
  struct Bad {
    std::string text;
    std::string expected;  // after "<file>:"
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = sample;
    const size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  const std::vector<Bad> bad = {
      {replaced("\"ttl_hours\": 168", "\"ttl_hours\": \"abc\""),
       "3:16: ttl_hours: must be a whole number of hours from 1 to 2160"},
      {replaced("\"ttl_hours\": 168", "\"case_id\": 5"),
       "3:14: case_id: must be 1 to 64 characters"},
      {replaced("\"ttl_hours\": 168", "\"ttl_hour\": 168"),
       "3:15: ttl_hour: unknown key; a case file has case_id, recipients, "
       "ttl_hours, event"},
      {replaced("\"2026-12-01\"", "\"2026-13-01\""),
       "18:25: event.body.effective_date: not a date YYYY-MM-DD"},
      {replaced("\"Female\"", "\"F\""),
       "13:18: event.body.citizen.identity.sex: must be one of Unspecified, "
       "Male, Female"},
      {replaced("\"cpam\", \"dgfip\"", "\"cpam\", \"cpam\""),
       "2:33: recipients[2]: named twice"},
      {replaced("\"caf\", \"cpam\"", "\"caf\", \"CPAM\""),
       "2:25: recipients[1]: not a participant id"},
      {replaced("\"phone\": \"+33612345678\"", "\"phone\": 33612345678"),
       "29:66: event.body.contact.phone: must be a string"},
      {sample.substr(0, 40),
       " not JSON: line 2, column 39: a string is not closed"},
  };
  for (const Bad& b : bad) {
    const std::string file = Write("case.json", b.text);
    auto [code, out] = RunCli(
        stack_, {"case", "open", "--config", Config(), file, "--timeout", "5"});
    EXPECT_EQ(code, 2) << out;
    EXPECT_THAT(out, HasSubstr(file + ":" + b.expected));
    EXPECT_THAT(out, HasSubstr("the case was not sent"));
    // The file's values never come back (a NIR, a name).
    EXPECT_THAT(out, Not(HasSubstr("284057512345672")));
    EXPECT_THAT(out, Not(HasSubstr("MARTIN")));
  }
  EXPECT_EQ(Journaled(), 0);
}

TEST_F(CliTest, CheckPrintsWhatEachRecipientWouldReceiveAndSendsNothing) {
  const std::string file = Write("case.json", Sample());
  auto [code, out] = RunCli(stack_, {"case", "open", "--config", Config(), file,
                                     "--check", "--json"});
  ASSERT_EQ(code, 0) << out;
  const json check = json::parse(out);
  EXPECT_EQ(check["case_type"], "address_change");
  EXPECT_EQ(check["recipients"],
            json::array({"caf", "cpam", "dgfip", "france-travail"}));
  size_t recipients = 0;
  for (const auto& view : check["views"]) {
    const auto& body = view["event"]["body"];
    ASSERT_EQ(body["references"].size(),
              view["recipients"].size() == 1 ? 1u : 0u)
        << view.dump();
    for (const auto& r : body["references"]) {
      EXPECT_EQ(r["agency"], view["recipients"][0]);  // its own only
    }
    recipients += view["recipients"].size();
  }
  EXPECT_EQ(recipients, 4u);
  std::tie(code, out) =
      RunCli(stack_, {"case", "open", "--config", Config(), file, "--check"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("valid address_change case; nothing sent."));
  EXPECT_EQ(Journaled(), 0);
}

TEST_F(CliTest, TheSameCaseOpenedTwiceIsOneCase) {
  const std::string file = Write("case.json", Sample());
  auto open = [&](std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"case",   "open", "--config",
                                     Config(), file,   "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto [code, out] = RunCli(stack_, args);
    EXPECT_EQ(code, 0) << out;
    return json::parse(out, nullptr, false);
  };
  const json first = open();
  const int journaled = Journaled();
  ASSERT_GT(journaled, 0);
  // The record keeps the sealed envelopes (the citizen's data): for the
  // owner alone, whatever the umask.
  namespace fs = std::filesystem;
  int records = 0;
  for (const auto& e : fs::recursive_directory_iterator(stack_.dir())) {
    if (e.path().parent_path().filename() != "opened") continue;
    ++records;
    EXPECT_EQ(fs::status(e.path()).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << e.path();
    EXPECT_EQ(fs::status(e.path().parent_path()).permissions() & fs::perms::all,
              fs::perms::owner_all);
  }
  EXPECT_EQ(records, 1);
  const json again = open();  // a retry after a lost answer
  EXPECT_EQ(again["case_id"], first["case_id"]);
  EXPECT_TRUE(again["again"].get<bool>());
  ASSERT_EQ(again["messages"].size(), first["messages"].size());
  for (size_t i = 0; i < first["messages"].size(); ++i) {
    EXPECT_EQ(again["messages"][i]["message_id"],
              first["messages"][i]["message_id"]);
    EXPECT_EQ(again["messages"][i]["sequence"],
              first["messages"][i]["sequence"]);
    EXPECT_TRUE(again["messages"][i]["duplicate"].get<bool>());
  }

  // Another key is another case; a key used for another file is refused.
  const json other = open({"--idempotency-key", "counter-2"});
  EXPECT_NE(other["case_id"], first["case_id"]);
  const std::string changed = Write("changed.json", Sample() + "\n");
  auto [code, out] =
      RunCli(stack_, {"case", "open", "--config", Config(), changed,
                      "--idempotency-key", "counter-2"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("the idempotency key 'counter-2' already opened "
                             "case " +
                             other["case_id"].get<std::string>() +
                             " from another file"));
}

// A person reading `--version` (or a script recording it) learns which
// program answered: each names itself, as its --help does.
TEST_F(CliTest, EveryProgramNamesItselfInItsVersion) {
  for (const std::string program :
       {"relaisd", "relais", "relais-console", "relais-bench",
        "relais-adapter-caf", "relais-adapter-cpam", "relais-adapter-dgfip",
        "relais-adapter-france-travail"}) {
    auto [code, out] =
        RunToEnd(stack_, {deploy::BinDir() + "/" + program, "--version"});
    EXPECT_EQ(code, 0) << program << ": " << out;
    EXPECT_TRUE(
        std::regex_match(out, std::regex(program + " \\d+\\.\\d+\\.\\d+\n")))
        << program << ": " << out;
    std::tie(code, out) =
        RunToEnd(stack_, {deploy::BinDir() + "/" + program, "--help"});
    EXPECT_EQ(code, 0) << program << ": " << out;
    EXPECT_THAT(out, HasSubstr("Usage: " + program + " ")) << program;
  }
}

// A test program run by hand (without ctest's RELAIS_BIN_DIR) from
// build/tests still finds relaisd and the others in build/bin.
TEST_F(CliTest, ProgramsAreFoundWithoutRelaisBinDir) {
  const char* set = std::getenv("RELAIS_BIN_DIR");
  ASSERT_NE(set, nullptr) << "ctest sets RELAIS_BIN_DIR";
  const std::string from_ctest = set;
  ::unsetenv("RELAIS_BIN_DIR");
  const std::string found = deploy::BinDir();
  ::setenv("RELAIS_BIN_DIR", from_ctest.c_str(), 1);
  EXPECT_TRUE(std::filesystem::equivalent(found, from_ctest)) << found;
}

// A count typed as a word, a sign or a number too large is named as what
// it is, with the range, never "not in range" for "abc" nor 2^64 - 1 for -1.
TEST_F(CliTest, CountsMustBeWholeNumbersInTheirRange) {
  const std::string bench = deploy::BinDir() + "/relais-bench";
  for (const std::string typed :
       {"abc", "-5", "1.5", "", "0", "10000001", "99999999999999999999999"}) {
    auto [code, out] = RunToEnd(stack_, {bench, "--messages", typed});
    EXPECT_EQ(code, 2) << typed << ": " << out;
    EXPECT_THAT(out, HasSubstr("--messages: must be a whole number from 1 to "
                               "10000000"))
        << typed;
  }
  auto [code, out] = RunToEnd(stack_, {bench, "--seed", "-1"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("must be a whole number"));
  std::tie(code, out) = RunCli(stack_, {"keygen", "--id", "caf", "--days",
                                        "abc", "--out", stack_.dir() + "/k"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--days: must be a whole number from 1 to 3650"));
}

TEST_F(CliTest, ExitCodesSayWhoFailed) {
  auto [code, out] = RunCli(stack_, {"--version"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("^relais \\d+\\.\\d+\\.\\d+")))
      << out;
  std::tie(code, out) = RunCli(stack_, {"frobnicate"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("frobnicate"));
  std::tie(code, out) = RunCli(stack_, {"--help"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("3 refused by relaisd"));
  std::tie(code, out) = RunCli(
      stack_, {"case", "open", "--config", Config(), "x", "--timeout", "abc"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--timeout"));
  std::tie(code, out) =
      RunCli(stack_, {"case", "status", "--config", Config(), "bad id\n"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("'bad id\\n' is not a case id"));
  std::tie(code, out) = RunCli(stack_, {"case", "status", "--config", Config(),
                                        "c-20260101-000000000000"});
  EXPECT_EQ(code, 3) << out;
  EXPECT_THAT(out, HasSubstr("402 UnknownCase"));
  std::tie(code, out) = RunCli(
      stack_, {"stats", "--config", stack_.layout().ClientConfig("operator")});
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("submits journaled"));
  EXPECT_THAT(out, ::testing::ContainsRegex("synced batches, [0-9]+ syncs"));

  // A CURVE key relaisd does not know: refused at once, not at the timeout.
  const std::string keys = stack_.dir() + "/stranger";
  std::tie(code, out) =
      RunCli(stack_, {"keygen", "--id", "stranger", "--out", keys});
  ASSERT_EQ(code, 0) << out;
  std::string config = *ReadFile(Config());
  config = std::regex_replace(config, std::regex("identity = .*"),
                              "identity = \"" + keys + "/stranger.key.toml\"");
  const std::string stranger =
      stack_.layout().ParticipantDir(kDesk) + "/stranger.toml";
  ASSERT_TRUE(WriteFileAtomic(stranger, config).ok());
  const std::string file = Write("case.json", Sample());
  const auto start = std::chrono::steady_clock::now();
  std::tie(code, out) = RunCli(
      stack_, {"case", "open", "--config", stranger, file, "--timeout", "60"});
  EXPECT_EQ(code, 3) << out;
  EXPECT_THAT(out, HasSubstr("refused the CURVE key of stranger"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(50));

  // No broker: nothing was sent, and the command says so.
  ASSERT_EQ(stack_.StopBroker(), 0);
  std::tie(code, out) = RunCli(
      stack_, {"case", "open", "--config", Config(), file, "--timeout", "1"});
  EXPECT_EQ(code, 4) << out;
  EXPECT_THAT(out, HasSubstr("could not reach relaisd at tcp://127.0.0.1:"));
  EXPECT_THAT(out, HasSubstr("nothing was sent"));
}

TEST_F(CliTest, KeygenAndProvisionCheckWhatIsTypedFirst) {
  // An id of 100 000 characters: refused as an id, shown cut short, before
  // any file is made with it (it used to end in "internal error" from the
  // file system, echoing it whole).
  const std::string long_id(100000, 'a');
  auto [code, out] =
      RunCli(stack_, {"keygen", "--id", long_id, "--out", stack_.dir()});
  EXPECT_EQ(code, 2) << out.substr(0, 300);
  EXPECT_THAT(out, HasSubstr("--id: 'aaaa"));
  EXPECT_THAT(out, HasSubstr("is not a participant id"));
  EXPECT_LT(out.size(), 1000u);
  std::tie(code, out) =
      RunCli(stack_, {"keygen", "--id", "x\x1b[31m", "--out", stack_.dir()});
  EXPECT_EQ(code, 2) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  // An empty --out used to write the secret key into /.
  std::tie(code, out) = RunCli(stack_, {"keygen", "--id", "x", "--out", ""});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--out is empty"));

  // What relaisd would refuse (or read as more than an endpoint) is not
  // written into its file.
  for (const std::string listen : {"garbage", "tcp://127.0.0.1:65536",
                                   "tcp://127.0.0.1:0\"\nmax_window = 7 #"}) {
    const std::string dir = stack_.dir() + "/provisioned";
    std::tie(code, out) =
        RunCli(stack_, {"provision", "--dir", dir, "--listen", listen});
    EXPECT_EQ(code, 2) << listen << ": " << out;
    EXPECT_THAT(out, HasSubstr("--listen"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/relaisd.toml")) << listen;
  }
  std::tie(code, out) = RunCli(stack_, {"provision", "--dir", ""});
  EXPECT_EQ(code, 2) << out;

  // Provisioning again rewrites what it wrote, and keeps what a person
  // changed since, saying so.
  const std::string again = stack_.dir() + "/again";
  const std::string toml = again + "/relaisd.toml";
  const auto provision = [&](const std::string& port) {
    return RunCli(stack_, {"provision", "--dir", again, "--listen",
                           "tcp://127.0.0.1:" + port});
  };
  std::tie(code, out) = provision("7801");
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) = provision("7802");
  ASSERT_EQ(code, 0) << out;
  EXPECT_THAT(*ReadFile(toml), HasSubstr("tcp://127.0.0.1:7802"));
  EXPECT_THAT(out, Not(HasSubstr("kept")));
  std::ofstream(toml, std::ios::app) << "# mine\n";
  std::tie(code, out) = provision("7803");
  ASSERT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("relais provision: kept " + toml +
                             " as it is: it was changed since provisioning "
                             "wrote it (remove it to have it written again)"));
  EXPECT_THAT(*ReadFile(toml), HasSubstr("tcp://127.0.0.1:7802"));
  EXPECT_THAT(*ReadFile(toml), HasSubstr("# mine"));
  EXPECT_THAT(*ReadFile(again + "/caf/adapter.toml"), HasSubstr("inbox"));
  std::filesystem::remove(toml);
  std::tie(code, out) = provision("7804");
  ASSERT_EQ(code, 0) << out;
  EXPECT_THAT(*ReadFile(toml), HasSubstr("tcp://127.0.0.1:7804"));
  EXPECT_THAT(out, Not(HasSubstr("kept")));

  // A filter that can match nothing, and a negative sequence (which CLI11
  // used to read as 2^64 - 1), are refused; the message says it in words,
  // without the status's internal name.
  const std::string op = stack_.layout().ClientConfig("operator");
  std::tie(code, out) =
      RunCli(stack_, {"cases", "list", "--config", op, "--opened-after",
                      "2027-01-01", "--opened-before", "2026-01-01"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--opened-before is not after --opened-after"));
  EXPECT_EQ(out.find("InvalidArgument"), std::string::npos) << out;
  std::tie(code, out) =
      RunCli(stack_, {"dead-letters", "list", "--config", op, "--after", "-1"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--after: must be a whole number"));
}

TEST_F(CliTest, ASecondProcessOnTheSameStateSaysWhoHoldsIt) {
  std::string out;
  auto code = stack_.RunBrokerUntilExit(std::chrono::seconds(30), &out);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 2) << out;
  EXPECT_THAT(out, HasSubstr("relaisd is already running on " +
                             stack_.layout().JournalDir() + " (pid " +
                             std::to_string(stack_.broker_pid()) + ")"));
  EXPECT_TRUE(stack_.BrokerRunning());  // the first one is untouched

  ASSERT_TRUE(stack_.StartAdapter("caf").ok());
  auto [adapter_code, adapter_out] =
      RunToEnd(stack_, {deploy::BinDir() + "/relais-adapter-caf", "--config",
                        stack_.layout().AdapterConfig("caf")});
  EXPECT_EQ(adapter_code, 1) << adapter_out;
  EXPECT_THAT(adapter_out, HasSubstr("an adapter of caf is already running"));
  EXPECT_TRUE(stack_.AdapterRunning("caf"));
}

TEST_F(CliTest, EndpointsAndOverridesMustHaveTheirForm) {
  for (const char* listen : {"127.0.0.1:7400", "tcp://127.0.0.1", "tcp://:1",
                             "tcp://127.0.0.1:99999", "tcp://a b:1"}) {
    auto [code, out] =
        RunToEnd(stack_, {deploy::BinDir() + "/relaisd", "--config",
                          stack_.layout().BrokerConfig(), "--listen", listen});
    EXPECT_EQ(code, 2) << listen << ": " << out;
    EXPECT_THAT(out, HasSubstr("is not a TCP endpoint tcp://HOST:PORT"))
        << listen;
  }
  std::string config = *ReadFile(Config());
  config = std::regex_replace(config, std::regex("broker_endpoint_file = .*"),
                              "broker_endpoint = \"tcp://127.0.0.1:0\"");
  const std::string bad = stack_.layout().ParticipantDir(kDesk) + "/port0.toml";
  ASSERT_TRUE(WriteFileAtomic(bad, config).ok());
  auto [code, out] = RunCli(
      stack_, {"case", "status", "--config", bad, "c-20260101-000000000000"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("port0.toml: broker_endpoint: "
                             "'tcp://127.0.0.1:0' is not a TCP endpoint"));

  // Both ways to the broker: one would silently win.
  std::string both = *ReadFile(Config());
  both += "broker_endpoint = \"tcp://127.0.0.1:7400\"\n";
  const std::string twice =
      stack_.layout().ParticipantDir(kDesk) + "/both.toml";
  ASSERT_TRUE(WriteFileAtomic(twice, both).ok());
  std::tie(code, out) = RunCli(
      stack_, {"case", "status", "--config", twice, "c-20260101-000000000000"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("has both 'broker_endpoint' and "
                             "'broker_endpoint_file': keep one"));

  // An override given empty would silently be the file's value.
  std::tie(code, out) =
      RunToEnd(stack_, {deploy::BinDir() + "/relaisd", "--config",
                        stack_.layout().BrokerConfig(), "--log-level", ""});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--log-level is empty"));
}

}  // namespace
}  // namespace relais::testing
