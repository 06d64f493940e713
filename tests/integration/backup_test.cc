// Integration: a backup of relaisd's journal made under load (relais
// backup, AdminOp Backup) and restored as docs/OPERATIONS.md says: every
// message accepted up to the backup's sequence is delivered once from the
// restored journal, and none accepted after it.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr char kDesk[] = "france-services/paris-15";

TEST(BackupTest, ACopyMadeUnderLoadRestoresEveryAcceptedMessageOnce) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  auto desk = stack.Connect(kDesk);
  ASSERT_TRUE(desk.ok());

  // The load: the desk sends cases to the CAF, which is away, one after
  // the other, for as long as the test needs.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<std::string, uint64_t>> receipts;  // guarded by mu
  const auto accepted = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return receipts.size();
  };
  std::thread load([&] {
    while (!stop.load()) {
      auto sealed = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
      if (!sealed.ok()) continue;
      auto receipt = (*desk)->Submit(*sealed, seconds(10));
      if (!receipt.ok()) continue;
      std::lock_guard<std::mutex> lock(mu);
      receipts.emplace_back(sealed->message_id, receipt->sequence);
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return accepted() >= 20; }));

  // Only an operator may ask.
  auto [refused, why] =
      RunCli(stack, {"backup", "--config", stack.layout().ClientConfig(kDesk)});
  EXPECT_EQ(refused, 3) << why;
  EXPECT_NE(why.find("NotAuthorised"), std::string::npos) << why;

  auto [code, out] = RunCli(stack, {"backup", "--json", "--config",
                                    stack.layout().ClientConfig("operator")});
  ASSERT_EQ(code, 0) << out << stack.BrokerLog();
  const auto made = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(made.is_object()) << out;
  const std::string folder = made.value("folder", "");
  const uint64_t upto = made.value("sequence", uint64_t{0});
  EXPECT_GT(made.value("bytes", uint64_t{0}), 0u) << out;
  ASSERT_TRUE(fs::is_directory(folder)) << out;
  EXPECT_EQ(fs::path(folder).parent_path(), fs::path(stack.dir()) / "backups");
  const size_t at_backup = accepted();
  ASSERT_TRUE(WaitUntil([&] { return accepted() >= at_backup + 20; }));
  stop.store(true);
  load.join();
  desk->reset();

  std::vector<std::pair<std::string, uint64_t>> all;
  {
    std::lock_guard<std::mutex> lock(mu);
    all = receipts;
  }
  size_t before = 0;
  for (const auto& [id, seq] : all) before += seq <= upto ? 1 : 0;
  EXPECT_GE(before, 20u);
  EXPECT_GE(all.size() - before, 1u);  // accepted after the copy

  // Restore: stop relaisd, put the copy in the journal's place, start.
  ASSERT_EQ(stack.StopBroker(), 0) << stack.BrokerLog();
  const std::string journal = stack.layout().JournalDir();
  fs::rename(journal, journal + ".before-restore");
  fs::copy(folder, journal, fs::copy_options::recursive);
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();

  DeliveryCounter caf;
  auto recipient = stack.Connect("caf", caf.Handler());
  auto sender = stack.Connect(kDesk);
  ASSERT_TRUE(recipient.ok() && sender.ok());
  // Once the marker is handled, everything queued before it was too.
  auto marker = SubmitMarker(**sender, "caf");
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return caf.count(*marker) == 1; }))
      << stack.BrokerLog();
  for (const auto& [id, seq] : all) {
    EXPECT_EQ(caf.count(id), seq <= upto ? 1 : 0)
        << "sequence " << seq << ", backup up to " << upto;
  }
}

}  // namespace
}  // namespace relais::testing
