// The HTTP endpoint's answers without a server (adapters/sdk/http_routes.h).
#include "adapters/sdk/http_routes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/fixtures.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;
using testing::MakeTestDir;
using testing::Slurp;
using testing::Spit;

class HttpRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folders_.inbox = root_ + "/inbox";
    folders_.outbox = root_ + "/outbox";
    folders_.status = root_ + "/status";
    folders_.done = root_ + "/done";
    folders_.rejected = root_ + "/rejected";
    folders_.wait_ms = 0;
    for (const auto* dir : {&folders_.inbox, &folders_.outbox, &folders_.status,
                            &folders_.done, &folders_.rejected}) {
      fs::create_directories(*dir);
    }
  }
  void TearDown() override { fs::remove_all(root_); }

  const std::string root_ = MakeTestDir();
  HttpFolders folders_;
};

TEST_F(HttpRoutesTest, ADeleteTakesOnlyTheFileItNames) {
  Spit(folders_.outbox + "/a.json", "{}");
  // "%00" decoded: the system would see "a.json" (found by cpam_http_fuzz).
  const std::string nul("/cases/a.json\0x", 15);
  EXPECT_EQ(HandleHttpRequest(folders_, "DELETE", nul, "").status, 404);
  EXPECT_EQ(HandleHttpRequest(folders_, "DELETE", "/cases/.a", "").status, 404);
  EXPECT_TRUE(fs::exists(folders_.outbox + "/a.json"));
  EXPECT_EQ(HandleHttpRequest(folders_, "DELETE", "/cases/a.json", "").status,
            204);
  EXPECT_FALSE(fs::exists(folders_.outbox + "/a.json"));
}

TEST_F(HttpRoutesTest, ARefusalThatIsNotUtf8IsStillAnsweredAsJson) {
  Spit(folders_.rejected + "/f.json.error", "field nom: 'LER\xD4Y'\n");
  auto answer = PostedVerdict(folders_, "/cases", "f.json");
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 422);
  const auto body = nlohmann::json::parse(answer->body);
  EXPECT_EQ(body["file"], "f.json");
  EXPECT_EQ(body["error"].get<std::string>().rfind("field nom: 'LER", 0), 0u);
}

TEST_F(HttpRoutesTest, APostWithoutAVerdictYetIsPending) {
  auto answer = HandleHttpRequest(folders_, "POST", "/status", "{}");
  EXPECT_EQ(answer.status, 202);
  const auto body = nlohmann::json::parse(answer.body);
  EXPECT_EQ(body["status"], "pending");
  EXPECT_EQ(Slurp(folders_.status + "/" + body["file"].get<std::string>()),
            "{}");
  EXPECT_FALSE(PostedVerdict(folders_, "/status", body["file"]).has_value());
  EXPECT_EQ(HandleHttpRequest(folders_, "PUT", "/cases", "").status, 404);
}

}  // namespace
}  // namespace relais::sdk
