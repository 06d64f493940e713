// Integration: relais cases list (AdminOp ListCases) on a real relaisd:
// each filter, paging, the operator role, and no payload in the answer.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "core/frame.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::seconds;

constexpr char kDesk[] = "france-services/paris-15";

class CasesListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
    auto desk = stack_.Connect(kDesk);
    ASSERT_TRUE(desk.ok());
    desk_ = std::move(*desk);
  }

  std::string Open(const std::string& recipient) {
    auto sealed = desk_->Seal(SampleDraft(kDesk, {recipient}));
    EXPECT_TRUE(sealed.ok());
    EXPECT_TRUE(desk_->Submit(*sealed, seconds(10)).ok());
    return std::string(ParseEnvelope(sealed->bytes)->case_id);
  }

  // The case ids `relais cases list --json ARGS` prints, in order.
  std::vector<std::string> List(std::vector<std::string> args,
                                nlohmann::json* whole = nullptr) {
    args.insert(args.begin(), {"cases", "list", "--json", "--config",
                               stack_.layout().ClientConfig("operator")});
    auto [code, out] = RunCli(stack_, args);
    EXPECT_EQ(code, 0) << out;
    const auto j = nlohmann::json::parse(out, nullptr, false);
    std::vector<std::string> ids;
    if (!j.is_object()) return ids;
    for (const auto& c : j["cases"]) ids.push_back(c["case_id"]);
    if (whole != nullptr) *whole = j;
    return ids;
  }

  TestStack stack_;
  std::unique_ptr<sdk::Client> desk_;
};

TEST_F(CasesListTest, FiltersPagesAndNothingPersonal) {
  const std::string to_caf = Open("caf");
  const std::string to_cpam = Open("cpam");
  DeliveryCounter seen;
  auto caf = stack_.Connect("caf", seen.Handler());
  ASSERT_TRUE(caf.ok());
  ASSERT_TRUE(WaitUntil([&] {
    return List({"--recipient", "caf", "--state", "delivered"}).size() == 1;
  }));

  nlohmann::json all;
  auto ids = List({}, &all);
  std::vector<std::string> both = {to_caf, to_cpam};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(ids, both);
  EXPECT_EQ(List({"--recipient", "caf", "--state", "delivered"}),
            std::vector<std::string>{to_caf});
  EXPECT_EQ(List({"--state", "sent"}), std::vector<std::string>{to_cpam});
  EXPECT_EQ(List({"--state", "sent", "--state", "delivered"}), both);
  EXPECT_EQ(List({"--recipient", "dgfip"}), std::vector<std::string>{});
  EXPECT_EQ(List({"--originator", kDesk}), both);
  EXPECT_EQ(List({"--originator", "caf"}), std::vector<std::string>{});
  EXPECT_EQ(List({"--type", "address_change"}), both);
  EXPECT_EQ(List({"--type", "birth"}), std::vector<std::string>{});
  EXPECT_EQ(List({"--opened-before", "2000-01-01"}),
            std::vector<std::string>{});
  EXPECT_EQ(List({"--opened-after", "2000-01-01"}), both);
  // Waiting for cpam: stuck after a second, not before.
  EXPECT_EQ(List({"--recipient", "cpam", "--stuck-for", "1h"}),
            std::vector<std::string>{});
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(List({"--recipient", "cpam", "--stuck-for", "1s"}),
            std::vector<std::string>{to_cpam});
  // One page at a time.
  nlohmann::json page;
  EXPECT_EQ(List({"--limit", "1"}, &page), std::vector<std::string>{both[0]});
  EXPECT_EQ(page.value("next", ""), both[0]);
  EXPECT_EQ(List({"--after", both[0]}), std::vector<std::string>{both[1]});

  // Metadata only: none of the case's personal data.
  const std::string text = all.dump();
  for (const auto& personal : SamplePersonalData()) {
    EXPECT_EQ(text.find(personal), std::string::npos) << personal;
  }

  // Bad filters are refused before anything is sent; others than an
  // operator are refused by relaisd.
  auto [code, out] = RunCli(
      stack_, {"cases", "list", "--config",
               stack_.layout().ClientConfig("operator"), "--stuck-for", "2w"});
  EXPECT_EQ(code, 2) << out;
  std::tie(code, out) = RunCli(stack_, {"cases", "list", "--config",
                                        stack_.layout().ClientConfig(kDesk)});
  EXPECT_EQ(code, 3) << out;
  EXPECT_NE(out.find("NotAuthorised"), std::string::npos) << out;
}

}  // namespace
}  // namespace relais::testing
