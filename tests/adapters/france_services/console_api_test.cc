#include "adapters/france_services/console_api.h"

#include <gtest/gtest.h>

#include <string>

#include "adapters/france_services/api_requests.h"
#include "adapters/france_services/password.h"
#include "tests/support/test_dir.h"

namespace relais::console {
namespace {

constexpr char kPassword[] = "le bon mot de passe";

class ConsoleApiTest : public relais::testing::TestDirFixture {
 protected:
  void SetUp() override {
    TestDirFixture::SetUp();
    agents_ = Path("agents.json");
    auto hash = HashPassword(kPassword, {10, 8, 1});
    ASSERT_TRUE(hash.ok());
    hash_ = *hash;
    ASSERT_TRUE(AgentBook::Edit(agents_, [&](AgentBook& b) {
                  Status st =
                      b.Add({"a.martin", "Alice Martin",
                             "france-services/paris-15", hash_, false, 1, 1});
                  if (!st.ok()) return st;
                  return b.Add({"b.durand", "Bruno Durand",
                                "france-services/paris-15", hash_, true, 1, 1});
                }).ok());
    ApiOptions o;
    o.agents_file = agents_;
    o.guard.free_failures = 3;
    o.guard.first_pause_ms = 30 * 1000;
    api_ = std::make_unique<ConsoleApi>(o, &clock_);
  }

  ApiReply Post(const std::string& path, const std::string& body,
                const std::string& cookie = "", const std::string& csrf = "",
                const std::string& type = "application/json") {
    return api_->Handle(
        {"POST", path, "", type, cookie, csrf, body, "10.0.0.1"});
  }
  ApiReply Call(const std::string& method, const std::string& path,
                const std::string& cookie = "", const std::string& csrf = "") {
    return api_->Handle({method, path, "", "", cookie, csrf, "", "10.0.0.1"});
  }
  static std::string SignInBody(const std::string& login,
                                const std::string& password) {
    return nlohmann::json{{"login", login}, {"password", password}}.dump();
  }
  // Signs in as a.martin: the Cookie header to send back, and the CSRF
  // token.
  std::pair<std::string, std::string> SignIn() {
    ApiReply r = Post("/api/session", SignInBody("a.martin", kPassword));
    EXPECT_EQ(r.status, 200) << r.body.dump();
    const std::string cookie = r.set_cookie.substr(0, r.set_cookie.find(';'));
    return {cookie, r.body.value("csrf", "")};
  }

  FakeClock clock_{Clock::System()->NowMs()};
  std::string agents_, hash_;
  std::unique_ptr<ConsoleApi> api_;
};

TEST_F(ConsoleApiTest, SignInGivesACookieAndACsrfToken) {
  ApiReply r = Post("/api/session", SignInBody("a.martin", kPassword));
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["agent"]["login"], "a.martin");
  EXPECT_EQ(r.body["agent"]["name"], "Alice Martin");
  EXPECT_EQ(r.body["agent"]["site"], "france-services/paris-15");
  EXPECT_EQ(r.body["csrf"].get<std::string>().size(), 64u);
  EXPECT_EQ(r.set_cookie.rfind("relais_session=", 0), 0u) << r.set_cookie;
  EXPECT_NE(r.set_cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(r.set_cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(r.set_cookie.find("; Path=/"), std::string::npos);
  EXPECT_NE(r.set_cookie.find("; Max-Age=36000"), std::string::npos);
  EXPECT_EQ(r.set_cookie.find("Secure"), std::string::npos) << "no TLS here";
  EXPECT_EQ(r.body.dump().find(kPassword), std::string::npos);

  auto [cookie, csrf] = SignIn();
  ApiReply who = Call("GET", "/api/session", "theme=dark; " + cookie);
  ASSERT_EQ(who.status, 200) << who.body.dump();
  EXPECT_EQ(who.body["agent"]["login"], "a.martin");
  EXPECT_EQ(who.body["csrf"], csrf);
}

TEST_F(ConsoleApiTest, WrongPasswordsAndUnknownLoginsGetOneAnswer) {
  ApiReply wrong = Post("/api/session", SignInBody("a.martin", "mauvais"));
  ApiReply unknown = Post("/api/session", SignInBody("nobody", kPassword));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_EQ(wrong.body["code"], "sign_in_refused");
  EXPECT_EQ(wrong.body["message"], "Identifiant ou mot de passe incorrect.");
  EXPECT_TRUE(wrong.set_cookie.empty());
}

TEST_F(ConsoleApiTest, ADisabledAgentIsToldOnlyWithTheRightPassword) {
  ApiReply right = Post("/api/session", SignInBody("b.durand", kPassword));
  EXPECT_EQ(right.status, 403);
  EXPECT_EQ(right.body["code"], "agent_disabled");
  ApiReply wrong = Post("/api/session", SignInBody("b.durand", "mauvais"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body["code"], "sign_in_refused");
}

TEST_F(ConsoleApiTest, RepeatedFailuresPauseTheLogin) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Post("/api/session", SignInBody("a.martin", "mauvais")).status,
              401);
  }
  ApiReply paused = Post("/api/session", SignInBody("a.martin", kPassword));
  EXPECT_EQ(paused.status, 429);
  EXPECT_EQ(paused.body["code"], "sign_in_paused");
  EXPECT_EQ(paused.retry_after_s, 30);
  EXPECT_EQ(paused.body["message"],
            "Trop d'essais de connexion. Réessayez dans 30 secondes.");
  clock_.Advance(29 * 1000);
  EXPECT_EQ(
      Post("/api/session", SignInBody("a.martin", kPassword)).body["message"],
      "Trop d'essais de connexion. Réessayez dans 1 seconde.");
  clock_.Advance(1000);
  EXPECT_EQ(Post("/api/session", SignInBody("a.martin", kPassword)).status,
            200);
}

TEST_F(ConsoleApiTest, NothingWithoutASession) {
  for (const char* method : {"GET", "DELETE"}) {
    ApiReply r = Call(method, "/api/session");
    EXPECT_EQ(r.status, 401) << method;
    EXPECT_EQ(r.body["code"], "not_signed_in");
  }
  EXPECT_EQ(Call("GET", "/api/cases").status, 401);
  EXPECT_EQ(
      Call("GET", "/api/session", "relais_session=" + std::string(64, 'a'))
          .status,
      401);
  EXPECT_EQ(Call("GET", "/api/session", "relais_session=../../etc").status,
            401);
  auto [cookie, csrf] = SignIn();
  EXPECT_EQ(Call("GET", "/api/cases", cookie).status, 404);
  EXPECT_EQ(Call("GET", "/index.html", cookie).status, 404);
}

TEST_F(ConsoleApiTest, AChangeNeedsItsSessionsCsrfToken) {
  auto [cookie, csrf] = SignIn();
  auto [other_cookie, other_csrf] = SignIn();
  for (const std::string& token : {std::string(), other_csrf, cookie}) {
    ApiReply r = Call("DELETE", "/api/session", cookie, token);
    EXPECT_EQ(r.status, 403) << token;
    EXPECT_EQ(r.body["code"], "csrf_refused");
  }
  EXPECT_EQ(Call("GET", "/api/session", cookie).status, 200) << "still in";
  ApiReply out = Call("DELETE", "/api/session", cookie, csrf);
  EXPECT_EQ(out.status, 204);
  EXPECT_TRUE(out.body.is_null());
  EXPECT_NE(out.set_cookie.find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Call("GET", "/api/session", cookie).status, 401);
  EXPECT_EQ(Call("GET", "/api/session", other_cookie).status, 200);
}

TEST_F(ConsoleApiTest, DisablingAnAgentEndsItsSessions) {
  auto [cookie, csrf] = SignIn();
  clock_.Advance(1000);
  ASSERT_TRUE(AgentBook::Edit(agents_, [&](AgentBook& b) {
                return b.SetDisabled("a.martin", true, clock_.NowMs());
              }).ok());
  EXPECT_EQ(Call("GET", "/api/session", cookie).status, 401);
  ASSERT_TRUE(AgentBook::Edit(agents_, [&](AgentBook& b) {
                return b.SetDisabled("a.martin", false, clock_.NowMs());
              }).ok());
  EXPECT_EQ(Call("GET", "/api/session", cookie).status, 401)
      << "enabled again, but the old session stays ended";
}

TEST_F(ConsoleApiTest, OnlyTheAgentsOfTheConsolesSiteSignIn) {
  ApiOptions o;
  o.agents_file = agents_;
  o.site = "france-services/lyon-3";
  ConsoleApi lyon(o, &clock_);
  ApiReply r = lyon.Handle({"POST", "/api/session", "", "application/json", "",
                            "", SignInBody("a.martin", kPassword), "10.0.0.1"});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["code"], "agent_other_site");
  EXPECT_TRUE(r.set_cookie.empty());
  o.site = "france-services/paris-15";
  ConsoleApi paris(o, &clock_);
  EXPECT_EQ(paris
                .Handle({"POST", "/api/session", "", "application/json", "", "",
                         SignInBody("a.martin", kPassword), "10.0.0.1"})
                .status,
            200);
}

TEST_F(ConsoleApiTest, ABadSignInRequestIsNamed) {
  EXPECT_EQ(Post("/api/session", "{}", "", "", "text/plain").status, 415);
  ApiReply r = Post("/api/session", "not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["code"], "bad_request");
  r = Post("/api/session", R"({"login": "a.martin", "pass": "x"})");
  EXPECT_EQ(r.status, 400);
  r = Post("/api/session", R"({"login": "a.martin", "password": 12})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["message"], "Le champ « password » doit être un texte.");
  r = Post("/api/session", R"({"login": "", "password": "x"})");
  EXPECT_EQ(r.body["message"], "Indiquez votre identifiant.");
  EXPECT_EQ(Call("PUT", "/api/session").status, 405);
  EXPECT_EQ(Call("PUT", "/api/session").allow, "GET, POST, DELETE");
}

TEST_F(ConsoleApiTest, ADamagedAgentsFileLetsNobodyIn) {
  auto [cookie, csrf] = SignIn();
  relais::testing::Spit(agents_, "{ damaged");
  ApiReply r = Post("/api/session", SignInBody("a.martin", kPassword));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["code"], "agents_unavailable");
  EXPECT_EQ(Call("GET", "/api/session", cookie).status, 503);
}

TEST(ApiRequestsTest, TheSessionCookieIsReadStrictly) {
  const std::string token(64, 'b');
  EXPECT_EQ(SessionTokenOf("relais_session=" + token), token);
  EXPECT_EQ(SessionTokenOf("a=1; relais_session=" + token + "; b=2"), token);
  EXPECT_EQ(SessionTokenOf(" relais_session = " + token + " "), token);
  EXPECT_EQ(SessionTokenOf("relais_session=" + token.substr(1)), "");
  EXPECT_EQ(SessionTokenOf("relais_session=" + std::string(64, 'B')), "");
  EXPECT_EQ(SessionTokenOf("xrelais_session=" + token), "");
  EXPECT_EQ(SessionTokenOf(""), "");
  EXPECT_EQ(SessionTokenOf(";;;="), "");
}

}  // namespace
}  // namespace relais::console
