// console.toml (console_config.h): defaults, required keys, ranges,
// paths relative to the file's folder.

#include "adapters/france_services/console_config.h"

#include <gtest/gtest.h>

#include <string>

namespace relais::console {
namespace {

constexpr char kPath[] = "/etc/relais/console.toml";

Result<ConsoleConfig> Parse(const std::string& extra) {
  return ParseConsoleConfig(
      "[console]\nagents = \"agents.json\"\nparticipant = \"client.toml\"\n" +
          extra,
      kPath);
}

TEST(ConsoleConfigTest, DefaultsAndPathsBesideTheFile) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->agents_file, "/etc/relais/agents.json");
  EXPECT_EQ(c->participant_file, "/etc/relais/client.toml");
  EXPECT_EQ(c->cases_dir, "/etc/relais/cases");
  EXPECT_EQ(c->case_retention_days, 400);
  EXPECT_EQ(c->case_ttl_days, 30);
  EXPECT_EQ(c->listen, "127.0.0.1:8480");
  EXPECT_EQ(c->site_name, "");
  EXPECT_EQ(c->web_dir, "") << "relais-console serve puts bin/../web";
  auto named =
      Parse("site_name = \"France services Paris 15e\"\nweb_dir = \"pages\"\n");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->site_name, "France services Paris 15e");
  EXPECT_EQ(named->web_dir, "/etc/relais/pages");
  auto absolute = Parse("cases_dir = \"/var/lib/relais/cases\"\n");
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(absolute->cases_dir, "/var/lib/relais/cases");
}

TEST(ConsoleConfigTest, MistakesAreNamed) {
  struct Case {
    std::string text, says;
  };
  for (const Case& c : std::vector<Case>{
           {"[console]\nagents = \"a.json\"\n", "participant"},
           {"[console]\nparticipant = \"c.toml\"\n", "agents"},
           {"[console]\nagents = \"a.json\"\nparticipant = \"c.toml\"\n"
            "case_ttl_days = 91\n",
            "case_ttl_days"},
           {"[console]\nagents = \"a.json\"\nparticipant = \"c.toml\"\n"
            "case_retention_days = 7\n",
            "case_retention_days"},
           {"[console]\nagents = \"a.json\"\nparticipant = \"c.toml\"\n"
            "case_dir = \"x\"\n",
            "case_dir"},
           {"[console]\nagents = \"a.json\"\nparticipant = \"c.toml\"\n"
            "site_name = \"Paris\\u0007\"\n",
            "site_name"},
           {"[console]\nagents = \"a.json\"\nparticipant = \"c.toml\"\n"
            "site_name = \"" +
                std::string(121, 'x') + "\"\n",
            "site_name"},
       }) {
    auto r = ParseConsoleConfig(c.text, kPath);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << r.status().message();
  }
}

}  // namespace
}  // namespace relais::console
