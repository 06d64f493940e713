#include "adapters/france_services/agent_book.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "adapters/france_services/password.h"
#include "tests/support/test_dir.h"

namespace relais::console {
namespace {

using relais::testing::Slurp;
using relais::testing::Spit;

const std::string& CheapHash() {
  static const std::string hash = [] {
    auto h = HashPassword("le bon mot de passe", {10, 8, 1});
    return h.ok() ? *h : std::string();
  }();
  return hash;
}

Agent Sample(const std::string& login) {
  return {login,       "Alice Martin", "france-services/paris-15",
          CheapHash(), false,          1000,
          1000};
}

class AgentBookTest : public relais::testing::TestDirFixture {};

TEST_F(AgentBookTest, AMissingFileIsAnEmptyBook) {
  auto book = AgentBook::Load(Path("agents.json"));
  ASSERT_TRUE(book.ok()) << book.status().ToString();
  EXPECT_TRUE(book->agents().empty());
}

TEST_F(AgentBookTest, EditWritesABookThatLoadsBackPrivately) {
  const std::string path = Path("agents.json");
  ASSERT_TRUE(AgentBook::Edit(path, [](AgentBook& b) {
                return b.Add(Sample("a.martin"));
              }).ok());
  ASSERT_TRUE(AgentBook::Edit(path, [](AgentBook& b) {
                return b.SetDisabled("a.martin", true, 2000);
              }).ok());
  auto book = AgentBook::Load(path);
  ASSERT_TRUE(book.ok()) << book.status().ToString();
  ASSERT_EQ(book->agents().size(), 1u);
  const Agent* a = book->Find("a.martin");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "Alice Martin");
  EXPECT_EQ(a->site, "france-services/paris-15");
  EXPECT_EQ(a->password, CheapHash());
  EXPECT_TRUE(a->disabled);
  EXPECT_EQ(a->created_ms, 1000);
  EXPECT_EQ(a->changed_ms, 2000);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AgentBookTest, AFailedChangeLeavesTheFileAsItWas) {
  const std::string path = Path("agents.json");
  ASSERT_TRUE(AgentBook::Edit(path, [](AgentBook& b) {
                return b.Add(Sample("a.martin"));
              }).ok());
  const std::string before = Slurp(path);
  Status st = AgentBook::Edit(path, [](AgentBook& b) {
    EXPECT_TRUE(b.Add(Sample("b.durand")).ok());
    return b.Add(Sample("a.martin"));  // taken
  });
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Slurp(path), before);
}

TEST_F(AgentBookTest, EachFieldIsChecked) {
  AgentBook book;
  for (const std::string& login :
       std::vector<std::string>{"a", "A.martin", "1martin", "a martin",
                                "a/martin", std::string(65, 'a')}) {
    EXPECT_FALSE(book.Add(Sample(login)).ok()) << login;
  }
  Agent no_name = Sample("a.martin");
  no_name.name = "";
  EXPECT_FALSE(book.Add(no_name).ok());
  Agent bad_name = Sample("a.martin");
  bad_name.name = "Alice\nMartin";
  EXPECT_FALSE(book.Add(bad_name).ok());
  Agent bad_site = Sample("a.martin");
  bad_site.site = "France Services";
  EXPECT_FALSE(book.Add(bad_site).ok());
  Agent plain = Sample("a.martin");
  plain.password = "le bon mot de passe";  // not a hash
  EXPECT_FALSE(book.Add(plain).ok());
  EXPECT_TRUE(book.agents().empty());
  EXPECT_EQ(book.SetDisabled("nobody", true, 1).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(book.SetPassword("nobody", CheapHash(), 1).code(),
            Status::Code::kNotFound);
}

// A damaged file is refused with the entry's index, never its contents.
TEST_F(AgentBookTest, ADamagedFileIsCorruptionNamingTheEntry) {
  const std::string path = Path("agents.json");
  ASSERT_TRUE(AgentBook::Edit(path, [](AgentBook& b) {
                return b.Add(Sample("a.martin"));
              }).ok());
  const std::string good = Slurp(path);
  auto refused = [&](const std::string& text) {
    Spit(path, text);
    auto book = AgentBook::Load(path);
    EXPECT_FALSE(book.ok()) << text;
    if (book.ok()) return std::string();
    EXPECT_EQ(book.status().code(), Status::Code::kCorruption);
    return book.status().message();
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  EXPECT_NE(refused("not json").find("not a JSON object"), std::string::npos);
  EXPECT_NE(refused(replaced("relais-console-agents/1", "v2")).find("format"),
            std::string::npos);
  EXPECT_NE(refused(replaced("\"disabled\"", "\"disabld\"")).find("agents[0]"),
            std::string::npos);
  std::string msg =
      refused(replaced("\"login\": \"a.martin\"", "\"login\": \"A 1850775\""));
  EXPECT_NE(msg.find("agents[0]"), std::string::npos);
  EXPECT_EQ(msg.find("1850775"), std::string::npos) << msg;
  msg = refused(replaced("$scrypt$", "$plain$"));
  EXPECT_NE(msg.find("agents[0]"), std::string::npos);
  // The same login twice.
  nlohmann::json j = nlohmann::json::parse(good);
  j["agents"].push_back(j["agents"][0]);
  EXPECT_NE(refused(j.dump()).find("agents[1]"), std::string::npos);
}

TEST_F(AgentBookTest, SignInSaysOnlyWhatTheRightPasswordEarns) {
  AgentBook book;
  ASSERT_TRUE(book.Add(Sample("a.martin")).ok());
  Agent off = Sample("b.durand");
  off.disabled = true;
  ASSERT_TRUE(book.Add(off).ok());
  auto check = [&](const char* login, const char* password) {
    auto r = CheckSignIn(book, login, password);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SignIn::kRefused;
  };
  EXPECT_EQ(check("a.martin", "le bon mot de passe"), SignIn::kOk);
  EXPECT_EQ(check("a.martin", "le bon mot de pass"), SignIn::kRefused);
  EXPECT_EQ(check("nobody", "le bon mot de passe"), SignIn::kRefused);
  EXPECT_EQ(check("b.durand", "le bon mot de passe"), SignIn::kDisabled);
  EXPECT_EQ(check("b.durand", "un autre mot de passe"), SignIn::kRefused);
}

// Two commands at once: the lock makes one wait, so neither loses the
// other's agents.
TEST_F(AgentBookTest, ConcurrentEditsLoseNothing) {
  const std::string path = Path("agents.json");
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string login =
            "agent" + std::to_string(t) + "-" + std::to_string(i);
        Status st = AgentBook::Edit(
            path, [&](AgentBook& b) { return b.Add(Sample(login)); });
        EXPECT_TRUE(st.ok()) << st.ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  auto book = AgentBook::Load(path);
  ASSERT_TRUE(book.ok());
  EXPECT_EQ(book->agents().size(), 20u);
}

}  // namespace
}  // namespace relais::console
