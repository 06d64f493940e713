#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "adapters/sdk/client_config.h"
#include "broker/config.h"
#include "broker/ingress/registry.h"
#include "core/bytes.h"
#include "core/files.h"
#include "deploy/lib/provision.h"
#include "tests/support/fixtures.h"

namespace relais::broker {
namespace {

using wire::CaseType;
using wire::RejectCode;

ParticipantEntry EntryOf(const Identity& identity,
                         std::vector<Route> routes = {}) {
  ParticipantEntry e;
  e.identity = PublicOf(identity);
  e.routes = std::move(routes);
  return e;
}

ParticipantEntry Entry(const std::string& id, std::vector<Route> routes = {}) {
  return EntryOf(testing::MakeIdentity(id), std::move(routes));
}

TEST(RegistryTest, DenyByDefaultSenderRecipientCaseType) {
  auto r = Registry::Build(
      {Entry("caf", {{{"cpam", "france-travail"}, {CaseType::RsaApplication}}}),
       Entry("cpam"), Entry("france-travail"), Entry("dgfip")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->CheckRoute("caf", "cpam", CaseType::RsaApplication).ok());
  EXPECT_EQ(
      r->CheckRoute("caf", "dgfip", CaseType::RsaApplication).reject_code(),
      RejectCode::NotAuthorised);
  EXPECT_EQ(r->CheckRoute("caf", "cpam", CaseType::Birth).reject_code(),
            RejectCode::NotAuthorised);
  EXPECT_EQ(r->CheckRoute("cpam", "caf", CaseType::Birth).reject_code(),
            RejectCode::NotAuthorised);
  EXPECT_EQ(
      r->CheckRoute("caf", "urssaf", CaseType::RsaApplication).reject_code(),
      RejectCode::UnknownRecipient);
}

TEST(RegistryTest, WildcardsAndCurveKeys) {
  Identity bench = testing::MakeIdentity("bench-a");
  auto r = Registry::Build({EntryOf(bench, {{{}, {}}}), Entry("bench-b")});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(
      r->CheckRoute("bench-a", "bench-b", CaseType::DeathNotification).ok());
  const std::string raw = *Z85Decode(bench.curve.public_z85);
  ASSERT_NE(r->ParticipantForCurveKey(raw), nullptr);
  EXPECT_EQ(*r->ParticipantForCurveKey(raw), "bench-a");
  EXPECT_EQ(r->ParticipantForCurveKey(std::string(32, 'z')), nullptr);
}

TEST(RegistryTest, BadRegistriesAreRefused) {
  Identity a = testing::MakeIdentity("caf");
  ParticipantEntry twin = Entry("cpam");
  twin.identity.curve_public_z85 = a.curve.public_z85;
  EXPECT_FALSE(Registry::Build({EntryOf(a), twin}).ok());
  EXPECT_FALSE(Registry::Build({Entry("caf"), Entry("caf")}).ok());
  EXPECT_FALSE(Registry::Build({Entry("caf", {{{"nobody"}, {}}})}).ok());
}

TEST(ConfigTest, ProvisionedConfigLoadsWithItsRoutes) {
  const std::string dir = testing::MakeTestDir();
  deploy::StackSpec spec;
  spec.dir = dir;
  // Only the longest redelivery wait written, below the default first one
  // (10 s): the first wait is capped to it, as every wait is.
  spec.broker_extra =
      "max_message_bytes = 65536\nmax_clock_skew_s = 60\n"
      "redelivery_max_ms = 5000\npayload_retention_days = 7\n";
  auto layout = deploy::Provision(spec);
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  auto config = LoadBrokerConfig(layout->BrokerConfig());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->max_message_bytes, 65536u);
  EXPECT_EQ(config->time_policy.max_clock_skew_ms, 60000);
  EXPECT_EQ(config->redelivery.max_ms, 5000u);
  EXPECT_EQ(config->redelivery.initial_ms, 5000u);
  EXPECT_EQ(config->payload_retention, std::chrono::hours(7 * 24));
  // The desk, four agencies and the operator.
  EXPECT_EQ(config->participants.size(), 6u);
  auto registry = Registry::Build(std::move(config->participants));
  ASSERT_TRUE(registry.ok());
  EXPECT_TRUE(registry->IsOperator("operator"));
  EXPECT_FALSE(registry->IsOperator("caf"));
  // The operator may act on dead letters but sends no case.
  EXPECT_FALSE(
      registry->CheckRoute("operator", "caf", CaseType::AddressChange).ok());
  EXPECT_TRUE(
      registry->CheckRoute("caf", "france-travail", CaseType::RsaApplication)
          .ok());
  EXPECT_TRUE(
      registry->CheckRoute("dgfip", "caf", CaseType::ResourcesUpdate).ok());
  EXPECT_FALSE(
      registry->CheckRoute("dgfip", "cpam", CaseType::ResourcesUpdate).ok());
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, ErrorsNameTheProblem) {
  const std::string dir = testing::MakeTestDir();
  const std::string path = dir + "/bad_relaisd.toml";
  std::ofstream(path) << "[broker]\njournal_dir = \"j\"\nidentity = \"k\"\n"
                         "max_message_bytes = -1\n";
  auto c = LoadBrokerConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("max_message_bytes"), std::string::npos);
  std::ofstream(path) << "[broker\n";
  EXPECT_FALSE(LoadBrokerConfig(path).ok());
  std::ofstream(path) << "[broker]\njournal_dir = \"j\"\nidentity = \"k\"\n";
  EXPECT_NE(LoadBrokerConfig(path).status().message().find("participants"),
            std::string::npos);
  // A retention beyond ten years, or negative.
  for (const char* days : {"3651", "-1"}) {
    std::ofstream(path) << "[broker]\njournal_dir = \"j\"\nidentity = \"k\"\n"
                           "payload_retention_days = "
                        << days << "\n";
    c = LoadBrokerConfig(path);
    ASSERT_FALSE(c.ok()) << days;
    EXPECT_NE(c.status().message().find("payload_retention_days"),
              std::string::npos)
        << c.status().message();
  }
  // A first wait longer than the longest could never be honoured.
  std::ofstream(path) << "[broker]\njournal_dir = \"j\"\nidentity = \"k\"\n"
                         "redelivery_initial_ms = 500000\n"
                         "redelivery_max_ms = 1000\n";
  c = LoadBrokerConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "redelivery_initial_ms (500000) is above redelivery_max_ms"),
            std::string::npos)
      << c.status().message();
  // A backup folder that is a file is found at start.
  std::ofstream(path) << "[broker]\njournal_dir = \"j\"\nidentity = \"k\"\n"
                         "backup_dir = \"bad_relaisd.toml\"\n";
  c = LoadBrokerConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("is a file, not a folder"),
            std::string::npos)
      << c.status().message();
  std::filesystem::remove_all(dir);
}

// A typo or a wrong type is refused with the file, line and key, never
// silently left at its default.
TEST(ConfigTest, UnknownKeysWrongTypesAndLevelsAreRefused) {
  const std::string dir = testing::MakeTestDir();
  deploy::StackSpec spec;
  spec.dir = dir;
  auto layout = deploy::Provision(spec);
  ASSERT_TRUE(layout.ok());
  const std::string path = layout->BrokerConfig();
  const std::string good = *ReadFile(path);
  const auto refusal = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
    auto c = LoadBrokerConfig(path);
    return c.ok() ? std::string("accepted") : c.status().message();
  };
  const size_t broker = good.find("[broker]\n") + 9;
  const auto line_of = [&](const std::string& text, const std::string& what) {
    return std::to_string(
        1 + std::count(text.begin(), text.begin() + text.find(what), '\n'));
  };
  // A misspelled key in [broker].
  std::string text = good;
  text.insert(broker, "max_windows = 10\n");
  std::string why = refusal(text);
  EXPECT_NE(why.find(path + ":" + line_of(text, "max_windows") +
                     ":1: unknown key 'max_windows' in [broker]"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("max_window,"), std::string::npos) << why;
  // A wrong type.
  text = good;
  text.replace(text.find("listen = \""), 8, "listen = 7700 # ");
  why = refusal(text);
  EXPECT_NE(why.find("'listen' must be a string"), std::string::npos) << why;
  // An unknown log level (spdlog's own parser would turn it off).
  text = good;
  text.insert(broker, "log_level = \"verbose\"\n");
  why = refusal(text);
  EXPECT_NE(why.find("log level 'verbose' is not one of trace, debug, info"),
            std::string::npos)
      << why;
  // A metrics address that is not HOST:PORT with an IP address.
  text = good;
  text.replace(text.find("metrics_listen = \""), 31,
               "metrics_listen = \"localhost:9100\"\n");
  why = refusal(text);
  EXPECT_NE(why.find("[broker] metrics_listen 'localhost:9100': the host must "
                     "be an IPv4 address"),
            std::string::npos)
      << why;
  // In a participant, a route and the file itself.
  text = good;
  text.insert(text.find("[[participants]]\n") + 17, "rolls = []\n");
  why = refusal(text);
  EXPECT_NE(why.find("unknown key 'rolls' in [[participants]]"),
            std::string::npos)
      << why;
  text = good;
  text.insert(text.find("[[participants.routes]]\n") + 24, "too = []\n");
  EXPECT_NE(refusal(text).find("unknown key 'too' in [[participants.routes]]"),
            std::string::npos);
  EXPECT_NE(refusal(good + "[brokers]\n").find("unknown key 'brokers'"),
            std::string::npos);
  EXPECT_EQ(refusal(good), "accepted");
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, ParticipantFilesRefuseUnknownKeysAndWrongTypes) {
  const std::string dir = testing::MakeTestDir();
  deploy::StackSpec spec;
  spec.dir = dir;
  auto layout = deploy::Provision(spec);
  ASSERT_TRUE(layout.ok());
  const std::string path = layout->AdapterConfig("caf");
  const std::string good = *ReadFile(path);
  const auto refusal = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
    auto c = sdk::LoadParticipantConfig(path, std::chrono::milliseconds(0));
    return c.ok() ? std::string("accepted") : c.status().message();
  };
  std::string text;
  std::string why = refusal("inbx = \"inbox\"\n" + good);
  EXPECT_NE(why.find(path + ":1:1: unknown key 'inbx' in a participant's "
                            "configuration"),
            std::string::npos)
      << why;
  why = refusal("window = \"abc\"\n" + good);
  EXPECT_NE(why.find(path + ":1:10: 'window' must be an integer from 0 to "
                            "65536"),
            std::string::npos)
      << why;
  why = refusal("verify_threads = 65\n" + good);
  EXPECT_NE(why.find(path + ":1:18: 'verify_threads' must be an integer from "
                            "0 to 64"),
            std::string::npos)
      << why;
  why = refusal("batch_seal = 65537\n" + good);
  EXPECT_NE(why.find(path + ":1:14: 'batch_seal' must be an integer from "
                            "0 to 65536"),
            std::string::npos)
      << why;
  // A whole file needs relaisd's endpoint too.
  std::ofstream(dir + "/relaisd.endpoint") << "tcp://127.0.0.1:1\n";
  EXPECT_EQ(refusal("verify_threads = 3\nbatch_seal = 256\n" + good),
            "accepted");
  {
    auto c = sdk::LoadParticipantConfig(path, std::chrono::milliseconds(0));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->client.verify_threads, 3u);
    EXPECT_EQ(c->client.batch_seal_max, 256u);
  }
  text = good;
  text.replace(text.find("state_dir = \""), 12, "state_dir = 3 # ");
  why = refusal(text);
  EXPECT_NE(why.find("'state_dir' must be a string"), std::string::npos) << why;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace relais::broker
