// Fault: the power fails. relaisd (its journal) and two adapters (their
// local stores and the partner's folders) run on relais-lazyfs
// (tests/lazyfs/), a file system that forgets every write not yet synced
// when the power is cut. A SIGKILL alone keeps the page cache, so only a
// cut can show a missing sync.
//
// Under load (France services sending cases to the CPAM, the CPAM's
// partner dropping birth files whose cases go to the CAF), the power is cut
// at random moments and right at sync points (the crash points just before
// and after relaisd's journal sync, and around the adapters' syncs):
// every process on the disk is killed, unsynced writes are lost, and
// everything restarts. Then:
//   - every message whose Accepted the sender received reaches the CPAM's
//     partner, once;
//   - every file the partner saw in outbox/ is still there, whole, or was
//     taken by the partner; nothing is handed over twice;
//   - every inbox file the partner saw accepted (its receipt in done/)
//     keeps its receipt, and its case reaches the CAF's partner once.
//
// Skipped, saying so, where FUSE is not available (it needs /dev/fuse and
// root) or relais-lazyfs was not built (no libfuse3).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "core/bytes.h"
#include "core/cases.h"
#include "core/crypto.h"
#include "core/files.h"
#include "deploy/lib/process.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kDesk[] = "france-services/paris-15";
constexpr int kMessages = 1200;
constexpr int kInboxFiles = 12;

// relais-lazyfs over a backing folder, mounted for the test.
class LazyDisk {
 public:
  LazyDisk() : dir_(MakeTestDir()) {
    fs::create_directories(dir_ + "/backing");
    fs::create_directories(dir_ + "/mnt");
    const std::string exe = fs::path(deploy::BinDir()).parent_path().string() +
                            "/tests/relais-lazyfs";
    if (!fs::exists("/dev/fuse")) {
      why_not_ = "no /dev/fuse";
      return;
    }
    if (!fs::exists(exe)) {
      why_not_ = exe + " was not built (libfuse3-dev missing)";
      return;
    }
    auto child = deploy::ChildProcess::Start(
        {exe, dir_ + "/backing", mount(), "-f"}, log());
    if (!child.ok()) {
      why_not_ = child.status().ToString();
      return;
    }
    fs_ = std::move(*child);
    const bool up = WaitUntil(
        [&] {
          return Log().find("lazyfs: mounted") != std::string::npos ||
                 !fs_.running();
        },
        seconds(10));
    if (!up || !fs_.running()) {
      why_not_ = "relais-lazyfs did not mount: " + Log();
      return;
    }
    mounted_ = true;
  }
  ~LazyDisk() {
    if (mounted_) {
      auto u = deploy::ChildProcess::Start({"/bin/fusermount3", "-u", mount()});
      if (u.ok()) u->Wait(seconds(10));
      fs_.Wait(seconds(10));
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }
  std::string mount() const { return dir_ + "/mnt"; }
  std::string outside() const { return dir_; }

  // Forgets every unsynced write; returns once the cut is complete.
  void Cut() {
    const size_t before = Cuts();
    ::kill(fs_.pid(), SIGUSR1);
    ASSERT_TRUE(WaitUntil([&] { return Cuts() > before; }, seconds(10)));
  }
  std::string Log() const {
    auto text = ReadFile(log(), 4 << 20);
    return text.ok() ? *text : std::string();
  }

 private:
  std::string log() const { return dir_ + "/lazyfs.log"; }
  size_t Cuts() const {
    const std::string text = Log();
    size_t n = 0;
    for (size_t p = text.find("power cut"); p != std::string::npos;
         p = text.find("power cut", p + 1)) {
      ++n;
    }
    return n;
  }

  std::string dir_, why_not_;
  deploy::ChildProcess fs_;
  bool mounted_ = false;
};

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) {
      GTEST_SKIP() << "no power-loss file system here: " << disk_.why_not();
    }
    deploy::StackSpec spec;
    spec.dir = disk_.mount() + "/stack";
    stack_.emplace(spec);
    stack_->set_log_dir(disk_.outside());
    taken_ = disk_.outside() + "/taken";
    fs::create_directories(taken_);
    auto sample = ReadFile(SourcePath("deploy/samples/cpam/birth.json"));
    ASSERT_TRUE(sample.ok());
    birth_ = *sample;
    auto address = ReadFile(
        SourcePath("deploy/samples/france_services/address_change.json"));
    ASSERT_TRUE(address.ok());
    address_event_ = nlohmann::json::parse(*address)["event"].dump();
  }
  void TearDown() override { stack_.reset(); }

  TestStack& stack() { return *stack_; }

  Status StartAll(const std::vector<std::string>& broker_env = {},
                  const std::vector<std::string>& cpam_env = {}) {
    RELAIS_RETURN_IF_ERROR(stack().StartBroker(broker_env));
    RELAIS_RETURN_IF_ERROR(cpam_env.empty()
                               ? stack().StartAdapter("cpam")
                               : stack().LaunchAdapter("cpam", cpam_env));
    return stack().StartAdapter("caf");
  }
  // The power fails: every process on the disk dies, then the disk forgets
  // what was not synced; then everything starts again.
  void CutPowerAndRestart() {
    stack().KillBroker();
    stack().KillAdapter("cpam");
    stack().KillAdapter("caf");
    disk_.Cut();
    ++cuts_;
    ASSERT_TRUE(StartAll().ok()) << stack().BrokerLog();
  }

  // Sends the load from its own thread: each accepted message is recorded.
  void SendLoad() {
    auto desk = stack().Connect(kDesk);
    ASSERT_TRUE(desk.ok());
    std::atomic<int> in_flight{0};
    for (int i = 0; i < kMessages; ++i) {
      EnvelopeDraft d;
      d.case_id = "c-power-" + std::to_string(i);
      d.recipients = {"cpam"};
      d.case_type = wire::CaseType::AddressChange;
      d.payload = *CaseEventFromJson(address_event_);
      auto sealed = (*desk)->Seal(d);
      ASSERT_TRUE(sealed.ok());
      while (in_flight.load() >= 64) {
        std::this_thread::sleep_for(milliseconds(2));
      }
      ++in_flight;
      const std::string id = sealed->message_id;
      (*desk)->SubmitAsync(*sealed,
                           [this, id, i, &in_flight](Result<sdk::Receipt> r) {
                             if (r.ok()) {
                               std::lock_guard<std::mutex> lock(mu_);
                               accepted_[HexEncode(id).substr(0, 16)] = i;
                             }
                             --in_flight;
                           });
    }
    // Unanswered submits are sent again after each restart.
    ASSERT_TRUE(WaitUntil([&] { return in_flight.load() == 0; }, seconds(180)));
    desk->reset();
    load_done_ = true;
  }

  // The CPAM's partner: takes the files of even-numbered cases (copies
  // them out, then removes them) and only looks at the others, which must
  // stay there, whole. Every file must be a whole document.
  void CpamPartnerPass() {
    const std::string outbox = stack().layout().Outbox("cpam");
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(outbox, ec)) {
      const std::string name = e.path().filename().string();
      if (name.front() == '.') continue;
      auto text = ReadFile(e.path().string());
      if (!text.ok()) continue;
      const auto doc = nlohmann::json::parse(*text, nullptr, false);
      EXPECT_FALSE(doc.is_discarded())
          << "outbox/" << name << " is not a whole document after " << cuts_
          << " cut(s): " << text->size() << " bytes";
      // "<case id>-<first 8 bytes of the message id, hex>.json"
      const size_t dash = name.rfind('-');
      const std::string case_id = name.substr(0, dash);
      const int index = std::stoi(case_id.substr(case_id.rfind('-') + 1));
      if (index % 2 == 0) {
        ++taken_count_[name];
        ASSERT_TRUE(WriteFileAtomic(taken_ + "/" + name, *text).ok());
        fs::remove(e.path(), ec);
      } else if (!looked_at_.count(name)) {
        looked_at_[name] = *text;
      }
    }
  }

  // The CAF's partner takes every birth it is handed.
  void CafPartnerPass() {
    const std::string outbox = stack().layout().Outbox("caf");
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(outbox, ec)) {
      const std::string name = e.path().filename().string();
      if (name.front() == '.') continue;
      auto text = ReadFile(e.path().string());
      if (!text.ok()) continue;
      EXPECT_NE(text->find("</"), std::string::npos)
          << "caf outbox/" << name << " is not whole";
      ++caf_taken_[name.substr(0, name.rfind('-'))];  // by case id
      fs::remove(e.path(), ec);
    }
  }

  // The receipts in the CPAM's done/, by the SHA-256 of their file.
  std::map<std::string, nlohmann::json> Receipts() {
    std::map<std::string, nlohmann::json> out;
    std::error_code ec;
    for (const auto& e :
         fs::directory_iterator(stack().layout().Done("cpam"), ec)) {
      const std::string name = e.path().filename().string();
      if (!name.ends_with(".receipt.json") || name.front() == '.') continue;
      auto text = ReadFile(e.path().string());
      if (!text.ok()) continue;
      auto doc = nlohmann::json::parse(*text, nullptr, false);
      EXPECT_FALSE(doc.is_discarded()) << name << " is not whole";
      if (!doc.is_discarded()) out[doc["sha256"].get<std::string>()] = doc;
    }
    return out;
  }

  // The cases of `receipts` that went to the CAF.
  static std::set<std::string> CafCases(
      const std::map<std::string, nlohmann::json>& receipts) {
    std::set<std::string> out;
    for (const auto& [sha, r] : receipts) {
      for (const auto& c : r["cases"]) {
        for (const auto& to : c["recipients"]) {
          if (to == "caf") out.insert(c["case_id"].get<std::string>());
        }
      }
    }
    return out;
  }

  void DropBirth(int k) {
    const std::string bytes = birth_ + std::string(k + 1, ' ') + "\n";
    dropped_.insert(HexEncode(crypto::Sha256(bytes)));
    ASSERT_TRUE(WriteFileAtomic(stack().layout().Inbox("cpam") + "/birth-" +
                                    std::to_string(k) + ".json",
                                bytes)
                    .ok());
  }

  LazyDisk disk_;
  std::optional<TestStack> stack_;
  std::string taken_, birth_, address_event_;
  std::mutex mu_;
  std::map<std::string, int> accepted_;  // message id prefix -> index
  std::atomic<bool> load_done_{false};
  int cuts_ = 0;
  std::map<std::string, int> taken_count_;               // file name -> takes
  std::map<std::string, std::string> looked_at_;         // file name -> bytes
  std::map<std::string, int> caf_taken_;                 // case id -> takes
  std::set<std::string> dropped_;                        // SHA-256 hex
  std::map<std::string, nlohmann::json> seen_receipts_;  // SHA-256 -> it
};

TEST_F(PowerLossTest, WhatWasAcceptedOrHandedOverSurvivesEveryCut) {
  ASSERT_TRUE(StartAll().ok()) << stack().BrokerLog();
  std::thread load([this] { SendLoad(); });
  std::mt19937 rng(std::random_device{}());
  // Cuts: random moments, then right at sync points of relaisd's journal
  // and of the CPAM adapter's local store and partner files.
  const std::vector<std::pair<std::string, std::string>> at_syncs = {
      {"broker", "writer.batch.built"}, {"broker", "writer.batch.synced"},
      {"cpam", "client.handled"},       {"cpam", "client.committed"},
      {"cpam", "files.atomic.synced"},  {"cpam", "intake.submit.answered"},
  };
  int dropped = 0;
  size_t sync_cuts = 0;
  for (int round = 0; round < 12; ++round) {
    // Let some work happen, as the partners see it.
    const auto until = std::chrono::steady_clock::now() +
                       milliseconds(300 + static_cast<int>(rng() % 700));
    while (std::chrono::steady_clock::now() < until) {
      if (dropped < kInboxFiles && rng() % 4 == 0) DropBirth(dropped++);
      CpamPartnerPass();
      CafPartnerPass();
      for (auto& [sha, r] : Receipts()) seen_receipts_[sha] = r;
      std::this_thread::sleep_for(milliseconds(20));
    }
    if (round % 2 == 0 || sync_cuts >= at_syncs.size()) {
      CutPowerAndRestart();
      continue;
    }
    // At a sync point: the victim dies there by itself, then the power
    // fails for all.
    const auto& [victim, point] = at_syncs[sync_cuts++];
    const std::string spec =
        "RELAIS_CRASH_POINT=" + point + "@" + std::to_string(1 + rng() % 5);
    if (victim == "broker") {
      stack().KillBroker();
      ASSERT_TRUE(stack().StartBroker({spec}).ok()) << stack().BrokerLog();
      WaitUntil([&] { return !stack().BrokerRunning(); }, seconds(10));
    } else {
      stack().KillAdapter("cpam");
      ASSERT_TRUE(stack().LaunchAdapter("cpam", {spec}).ok());
      if (dropped < kInboxFiles) DropBirth(dropped++);
      WaitUntil([&] { return !stack().AdapterRunning("cpam"); }, seconds(10));
    }
    CutPowerAndRestart();
  }
  while (dropped < kInboxFiles) DropBirth(dropped++);
  // No more cuts: everything settles.
  const auto settled = [&] {
    CpamPartnerPass();
    CafPartnerPass();
    if (!load_done_) return false;
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> handed;
    for (const auto& [name, n] : taken_count_) handed.insert(name);
    for (const auto& [name, b] : looked_at_) handed.insert(name);
    if (handed.size() < accepted_.size()) return false;
    const auto receipts = Receipts();
    for (const auto& sha : dropped_) {
      if (!receipts.count(sha)) return false;
    }
    for (const auto& case_id : CafCases(receipts)) {
      if (!caf_taken_.count(case_id)) return false;
    }
    return true;
  };
  // Settled, or no progress for 30 s (something was lost: the checks
  // below say what).
  size_t progress = 0;
  auto last_progress = std::chrono::steady_clock::now();
  const bool done = WaitUntil(
      [&] {
        if (settled()) return true;
        const size_t now = taken_count_.size() + looked_at_.size() +
                           caf_taken_.size() + Receipts().size();
        if (now != progress || !load_done_) {
          progress = now;
          last_progress = std::chrono::steady_clock::now();
        }
        return std::chrono::steady_clock::now() - last_progress > seconds(30);
      },
      seconds(300));
  load.join();
  EXPECT_TRUE(done && settled())
      << "not settled after " << cuts_ << " cuts; accepted " << accepted_.size()
      << ", taken " << taken_count_.size() << ", looked at "
      << looked_at_.size();

  // Every accepted message reached the partner once; nothing else did.
  std::map<std::string, int> per_message;  // message id prefix -> files
  for (const auto& [name, n] : taken_count_) {
    EXPECT_EQ(n, 1) << name << " handed over " << n << " times";
    per_message[name.substr(name.rfind('-') + 1, 16)] += n;
  }
  for (const auto& [name, bytes] : looked_at_) {
    per_message[name.substr(name.rfind('-') + 1, 16)] += 1;
    // Seen by the partner: still there, whole and unchanged.
    auto now = ReadFile(stack().layout().Outbox("cpam") + "/" + name);
    ASSERT_TRUE(now.ok()) << "outbox/" << name << " was seen, then lost";
    EXPECT_EQ(*now, bytes) << "outbox/" << name << " changed";
  }
  for (const auto& [id, index] : accepted_) {
    EXPECT_EQ(per_message[id], 1)
        << "accepted message " << id << " (case " << index << ") handed over "
        << per_message[id] << " times";
  }
  // Every receipt the partner saw is still there, the same; every dropped
  // file has one; every case in them reached the CAF's partner once.
  const auto receipts = Receipts();
  for (const auto& [sha, r] : seen_receipts_) {
    ASSERT_TRUE(receipts.count(sha)) << "a receipt was seen, then lost";
    EXPECT_EQ(receipts.at(sha), r);
  }
  EXPECT_EQ(receipts.size(), dropped_.size());
  const std::set<std::string> cases = CafCases(receipts);
  for (const auto& [case_id, n] : caf_taken_) {
    EXPECT_EQ(n, 1) << "birth case " << case_id << " handed to the CAF " << n
                    << " times";
    EXPECT_TRUE(cases.count(case_id)) << case_id << " is in no receipt";
  }
  EXPECT_EQ(caf_taken_.size(), cases.size());
  EXPECT_GE(cuts_, 12);
  std::printf(
      "%d power cuts (%zu at sync points); %zu messages accepted, "
      "%zu inbox files\n",
      cuts_, sync_cuts, accepted_.size(), dropped_.size());
}

}  // namespace
}  // namespace relais::testing
