// Integration: a backup of relaisd's journal made under load (relais
// backup, AdminOp Backup) and restored as docs/OPERATIONS.md says: every
// message accepted up to the backup's sequence is delivered once from the
// restored journal, and none accepted after it.

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
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

// Two backups in the same second with nothing accepted between them would
// have the same name: the second gets its own folder (-2), never a refusal.
// The names of the ten minutes after the first one (by the broker's clock)
// are taken beforehand, so the second backup meets a taken name.
TEST(BackupTest, ABackupWhoseNameIsTakenGetsItsOwnFolder) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  const auto backup = [&] {
    auto [code, out] = RunCli(stack, {"backup", "--json", "--config",
                                      stack.layout().ClientConfig("operator")});
    EXPECT_EQ(code, 0) << out << stack.BrokerLog();
    return nlohmann::json::parse(out, nullptr, false);
  };
  const auto first = backup();
  ASSERT_TRUE(first.is_object());
  const std::string sequence =
      std::to_string(first.value("sequence", uint64_t{0}));
  const fs::path dir = fs::path(stack.dir()) / "backups";
  const auto made_at =
      static_cast<std::time_t>(first.value("made_at_ms", int64_t{0}) / 1000);
  std::vector<fs::path> taken;
  for (std::time_t t = made_at; t <= made_at + 600; ++t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    const fs::path name =
        dir / ("journal-" + std::string(stamp) + "-" + sequence);
    if (fs::create_directory(name)) taken.push_back(name);
  }
  const auto second = backup();
  ASSERT_TRUE(second.is_object());
  const std::string folder = second.value("folder", "");
  EXPECT_NE(folder, first.value("folder", ""));
  EXPECT_EQ(folder.substr(folder.size() - 2), "-2") << folder;
  EXPECT_TRUE(fs::exists(fs::path(folder) / "CURRENT")) << folder;
  for (const auto& t : taken) EXPECT_TRUE(fs::is_empty(t)) << t;
}

}  // namespace
}  // namespace relais::testing
