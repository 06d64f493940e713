// relais-console agent ...: the program of this build, run as an operator
// would (the password piped in with --password-stdin).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "adapters/france_services/agent_book.h"
#include "core/files.h"
#include "deploy/lib/process.h"
#include "tests/support/test_dir.h"

namespace relais::console {
namespace {

using relais::testing::Slurp;

class AgentCliTest : public relais::testing::TestDirFixture {
 protected:
  // Runs `relais-console agent ARGS --agents <file>` with `stdin_text` on
  // its standard input; returns the exit code and its output.
  std::pair<int, std::string> Agent(const std::string& args,
                                    const std::string& stdin_text = "") {
    const std::string in = Path("stdin"), out = Path("out");
    EXPECT_TRUE(WriteFileAtomic(in, stdin_text).ok());
    std::remove(out.c_str());
    const std::string cmd = "exec '" + deploy::BinDir() +
                            "/relais-console' agent " + args + " --agents '" +
                            agents_ + "' < '" + in + "'";
    auto child = deploy::ChildProcess::Start({"/bin/sh", "-c", cmd}, out);
    if (!child.ok()) return {-1, child.status().ToString()};
    const int code = child->Wait(std::chrono::seconds(30));
    auto text = ReadFile(out, 1 << 20);
    return {code, text.ok() ? *text : std::string()};
  }
  void SetUp() override {
    TestDirFixture::SetUp();
    agents_ = Path("agents.json");
  }
  std::string agents_;
};

constexpr const char* kAdd =
    "add --login a.martin --name 'Alice Martin' "
    "--site france-services/paris-15 --password-stdin";

TEST_F(AgentCliTest, AddListDisableEnable) {
  // Before any agent (or with a mistyped --agents): said, not an empty
  // table.
  auto [code, out] = Agent("list");
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("no agents file"), std::string::npos) << out;
  std::tie(code, out) = Agent(kAdd, "un mot de passe solide\n");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("agent a.martin: added"), std::string::npos) << out;
  EXPECT_EQ(Slurp(agents_).find("solide"), std::string::npos)
      << "the file holds a hash, not the password";

  std::tie(code, out) = Agent("list");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("a.martin"), std::string::npos) << out;
  EXPECT_NE(out.find("active"), std::string::npos) << out;
  EXPECT_NE(out.find("Alice Martin"), std::string::npos) << out;
  EXPECT_EQ(out.find("$scrypt$"), std::string::npos) << out;

  std::tie(code, out) = Agent("disable --login a.martin");
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) = Agent("list --json");
  ASSERT_EQ(code, 0) << out;
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << out;
  EXPECT_EQ(j[0]["disabled"], true);
  EXPECT_FALSE(j[0].contains("password"));
  auto book = AgentBook::Load(agents_);
  ASSERT_TRUE(book.ok());
  auto signin = CheckSignIn(*book, "a.martin", "un mot de passe solide");
  ASSERT_TRUE(signin.ok());
  EXPECT_EQ(*signin, SignIn::kDisabled);

  std::tie(code, out) = Agent("enable --login a.martin");
  ASSERT_EQ(code, 0) << out;
  book = AgentBook::Load(agents_);
  ASSERT_TRUE(book.ok());
  signin = CheckSignIn(*book, "a.martin", "un mot de passe solide");
  ASSERT_TRUE(signin.ok());
  EXPECT_EQ(*signin, SignIn::kOk);
}

TEST_F(AgentCliTest, PasswdReplacesThePassword) {
  ASSERT_EQ(Agent(kAdd, "un mot de passe solide\n").first, 0);
  auto [code, out] = Agent("passwd --login a.martin --password-stdin",
                           "un autre, tout neuf\r\n");
  ASSERT_EQ(code, 0) << out;
  auto book = AgentBook::Load(agents_);
  ASSERT_TRUE(book.ok());
  auto old_one = CheckSignIn(*book, "a.martin", "un mot de passe solide");
  auto new_one = CheckSignIn(*book, "a.martin", "un autre, tout neuf");
  ASSERT_TRUE(old_one.ok() && new_one.ok());
  EXPECT_EQ(*old_one, SignIn::kRefused);
  EXPECT_EQ(*new_one, SignIn::kOk);
}

// Each mistake exits 2 with a message that says what to change, and
// leaves the file as it was.
TEST_F(AgentCliTest, MistakesChangeNothing) {
  ASSERT_EQ(Agent(kAdd, "un mot de passe solide\n").first, 0);
  const std::string before = Slurp(agents_);
  struct Case {
    std::string args, stdin_text, says;
  };
  const std::vector<Case> cases = {
      {kAdd, "un autre mot de passe\n", "taken"},
      {"add --login b.durand --name 'B D' --site france-services/paris-15 "
       "--password-stdin",
       "court\n", "shorter than 12"},
      {"add --login 'b durand' --name 'B D' --site france-services/paris-15 "
       "--password-stdin",
       "un mot de passe solide\n", "a login holds only"},
      {"add --login b.durand --name 'B D' --site 'Paris 15' --password-stdin",
       "un mot de passe solide\n", "--site"},
      {"add --login b.durand --name 'B D' --site caf --password-stdin",
       "un mot de passe solide\n", "is an agency, not a France services site"},
      {"add --login b.durand --name 'B D' --site france-services/paris-15", "",
       "--password-stdin"},
      {"add --login b.durand --name 'B D' --site france-services/paris-15 "
       "--password-stdin",
       "", "no password"},
      {"disable --login nobody", "", "no agent has that login"},
      {"remove --login a.martin", "", "unknown command 'remove'"},
  };
  for (const auto& c : cases) {
    auto [code, out] = Agent(c.args, c.stdin_text);
    EXPECT_EQ(code, 2) << c.args << "\n" << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.args << "\n" << out;
    EXPECT_EQ(out.find("solide"), std::string::npos) << out;
    EXPECT_EQ(Slurp(agents_), before) << c.args;
  }
}

TEST_F(AgentCliTest, ADamagedFileIsNamedAndLeftAlone) {
  relais::testing::Spit(agents_, "{\"format\": \"something else\"}");
  auto [code, out] = Agent("list");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find(agents_), std::string::npos) << out;
  std::tie(code, out) = Agent(kAdd, "un mot de passe solide\n");
  EXPECT_EQ(code, 1) << out;
  EXPECT_EQ(Slurp(agents_), "{\"format\": \"something else\"}");
}

}  // namespace
}  // namespace relais::console
