#include "broker/transport/zap.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relais::broker::transport {
namespace {

// A 32-byte CURVE public key, made of `c`.
std::string Key(char c) { return std::string(32, c); }

// Knows one key, the caf's; records every call.
class ZapTest : public ::testing::Test {
 protected:
  Authenticate Auth() {
    return [this](std::string_view key,
                  std::string_view address) -> std::optional<std::string> {
      calls_.emplace_back(std::string(key), std::string(address));
      if (key == Key('c')) return std::string("caf");
      return std::nullopt;
    };
  }
  // A ZAP request (RFC 27): version, request id, domain, address,
  // identity, mechanism, then the credentials.
  static std::vector<std::string_view> Request(
      std::string_view mechanism, std::vector<std::string_view> credentials) {
    std::vector<std::string_view> frames = {"1.0",      "req-7", "relais",
                                            "10.0.0.9", "",      mechanism};
    for (auto c : credentials) frames.push_back(c);
    return frames;
  }

  std::vector<std::pair<std::string, std::string>> calls_;
};

// A registered CURVE key is admitted: 200, and the participant as User-Id;
// the callback saw the key and the peer's address.
TEST_F(ZapTest, AKnownCurveKeyIsAdmittedWithItsParticipant) {
  const std::string key = Key('c');
  const ZapReply r = JudgeZapRequest(Request("CURVE", {key}), Auth());
  EXPECT_EQ(r.request_id, "req-7");
  EXPECT_EQ(r.status_code, "200");
  EXPECT_EQ(r.user_id, "caf");
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].first, key);
  EXPECT_EQ(calls_[0].second, "10.0.0.9");
}

// An unknown CURVE key is refused (400) with no User-Id.
TEST_F(ZapTest, AnUnknownCurveKeyIsRefused) {
  const std::string key = Key('x');
  const ZapReply r = JudgeZapRequest(Request("CURVE", {key}), Auth());
  EXPECT_EQ(r.request_id, "req-7");
  EXPECT_EQ(r.status_code, "400");
  EXPECT_TRUE(r.user_id.empty());
  EXPECT_EQ(calls_.size(), 1u);
}

// A key of another size than 32 bytes, or no key at all, is refused
// without asking the callback (which would admit the caf's key's prefix
// or extension if it only compared what it was given).
TEST_F(ZapTest, ACurveKeyOfTheWrongSizeIsRefusedUnasked) {
  const std::string short_key = Key('c').substr(0, 31);
  const std::string long_key = Key('c') + "c";
  for (const auto& frames :
       {Request("CURVE", {short_key}), Request("CURVE", {long_key}),
        Request("CURVE", {""}), Request("CURVE", {})}) {
    const ZapReply r = JudgeZapRequest(frames, Auth());
    EXPECT_EQ(r.status_code, "400");
    EXPECT_EQ(r.request_id, "req-7");
    EXPECT_TRUE(r.user_id.empty());
  }
  EXPECT_TRUE(calls_.empty());
}

// Other mechanisms are refused, even with credentials that look like a
// registered key, and the callback is not asked.
TEST_F(ZapTest, PlainAndNullMechanismsAreRefused) {
  const std::string key = Key('c');
  for (const auto& frames :
       {Request("PLAIN", {"caf", "secret"}), Request("PLAIN", {key}),
        Request("NULL", {}), Request("NULL", {key}), Request("curve", {key}),
        Request("", {key})}) {
    const ZapReply r = JudgeZapRequest(frames, Auth());
    EXPECT_EQ(r.status_code, "400") << frames[5];
    EXPECT_TRUE(r.user_id.empty());
  }
  EXPECT_TRUE(calls_.empty());
}

// Fewer than six frames is a malformed request: 500, the request id kept
// when there is one, the callback not asked.
TEST_F(ZapTest, AShortRequestIsMalformed) {
  const std::string key = Key('c');
  std::vector<std::string_view> frames = {"1.0", "req-9", "relais", "10.0.0.9",
                                          key};
  ZapReply r = JudgeZapRequest(frames, Auth());
  EXPECT_EQ(r.status_code, "500");
  EXPECT_EQ(r.request_id, "req-9");
  EXPECT_TRUE(r.user_id.empty());

  r = JudgeZapRequest({"1.0", "req-10"}, Auth());
  EXPECT_EQ(r.status_code, "500");
  EXPECT_EQ(r.request_id, "req-10");

  r = JudgeZapRequest({"1.0"}, Auth());
  EXPECT_EQ(r.status_code, "500");
  EXPECT_TRUE(r.request_id.empty());

  r = JudgeZapRequest({}, Auth());
  EXPECT_EQ(r.status_code, "500");
  EXPECT_TRUE(calls_.empty());
}

}  // namespace
}  // namespace relais::broker::transport
