// relais-console serve: the program of this build, on loopback with port
// 0, spoken to over real HTTP (and HTTPS) as a browser would, as the
// participant of its site on a real relaisd.

#include <gtest/gtest.h>
#include <httplib.h>

#include <csignal>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/france_services/agent_book.h"
#include "adapters/france_services/password.h"
#include "adapters/sdk/client_config.h"
#include "core/files.h"
#include "core/subject.h"
#include "deploy/lib/process.h"
#include "schemas/case_state_generated.h"
#include "tests/support/fixtures.h"
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
    deploy::StackSpec spec;
    spec.dir = Path("stack");
    stack_ = std::make_unique<relais::testing::TestStack>(spec);
    ASSERT_TRUE(stack_->StartBroker().ok()) << stack_->BrokerLog();
    auto hash = HashPassword(kPassword, {10, 8, 1});
    ASSERT_TRUE(hash.ok());
    ASSERT_TRUE(AgentBook::Edit(Path("agents.json"), [&](AgentBook& b) {
                  return b.Add({"a.martin", "Alice Martin",
                                "france-services/paris-15", *hash, false, 1,
                                1});
                }).ok());
  }

  // A web folder as the build makes it (pages/, static/, the design
  // system's stylesheet), with a mark in each file to find it by.
  void MakeWebDir(const std::string& dir) {
    std::filesystem::create_directories(dir + "/pages");
    std::filesystem::create_directories(dir + "/static");
    std::filesystem::create_directories(dir +
                                        "/node_modules/@gouvfr/dsfr/dist");
    for (const char* part : {"head", "header", "footer"}) {
      Spit(dir + "/pages/_" + part + ".html",
           std::string("<p>part ") + part + "</p>");
    }
    for (const char* page :
         {"connexion", "dossiers", "nouveau", "dossier", "recepisse"}) {
      Spit(dir + "/pages/" + page + ".html",
           std::string("<!--head--><!--header--><h1>page ") + page +
               "</h1><!--footer-->");
    }
    Spit(dir + "/static/console.js", "// console.js\n");
    Spit(dir + "/node_modules/@gouvfr/dsfr/dist/dsfr.min.css", "/* dsfr */\n");
  }

  // Starts relais-console serve with [console] `extra` lines (web_dir: a
  // folder MakeWebDir made, unless `extra` names one); returns its URL
  // once it serves, or nullopt (its log in `log_`) if it stopped.
  std::optional<std::string> Serve(const std::string& extra = "") {
    MakeWebDir(Path("web"));
    Spit(Path("console.toml"),
         "[console]\nagents = \"agents.json\"\n"
         "endpoint_file = \"console.url\"\n" +
             (extra.find("web_dir") == std::string::npos
                  ? std::string("web_dir = \"web\"\n")
                  : std::string()) +
             (extra.find("participant") == std::string::npos
                  ? "participant = \"" +
                        stack_->layout().ClientConfig(deploy::kDefaultDesk) +
                        "\"\n"
                  : std::string()) +
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

  std::unique_ptr<relais::testing::TestStack> stack_;
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

// Its /metrics: the agents signed in, and its connection to relaisd.
TEST_F(ConsoleServerTest, MetricsCountTheAgentsSignedIn) {
  auto url = Serve(
      "listen = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\n"
      "metrics_endpoint_file = \"metrics.url\"\n");
  ASSERT_TRUE(url.has_value()) << Log();
  std::string metrics_url;
  ASSERT_TRUE(WaitUntil([&] {
    metrics_url = Slurp(Path("metrics.url"));
    return !metrics_url.empty();
  })) << Log();
  // "http://127.0.0.1:PORT/metrics\n"
  httplib::Client scrape(metrics_url.substr(0, metrics_url.rfind('/')));
  const auto value = [&](const std::string& series) {
    auto res = scrape.Get("/metrics");
    if (!res || res->status != 200) return -1.0;
    const size_t at = res->body.find("\n" + series + " ");
    return at == std::string::npos
               ? -1.0
               : std::stod(res->body.substr(at + series.size() + 2));
  };
  EXPECT_TRUE(WaitUntil([&] {
    return value("relais_client_connected{participant=\"" +
                 std::string(deploy::kDefaultDesk) + "\"}") == 1;
  }));
  EXPECT_EQ(value("relais_console_agent_sessions"), 0);
  httplib::Client http(*url);
  auto in = http.Post("/api/session", SignInBody(), "application/json");
  ASSERT_TRUE(in);
  ASSERT_EQ(in->status, 200) << in->body;
  EXPECT_EQ(value("relais_console_agent_sessions"), 1);
  EXPECT_EQ(value("relais_console_live_streams"), 0);
  EXPECT_GT(value("relais_process_resident_memory_bytes"), 0);
  EXPECT_EQ(console_.Stop(), 0) << Log();
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
  Spit(Path("world-readable.pem"), "not a key");
  std::filesystem::permissions(Path("world-readable.pem"),
                               std::filesystem::perms::owner_read |
                                   std::filesystem::perms::owner_write |
                                   std::filesystem::perms::group_read |
                                   std::filesystem::perms::others_read);
  for (const Case& c : std::vector<Case>{
           {"listen = \"0.0.0.0:0\"\n", "needs TLS"},
           {"listen = \"127.0.0.1\"\n", "HOST:PORT"},
           {"tls_certificate = \"cert.pem\"\n", "go together"},
           {"tls_certificate = \"none.pem\"\ntls_private_key = \"none.pem\"\n",
            "tls_private_key: no such file"},
           // A key every user of the machine can read is no secret.
           {"tls_certificate = \"none.pem\"\ntls_private_key = "
            "\"world-readable.pem\"\n",
            "world-readable.pem holds a secret key and every user of this "
            "machine may read or change it (mode 0644): make it the owner's "
            "only (chmod 600)"},
           {"sesion_idle_minutes = 5\n", "unknown key 'sesion_idle_minutes'"},
           // An agency's file would take over its session and refuse its
           // deliveries.
           {"participant = \"" + stack_->layout().ClientConfig("caf") + "\"\n",
            "is the participant file of the agency 'caf'"},
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

// A signed-in browser: its cookie and CSRF token on every request.
struct Browser {
  httplib::Client http;
  httplib::Headers headers;

  explicit Browser(const std::string& url) : http(url) {
    http.set_read_timeout(30, 0);
  }
  bool SignIn() {
    auto in = http.Post("/api/session", SignInBody(), "application/json");
    if (!in || in->status != 200) return false;
    const std::string set_cookie = in->get_header_value("Set-Cookie");
    headers = {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))},
               {"X-CSRF-Token", nlohmann::json::parse(in->body)["csrf"]}};
    return true;
  }
  std::pair<int, nlohmann::json> Post(const std::string& path,
                                      const nlohmann::json& body) {
    auto r = http.Post(path.c_str(), headers, body.dump(), "application/json");
    if (!r) return {0, {}};
    return {r->status, nlohmann::json::parse(r->body, nullptr, false)};
  }
  std::pair<int, nlohmann::json> Get(const std::string& path) {
    auto r = http.Get(path.c_str(), headers);
    if (!r) return {0, {}};
    return {r->status, nlohmann::json::parse(r->body, nullptr, false)};
  }
};

nlohmann::json SampleEvent() {
  return nlohmann::json::parse(Slurp(relais::testing::SourcePath(
      "deploy/samples/france_services/address_change.json")))["event"];
}

nlohmann::json Opening(const std::string& request_id,
                       const nlohmann::json& event) {
  nlohmann::json r = {
      {"event", event},
      {"mandate", {{"kind", "Written"}, {"date", "2026-01-05"}}}};
  if (!request_id.empty()) r["request_id"] = request_id;
  return r;
}

// relaisd paused while a case is sent: the agent hears 503 and sends the
// same opening again; the case is then opened, once, and the log says
// who opened it (the first send could not).
TEST_F(ConsoleServerTest, AnOpeningSentAgainAfterAnOutageIsLoggedOnce) {
  auto url = Serve();
  ASSERT_TRUE(url.has_value()) << Log();
  Browser browser(*url);
  ASSERT_TRUE(browser.SignIn()) << Log();
  nlohmann::json opening = Opening("request-outage-0001", SampleEvent());
  opening["recipients"] = {"caf"};
  ASSERT_EQ(::kill(stack_->broker_pid(), SIGSTOP), 0);
  auto [cut_status, cut] = browser.Post("/api/cases", opening);
  ASSERT_EQ(::kill(stack_->broker_pid(), SIGCONT), 0);
  ASSERT_EQ(cut_status, 503) << cut.dump();
  EXPECT_EQ(cut["code"], "relais_unavailable");
  EXPECT_EQ(Log().find("opened case"), std::string::npos) << Log();

  nlohmann::json again;
  ASSERT_TRUE(WaitUntil([&] {
    auto [status, body] = browser.Post("/api/cases", opening);
    again = body;
    return status == 200;
  })) << again.dump();
  EXPECT_EQ(again["again"], true);
  const std::string case_id = again["case"]["case_id"];
  ASSERT_TRUE(WaitUntil([&] {
    return Log().find("opened case " + case_id) != std::string::npos;
  })) << Log();
  const std::string log = Log();
  const size_t at = log.find("console: a.martin opened case " + case_id);
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_NE(log.find("sent again after an interruption", at), std::string::npos)
      << log;
  // A third send changes nothing, and says nothing more.
  auto [third_status, third] = browser.Post("/api/cases", opening);
  EXPECT_EQ(third_status, 200) << third.dump();
  const std::string after = Log();
  const size_t first = after.find("opened case " + case_id);
  EXPECT_EQ(after.find("opened case " + case_id, first + 1), std::string::npos)
      << after;
}

// The whole path of an agent: check a case as it is typed, see who will
// receive it (by subscription) and what, open it (twice: one case),
// follow the agency's answer from its status report, find it by name.
TEST_F(ConsoleServerTest, AnAgentOpensACaseOnceAndFollowsTheAgencysAnswer) {
  std::mutex mu;
  std::vector<std::string> delivered;  // message ids caf received
  auto caf = stack_->Connect("caf", [&](const sdk::Delivery& d) {
    std::lock_guard<std::mutex> lock(mu);
    delivered.emplace_back(d.envelope->message_id);
    return sdk::HandlerResult::Processed();
  });
  ASSERT_TRUE(caf.ok());
  ASSERT_TRUE((*caf)->WaitConnected(std::chrono::seconds(20)).ok());
  // caf holds a file on the sample's citizen: routing by subscription
  // names it.
  auto caf_config = sdk::LoadParticipantConfig(
      stack_->layout().ClientConfig("caf"), std::chrono::seconds(5));
  ASSERT_TRUE(caf_config.ok());
  const nlohmann::json event = SampleEvent();
  auto subject = SubjectRef(caf_config->subject_key,
                            event["body"]["citizen"]["nir"].get<std::string>());
  ASSERT_TRUE(subject.ok());
  ASSERT_TRUE((*caf)->RegisterSubjects({*subject}).ok());

  auto url = Serve();
  ASSERT_TRUE(url.has_value()) << Log();
  Browser browser(*url);
  ASSERT_TRUE(browser.SignIn()) << Log();

  // A check with a wrong NIR key: the field, the rule, in French.
  nlohmann::json wrong = event;
  wrong["body"]["citizen"]["nir"] = "284057512345699";
  auto [bad_status, bad] = browser.Post("/api/cases/check", Opening("", wrong));
  ASSERT_EQ(bad_status, 200) << bad.dump();
  ASSERT_EQ(bad["problems"].size(), 1u) << bad.dump();
  EXPECT_EQ(bad["problems"][0]["field"], "/body/citizen/nir");
  EXPECT_EQ(bad["problems"][0]["rule"], "nir");
  EXPECT_NE(bad["problems"][0]["message"].get<std::string>().find("clé"),
            std::string::npos);

  // The right one: caf, by subscription, and its view.
  auto [check_status, check] =
      browser.Post("/api/cases/check", Opening("", event));
  ASSERT_EQ(check_status, 200) << check.dump();
  EXPECT_TRUE(check["problems"].empty()) << check.dump();
  EXPECT_EQ(check["by_subscription"], true);
  ASSERT_EQ(check["recipients"].size(), 1u) << check.dump();
  EXPECT_EQ(check["recipients"][0]["id"], "caf");
  ASSERT_EQ(check["views"].size(), 1u);
  EXPECT_EQ(check["views"][0]["event"]["body"]["references"].size(), 1u)
      << "caf sees its own reference only";

  // Without the CSRF token nothing is opened.
  auto forged = browser.http.Post(
      "/api/cases", {{"Cookie", browser.headers.find("Cookie")->second}},
      Opening("request-0123456789", event).dump(), "application/json");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);

  // Opened once, however often it is sent.
  auto [open_status, opened] =
      browser.Post("/api/cases", Opening("request-0123456789", event));
  ASSERT_EQ(open_status, 201) << opened.dump() << Log();
  const std::string case_id = opened["case"]["case_id"];
  EXPECT_EQ(opened["case"]["agent"]["login"], "a.martin");
  auto [again_status, again] =
      browser.Post("/api/cases", Opening("request-0123456789", event));
  ASSERT_EQ(again_status, 200) << again.dump();
  EXPECT_EQ(again["again"], true);
  EXPECT_EQ(again["case"]["case_id"], case_id);
  nlohmann::json other = event;
  other["body"]["effective_date"] = "2026-12-02";
  auto [reused_status, reused] =
      browser.Post("/api/cases", Opening("request-0123456789", other));
  EXPECT_EQ(reused_status, 409) << reused.dump();
  EXPECT_EQ(reused["code"], "request_reused");

  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !delivered.empty();
  }));
  std::string message_id;
  {
    std::lock_guard<std::mutex> lock(mu);
    message_id = delivered[0];
  }
  // The case page asks relaisd: caf acknowledged it (the handler returned
  // before the acknowledgement left, so it is waited for).
  ASSERT_TRUE(WaitUntil([&] {
    auto [status, shown] = browser.Get("/api/cases/" + case_id);
    return status == 200 &&
           shown["case"]["recipients"][0]["state"] == "Delivered";
  })) << Log();
  // caf's partner system is done: the broker's report reaches the
  // console's session, and the list (which asks the broker nothing) shows
  // it.
  auto done = (*caf)->ReportStatus(message_id, wire::RecipientState::Done);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  ASSERT_TRUE(WaitUntil([&] {
    auto [status, list] = browser.Get("/api/cases?state=done");
    return status == 200 && list["cases"].size() == 1 &&
           list["cases"][0]["case_id"] == case_id;
  })) << Log();
  auto [show_status, shown] = browser.Get("/api/cases/" + case_id);
  ASSERT_EQ(show_status, 200) << shown.dump();
  EXPECT_EQ(shown["case"]["recipients"][0]["state"], "Done");
  EXPECT_EQ(shown["case"]["progress"], "done");
  EXPECT_FALSE(shown["case"]["history"].empty());
  EXPECT_EQ(shown["case"]["mandate"]["kind"], "Written");

  // relaisd's own trail names the agent and the mandate (the payload's
  // assistance), for every party to see.
  auto state = (*caf)->QueryCase(case_id);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  const auto* cs = flatbuffers::GetRoot<wire::CaseState>(state->data());
  ASSERT_TRUE(cs->trail() != nullptr && cs->trail()->size() > 0);
  const wire::TrailEntry* first = cs->trail()->Get(0);
  EXPECT_EQ(first->event(), wire::TraceEvent::Accepted);
  EXPECT_EQ(first->detail()->str(),
            "opened at a France services counter by agent a.martin (written "
            "mandate of 2026-01-05)");

  // Another participant's case, to which the site is no party: the
  // console shows nothing of it.
  EnvelopeDraft theirs = relais::testing::SampleDraft("caf", {"cpam"});
  auto sealed = (*caf)->Seal(theirs);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  auto accepted = (*caf)->Submit(*sealed, std::chrono::seconds(10));
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  auto [theirs_status, theirs_shown] =
      browser.Get("/api/cases/" + theirs.case_id);
  EXPECT_EQ(theirs_status, 404) << theirs_shown.dump();
  EXPECT_EQ(theirs_shown["code"], "case_not_found");

  auto [found_status, found] = browser.Get("/api/cases?q=claire+mart");
  ASSERT_EQ(found_status, 200) << found.dump();
  ASSERT_EQ(found["cases"].size(), 1u);
  EXPECT_EQ(found["cases"][0]["citizen"], "MARTIN Claire");
  auto [none_status, none] = browser.Get("/api/cases?state=waiting");
  EXPECT_EQ(none_status, 200);
  EXPECT_TRUE(none["cases"].empty());
  EXPECT_EQ(browser.Get("/api/cases?state=closed").first, 400);
  EXPECT_EQ(browser.Get("/api/cases/no-such-case").first, 404);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(delivered.size(), 1u) << "one case, one delivery";
  }

  EXPECT_EQ(console_.Stop(), 0) << Log();
  const std::string log = Log();
  EXPECT_NE(log.find("a.martin opened case " + case_id), std::string::npos)
      << log;
  for (const char* personal : {"284057512345672", "MARTIN", "Claire"}) {
    EXPECT_EQ(log.find(personal), std::string::npos) << personal;
  }
}

}  // namespace
}  // namespace relais::console

namespace relais::console {
namespace {

// The pages: the sign-in for anyone, the others for a session only, each
// with its shared parts put in; the design system's files beside them.
TEST_F(ConsoleServerTest, PagesNeedASessionAndCarryTheirParts) {
  auto url = Serve();
  ASSERT_TRUE(url.has_value()) << Log();
  httplib::Client http(*url);
  auto out = http.Get("/");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 303);
  EXPECT_EQ(out->get_header_value("Location"), "/connexion");
  EXPECT_EQ(http.Get("/dossiers/c-1/recepisse")->status, 303);

  auto sign_in = http.Get("/connexion");
  ASSERT_TRUE(sign_in);
  ASSERT_EQ(sign_in->status, 200);
  EXPECT_EQ(sign_in->get_header_value("Content-Type"),
            "text/html; charset=utf-8");
  EXPECT_EQ(sign_in->body,
            "<p>part head</p><p>part header</p><h1>page connexion</h1>"
            "<p>part footer</p>");
  const std::string csp = sign_in->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(sign_in->get_header_value("X-Frame-Options"), "DENY");

  auto css = http.Get("/dsfr/dsfr.min.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->status, 200);
  EXPECT_EQ(css->body, "/* dsfr */\n");
  EXPECT_EQ(http.Get("/static/console.js")->body, "// console.js\n");
  EXPECT_EQ(http.Get("/static/../pages/_head.html")->status, 404);
  // A NUL does not cut the file's name short (console.js typed as PNG).
  EXPECT_EQ(http.Get("/static/console.js%00.png")->status, 400);
  auto nothing = http.Get("/nothing");
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->status, 404);
  EXPECT_EQ(nlohmann::json::parse(nothing->body)["code"], "not_found");

  Browser browser(*url);
  ASSERT_TRUE(browser.SignIn()) << Log();
  const struct {
    const char* path;
    const char* page;
  } kPages[] = {{"/", "dossiers"},
                {"/nouveau", "nouveau"},
                {"/dossiers/c-20261129-0123", "dossier"},
                {"/dossiers/c-20261129-0123/recepisse", "recepisse"}};
  for (const auto& p : kPages) {
    auto page = browser.http.Get(p.path, browser.headers);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200) << p.path;
    EXPECT_NE(page->body.find(std::string("<h1>page ") + p.page),
              std::string::npos)
        << p.path << ": " << page->body;
  }
  EXPECT_EQ(browser.http.Get("/dossiers/a/b", browser.headers)->status, 404);
  EXPECT_EQ(console_.Stop(), 0) << Log();
}

TEST_F(ConsoleServerTest, WithoutItsPagesItDoesNotStart) {
  std::filesystem::create_directories(Path("empty"));
  EXPECT_FALSE(Serve("web_dir = \"empty\"\n").has_value());
  EXPECT_EQ(console_.Wait(std::chrono::seconds(10)), 2);
  EXPECT_NE(Log().find("pages are not complete"), std::string::npos) << Log();
}

// GET /api/events: for a session only; "cases" each time a case of the
// site changes (here: one is opened).
TEST_F(ConsoleServerTest, LiveUpdatesSayWhenTheSitesCasesChange) {
  auto url = Serve();
  ASSERT_TRUE(url.has_value()) << Log();
  httplib::Client anonymous(*url);
  auto refused = anonymous.Get("/api/events");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);

  Browser browser(*url);
  ASSERT_TRUE(browser.SignIn()) << Log();
  std::mutex mu;
  std::string stream;  // guarded by mu
  std::string content_type;
  std::thread reader([&] {
    httplib::Client http(*url);
    http.set_read_timeout(60, 0);
    httplib::Headers headers = {
        {"Cookie", browser.headers.find("Cookie")->second}};
    auto r = http.Get(
        "/api/events", headers,
        [&](const httplib::Response& res) {
          content_type = res.get_header_value("Content-Type");
          return true;
        },
        [&](const char* data, size_t size) {
          std::lock_guard<std::mutex> lock(mu);
          stream.append(data, size);
          return stream.find("event: cases") == std::string::npos;
        });
    (void)r;
  });
  auto seen = [&](const char* what) {
    return WaitUntil([&] {
      std::lock_guard<std::mutex> lock(mu);
      return stream.find(what) != std::string::npos;
    });
  };
  EXPECT_TRUE(seen("retry: 3000\n\n"));
  nlohmann::json opening = Opening("request-live-0123456789", SampleEvent());
  opening["recipients"] = {"caf"};
  auto [status, opened] = browser.Post("/api/cases", opening);
  EXPECT_EQ(status, 201) << opened.dump() << Log();
  EXPECT_TRUE(seen("event: cases\ndata: {\"changes\": "));
  reader.join();
  EXPECT_EQ(content_type, "text/event-stream");
  EXPECT_EQ(console_.Stop(), 0) << Log();
}

}  // namespace
}  // namespace relais::console
