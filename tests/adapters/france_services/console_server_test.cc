// relais-console serve: the program of this build, on loopback with port
// 0, spoken to over real HTTP (and HTTPS) as a browser would.

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "adapters/france_services/agent_book.h"
#include "adapters/france_services/password.h"
#include "core/files.h"
#include "deploy/lib/process.h"
#include "tests/support/stack.h"
#include "tests/support/test_dir.h"

namespace relais::console {
namespace {

using relais::testing::Slurp;
using relais::testing::Spit;
using relais::testing::WaitUntil;

constexpr char kPassword[] = "le bon mot de passe";

class ConsoleServerTest : public relais::testing::TestDirFixture {
 protected:
  void SetUp() override {
    TestDirFixture::SetUp();
    auto hash = HashPassword(kPassword, {10, 8, 1});
    ASSERT_TRUE(hash.ok());
    ASSERT_TRUE(AgentBook::Edit(Path("agents.json"), [&](AgentBook& b) {
                  return b.Add({"a.martin", "Alice Martin",
                                "france-services/paris-15", *hash, false, 1,
                                1});
                }).ok());
  }

  // Starts relais-console serve with [console] `extra` lines; returns its
  // URL once it serves, or nullopt (its log in `log_`) if it stopped.
  std::optional<std::string> Serve(const std::string& extra = "") {
    Spit(Path("console.toml"),
         "[console]\nagents = \"agents.json\"\n"
         "endpoint_file = \"console.url\"\n" +
             (extra.find("listen") == std::string::npos
                  ? std::string("listen = \"127.0.0.1:0\"\n")
                  : std::string()) +
             extra);
    auto child =
        deploy::ChildProcess::Start({deploy::BinDir() + "/relais-console",
                                     "serve", "--config", Path("console.toml")},
                                    Path("console.log"));
    EXPECT_TRUE(child.ok());
    if (!child.ok()) return std::nullopt;
    console_ = std::move(*child);
    const bool up = WaitUntil([&] {
      return std::filesystem::exists(Path("console.url")) ||
             console_.Wait(std::chrono::milliseconds(0)) >= 0;
    });
    if (!up || !std::filesystem::exists(Path("console.url"))) {
      return std::nullopt;
    }
    std::string url = Slurp(Path("console.url"));
    while (!url.empty() && url.back() == '\n') url.pop_back();
    return url;
  }
  std::string Log() { return Slurp(Path("console.log")); }

  deploy::ChildProcess console_;
};

std::string SignInBody() {
  return nlohmann::json{{"login", "a.martin"}, {"password", kPassword}}.dump();
}

TEST_F(ConsoleServerTest, SignInFollowAndSignOutOverHttp) {
  auto url = Serve();
  ASSERT_TRUE(url.has_value()) << Log();
  httplib::Client http(*url);
  auto in = http.Post("/api/session", SignInBody(), "application/json");
  ASSERT_TRUE(in) << httplib::to_string(in.error());
  ASSERT_EQ(in->status, 200) << in->body;
  EXPECT_EQ(in->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(in->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(in->get_header_value("Content-Type"),
            "application/json; charset=utf-8");
  const std::string set_cookie = in->get_header_value("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf =
      nlohmann::json::parse(in->body).value("csrf", std::string());

  auto who = http.Get("/api/session", {{"Cookie", cookie}});
  ASSERT_TRUE(who);
  EXPECT_EQ(who->status, 200) << who->body;
  EXPECT_NE(who->body.find("Alice Martin"), std::string::npos);

  auto forged = http.Delete("/api/session", {{"Cookie", cookie}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403) << forged->body;
  auto out =
      http.Delete("/api/session", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 204) << out->body;
  auto after = http.Get("/api/session", {{"Cookie", cookie}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
  EXPECT_NE(after->body.find("not_signed_in"), std::string::npos);

  auto big = http.Post("/api/session", std::string(100 << 10, ' '),
                       "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(big->body.find("too_large"), std::string::npos) << big->body;

  EXPECT_EQ(console_.Stop(), 0) << Log();
  const std::string log = Log();
  EXPECT_NE(log.find("a.martin signed in"), std::string::npos) << log;
  EXPECT_EQ(log.find(kPassword), std::string::npos) << log;
}

TEST_F(ConsoleServerTest, HttpsWhenACertificateIsConfigured) {
  auto openssl = deploy::ChildProcess::Start(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1", "-days",
       "2", "-keyout", Path("key.pem"), "-out", Path("cert.pem")},
      Path("openssl.log"));
  ASSERT_TRUE(openssl.ok());
  ASSERT_EQ(openssl->Wait(std::chrono::seconds(30)), 0)
      << Slurp(Path("openssl.log"));
  auto url =
      Serve("tls_certificate = \"cert.pem\"\ntls_private_key = \"key.pem\"\n");
  ASSERT_TRUE(url.has_value()) << Log();
  ASSERT_EQ(url->rfind("https://127.0.0.1:", 0), 0u) << *url;
  httplib::SSLClient https("127.0.0.1",
                           std::stoi(url->substr(url->rfind(':') + 1)));
  https.enable_server_certificate_verification(false);
  auto in = https.Post("/api/session", SignInBody(), "application/json");
  ASSERT_TRUE(in) << httplib::to_string(in.error());
  EXPECT_EQ(in->status, 200) << in->body;
  EXPECT_NE(in->get_header_value("Set-Cookie").find("; Secure"),
            std::string::npos);
  EXPECT_EQ(in->get_header_value("Strict-Transport-Security"),
            "max-age=31536000");
  httplib::Client plain("http://127.0.0.1:" + url->substr(url->rfind(':') + 1));
  EXPECT_FALSE(plain.Get("/api/session"))
      << "plain HTTP is not served on the HTTPS port";
}

TEST_F(ConsoleServerTest, ConfigurationMistakesStopItWithTheirReason) {
  struct Case {
    std::string extra, says;
  };
  for (const Case& c : std::vector<Case>{
           {"listen = \"0.0.0.0:0\"\n", "needs TLS"},
           {"listen = \"127.0.0.1\"\n", "HOST:PORT"},
           {"tls_certificate = \"cert.pem\"\n", "go together"},
           {"tls_certificate = \"none.pem\"\ntls_private_key = \"none.pem\"\n",
            "does not load"},
           {"sesion_idle_minutes = 5\n", "unknown key 'sesion_idle_minutes'"},
       }) {
    std::filesystem::remove(Path("console.log"));
    EXPECT_FALSE(Serve(c.extra).has_value()) << c.extra;
    EXPECT_EQ(console_.Wait(std::chrono::seconds(10)), 2) << c.extra;
    EXPECT_NE(Log().find(c.says), std::string::npos) << c.extra << Log();
  }
  std::filesystem::remove(Path("agents.json"));
  std::filesystem::remove(Path("console.log"));
  EXPECT_FALSE(Serve().has_value());
  EXPECT_EQ(console_.Wait(std::chrono::seconds(10)), 2);
  EXPECT_NE(Log().find("add an agent first"), std::string::npos) << Log();
  Spit(Path("agents.json"), "{ damaged");
  std::filesystem::remove(Path("console.log"));
  EXPECT_FALSE(Serve().has_value());
  EXPECT_EQ(console_.Wait(std::chrono::seconds(10)), 2);
  EXPECT_NE(Log().find("not a JSON object"), std::string::npos) << Log();
}

}  // namespace
}  // namespace relais::console
