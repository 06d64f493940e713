// The adapter's HTTP endpoint (adapters/sdk/http_front.h) through a real
// HTTP client on 127.0.0.1, port 0: every status it answers, each with its
// JSON error body. The runtime behind it is faked by a thread that settles
// each file the front writes to inbox/: "good" ones to done/ with a
// receipt, others to rejected/ with a reason.

#include "adapters/sdk/http_front.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/files.h"
#include "tests/support/fixtures.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;
using testing::FileNames;
using ::testing::HasSubstr;
using testing::MakeTestDir;
using ::testing::Not;
using testing::Slurp;
using Json = nlohmann::json;

constexpr size_t kMaxBody = 1024;

class HttpFrontTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto* dir : {&inbox_, &outbox_, &status_, &done_, &rejected_}) {
      fs::create_directories(*dir);
    }
    HttpFolders folders{inbox_.string(), outbox_.string(), status_.string(),
                        done_.string(), rejected_.string()};
    folders.max_body = kMaxBody;
    front_ = std::make_unique<HttpFront>(std::move(folders));
    ASSERT_TRUE(front_->Start("127.0.0.1:0", "").ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", front_->port());
    client_->set_read_timeout(20, 0);
    runtime_ = std::thread([this] { FakeRuntime(); });
  }
  void TearDown() override {
    stop_.store(true);
    runtime_.join();
    front_->Stop();
    fs::remove_all(root_);
  }

  // The adapter runtime's part: each plain file of inbox/ and status/ is
  // accepted ("good") or refused, as the intake would.
  void FakeRuntime() {
    while (!stop_.load()) {
      for (const fs::path& dir : {inbox_, status_}) {
        for (const auto& name : FileNames(dir)) {
          if (name.front() == '.') continue;
          const fs::path file = dir / name;
          if (Slurp(file).find("good") != std::string::npos) {
            ASSERT_TRUE(
                WriteFileAtomic(
                    (done_ / (name + ".receipt.json")).string(),
                    Json{{"file", name}, {"cases", Json::array()}}.dump())
                    .ok());
            fs::rename(file, done_ / name);
          } else {
            fs::rename(file, rejected_ / name);
            ASSERT_TRUE(
                WriteFileAtomic((rejected_ / (name + ".error")).string(),
                                "field x: not good\n")
                    .ok());
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // `res` is JSON {"error": `error`} with status `status`.
  static void ExpectError(const httplib::Result& res, int status,
                          const std::string& error) {
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, status) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(Json::parse(res->body), (Json{{"error", error}})) << res->body;
    EXPECT_FALSE(res->has_header("EXCEPTION_WHAT"));
  }

  const fs::path root_ = fs::path(MakeTestDir());
  const fs::path inbox_ = root_ / "inbox";
  const fs::path outbox_ = root_ / "outbox";
  const fs::path status_ = root_ / "status";
  const fs::path done_ = root_ / "done";
  const fs::path rejected_ = root_ / "rejected";
  std::unique_ptr<HttpFront> front_;
  std::unique_ptr<httplib::Client> client_;
  std::atomic<bool> stop_{false};
  std::thread runtime_;
};

TEST_F(HttpFrontTest, AnAcceptedDocumentIs201WithItsReceipt) {
  auto res = client_->Post("/cases", "{\"good\": 1}",
                           "application/json; charset=utf-8");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201) << res->body;
  const Json receipt = Json::parse(res->body);
  EXPECT_THAT(receipt["file"].get<std::string>(), HasSubstr("http-"));
  EXPECT_EQ(receipt["cases"], Json::array());
}

TEST_F(HttpFrontTest, ARefusedDocumentIs422WithTheFileAndItsReason) {
  auto res = client_->Post("/cases", "{\"bad\": 1}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const Json body = Json::parse(res->body);
  EXPECT_EQ(body["error"], "field x: not good");
  EXPECT_TRUE(fs::exists(rejected_ / body["file"].get<std::string>()));
  auto status = client_->Post("/status", "{\"bad\": 1}", "application/json");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 422);
  EXPECT_EQ(Json::parse(status->body)["error"], "field x: not good");
}

// A body that is not UTF-8 is refused before anything is kept, naming the
// byte, never the bytes.
TEST_F(HttpFrontTest, ABodyThatIsNotUtf8Is400NamingTheByte) {
  const std::string latin1 = "{\"good\": 1,\n \"nom\": \"LER\xD4Y\"}";
  ExpectError(client_->Post("/cases", latin1, "application/json"), 400,
              "the body is not UTF-8 at line 2, column 13 (byte offset 24)");
  ExpectError(client_->Post("/status", latin1, "application/json"), 400,
              "the body is not UTF-8 at line 2, column 13 (byte offset 24)");
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(done_).empty());
  EXPECT_TRUE(FileNames(rejected_).empty());
}

TEST_F(HttpFrontTest, AWrongContentTypeIs415) {
  ExpectError(client_->Post("/cases", "{\"good\": 1}", "text/plain"), 415,
              "Content-Type must be application/json, not text/plain");
  ExpectError(client_->Post("/status", "{\"good\": 1}",
                            "application/x-www-form-urlencoded"),
              415,
              "Content-Type must be application/json, not "
              "application/x-www-form-urlencoded");
  httplib::Request bare;
  bare.method = "POST";
  bare.path = "/cases";
  bare.body = "{\"good\": 1}";
  bare.set_header("Content-Type", "");  // else httplib says text/plain
  ExpectError(client_->send(bare), 415,
              "Content-Type must be application/json (none given)");
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(done_).empty());
}

TEST_F(HttpFrontTest, UnknownPathsAndFilesAre404) {
  ExpectError(client_->Get("/dossiers"), 404,
              "no such endpoint: GET /dossiers (the endpoints are POST "
              "/cases, GET /cases, DELETE /cases/<file> and POST /status)");
  ExpectError(client_->Delete("/cases/c-1-0011223344556677.json"), 404,
              "no case file 'c-1-0011223344556677.json'");
}

TEST_F(HttpFrontTest, AMethodAPathDoesNotTakeIs405WithAllow) {
  auto put = client_->Put("/cases", "{}", "application/json");
  ExpectError(put, 405,
              "method PUT is not allowed on /cases (allowed: GET, POST)");
  EXPECT_EQ(put->get_header_value("Allow"), "GET, POST");
  auto get = client_->Get("/status");
  ExpectError(get, 405, "method GET is not allowed on /status (allowed: POST)");
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  auto post = client_->Post("/cases/x.json", "{}", "application/json");
  ExpectError(post, 405,
              "method POST is not allowed on /cases/x.json (allowed: DELETE)");
  EXPECT_EQ(post->get_header_value("Allow"), "DELETE");
  ExpectError(client_->Delete("/cases"), 405,
              "method DELETE is not allowed on /cases (allowed: GET, POST)");
}

// A case handed over with its documents (adapters/README.md,
// "Attachments"): listed once, its documents inline; taken away whole.
TEST_F(HttpFrontTest, ACasesAttachmentsComeAndGoWithIt) {
  testing::Spit(outbox_ / "c-1-cpam.json", "{\"case\": 1}");
  testing::Spit(outbox_ / "c-1-cpam.pj1.pdf", "%PDF-1.4");
  testing::Spit(outbox_ / "c-1-cpam.pj.json",
                Json{{"case_id", "c-1"},
                     {"file", "c-1-cpam.json"},
                     {"attachments",
                      {{{"file", "c-1-cpam.pj1.pdf"},
                        {"name", "justificatif.pdf"},
                        {"media_type", "application/pdf"},
                        {"bytes", 8},
                        {"sha256", "ab"}},
                       {{"file", "../../escape.pdf"}, {"name", "x"}}}}}
                    .dump());
  auto list = client_->Get("/cases");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200) << list->body;
  const Json cases = Json::parse(list->body);
  ASSERT_EQ(cases.size(), 1u) << cases.dump();
  EXPECT_EQ(cases[0]["file"], "c-1-cpam.json");
  ASSERT_EQ(cases[0]["attachments"].size(), 1u)
      << "the unsafe entry is not read";
  EXPECT_EQ(cases[0]["attachments"][0]["name"], "justificatif.pdf");
  EXPECT_EQ(cases[0]["attachments"][0]["content_base64"], "JVBERi0xLjQ=");
  ExpectError(client_->Delete("/cases/c-1-cpam.pj1.pdf"), 404,
              "no case file 'c-1-cpam.pj1.pdf'");
  auto taken = client_->Delete("/cases/c-1-cpam.json");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->status, 204);
  EXPECT_TRUE(FileNames(outbox_).empty());
}

TEST_F(HttpFrontTest, HeadOfCasesIsAGetWithoutBody) {
  auto res = client_->Head("/cases");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "");
}

TEST_F(HttpFrontTest, ACallersPathIsRepeatedEscaped) {
  // %0A and %1B decode to a newline and an escape in the path; %FF to a
  // byte that is not UTF-8.
  ExpectError(client_->Get("/x%0Ay%1B[31m%FF"), 404,
              "no such endpoint: GET /x\\ny\\x1B[31m\\xFF (the endpoints are "
              "POST /cases, GET /cases, DELETE /cases/<file> and POST "
              "/status)");
  // A NUL byte in any path is refused before routing (a file name would
  // end at it).
  ExpectError(client_->Delete("/cases/a.json%00x"), 400,
              "a NUL byte in the path");
}

TEST_F(HttpFrontTest, ABodyOverTheLimitIs413) {
  ExpectError(client_->Post("/cases", std::string(kMaxBody + 1, 'x'),
                            "application/json"),
              413, "the body is larger than 1.0 KiB (1024 bytes)");
  EXPECT_TRUE(FileNames(inbox_).empty());
}

// An exception a handler lets escape is a JSON 500 that says nothing of it:
// no EXCEPTION_WHAT header (httplib's default, shown first), no text.
TEST(HttpErrorsTest, AnEscapedExceptionIsAJson500WithoutItsText) {
  const std::string secret = "NIR 284057512345672 of MARTIN Claire";
  for (const bool json_errors : {false, true}) {
    SCOPED_TRACE(json_errors ? "ServeErrorsAsJson" : "httplib's default");
    httplib::Server server;
    if (json_errors) ServeErrorsAsJson(server, kMaxBody);
    server.Get("/boom", [&](const httplib::Request&, httplib::Response&) {
      throw std::runtime_error(secret);
    });
    const int port = server.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    std::thread serving([&] { server.listen_after_bind(); });
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/boom");
    server.stop();
    serving.join();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    if (!json_errors) {
      EXPECT_EQ(res->get_header_value("EXCEPTION_WHAT"), secret);
      continue;
    }
    EXPECT_FALSE(res->has_header("EXCEPTION_WHAT"));
    for (const auto& [name, value] : res->headers) {
      EXPECT_THAT(value, Not(HasSubstr("MARTIN"))) << name;
    }
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(Json::parse(res->body),
              (Json{{"error",
                     "internal error: the request may not have been carried "
                     "out; see the adapter's log"}}));
    EXPECT_THAT(res->body, Not(HasSubstr("284057512345672")));
  }
}

// RouteRequest alone: the action for each request an endpoint takes.
TEST(HttpRoutesTest, EachEndpointMapsToItsAction) {
  const auto route = [](std::string_view method, std::string_view path,
                        std::string_view type = "application/json",
                        std::string_view body = "{}") {
    return RouteRequest({method, path, type, body}, ".json");
  };
  EXPECT_EQ(route("POST", "/cases").action, HttpAction::kPostCase);
  EXPECT_EQ(route("POST", "/status").action, HttpAction::kPostStatus);
  EXPECT_EQ(route("GET", "/cases").action, HttpAction::kListCases);
  const HttpRoute del = route("DELETE", "/cases/c-1.json");
  EXPECT_EQ(del.action, HttpAction::kDeleteCase);
  EXPECT_EQ(del.file, "c-1.json");
  for (const char* name : {"/cases/.hidden", "/cases/a\tb"}) {
    const HttpRoute refused = route("DELETE", name);
    EXPECT_EQ(refused.action, HttpAction::kAnswer) << name;
    EXPECT_EQ(refused.answer.status, 404) << name;
  }
  // The posted case's extension decides the Content-Type (CAF's CSV).
  EXPECT_EQ(
      RouteRequest({"POST", "/cases", "text/csv; charset=utf-8", "a;b"}, ".csv")
          .action,
      HttpAction::kPostCase);
  EXPECT_EQ(RouteRequest({"POST", "/cases", "application/json", "{}"}, ".csv")
                .answer.status,
            415);
  // A status is JSON whatever the case extension.
  EXPECT_EQ(RouteRequest({"POST", "/status", "application/json", "{}"}, ".xml")
                .action,
            HttpAction::kPostStatus);
}

TEST(HttpRoutesTest, AnErrorRepeatsNothingRaw) {
  const HttpAnswer answer =
      ErrorAnswer("GE\nT", "/status\r\nX-Injected: 1", 404, kMaxBody);
  EXPECT_EQ(answer.status, 404);
  EXPECT_EQ(answer.body["error"].get<std::string>().find('\n'),
            std::string::npos);
  EXPECT_EQ(ErrorAnswer("GET", "/cases", 413, kMaxBody).body["error"],
            "the body is larger than 1.0 KiB (1024 bytes)");
}

}  // namespace
}  // namespace relais::sdk
