// Fault: an adapter, then relaisd, killed at every step of the two
// hand-offs (a partner's inbox file to the broker, a delivery to the
// partner's outbox and done/ folders), for each of the four agencies, with
// a partner system that takes every file away as soon as it sees it and
// reuses the name of its inbox file.
//
// The steps are the crash points of core/crash_point.h. A reference round
// records every point the process passes (RELAIS_CRASH_TRACE); then one
// round per point kills the process there (RELAIS_CRASH_POINT="name@k"),
// restarts it, waits until everything has settled, and checks what the
// partner side holds:
//   - every file the partner dropped has exactly one receipt in done/, its
//     cases reached each of their recipients once (one message per case and
//     recipient), and no other case reached them;
//   - every case delivered to the agency was handed to the partner once
//     (taken once from outbox/), and so was every status report (done/);
//   - nothing is left behind: no hidden file, no intake in state/intake.
//
// One round: the recipients of the previous round's cases report them
// received (so the agency gets status reports), the partner drops
// "case.<ext>", France services sends a case to the agency, and the agency
// starts. After a crash the partner takes what it sees and, if the name
// "case.<ext>" is free again, drops a new file under it.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/bytes.h"
#include "core/cases.h"
#include "core/crypto.h"
#include "core/files.h"
#include "deploy/lib/provision.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kDesk[] = "france-services/paris-15";

struct Agency {
  std::string id;
  std::string sample;  // under deploy/samples/
  std::string ext;
};

// Every name in `dir`, hidden ones included.
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What the recipients' systems got: per recipient, per case, the distinct
// message ids. Thread-safe.
class Recipients {
 public:
  sdk::DeliveryHandler Handler(const std::string& recipient) {
    return [this, recipient](const sdk::Delivery& d) {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string id(d.envelope->message_id);
      if (got_[recipient][std::string(d.envelope->case_id)].insert(id).second)
        unreported_[recipient].push_back(id);
      return sdk::HandlerResult::Processed();
    };
  }
  std::map<std::string, std::set<std::string>> CasesOf(const std::string& r) {
    std::lock_guard<std::mutex> lock(mu_);
    return got_[r];
  }
  std::vector<std::string> TakeUnreported(const std::string& r) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(unreported_[r], {});
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> got_;
  std::map<std::string, std::vector<std::string>> unreported_;
};

enum class Victim { kAdapter, kBroker };

class CrashPointTest : public ::testing::TestWithParam<Agency> {
 protected:
  void SetUp() override {
    agency_ = GetParam();
    // Only the agency under test runs an adapter; the others are SDK
    // clients of this test.
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
    const auto& layout = stack_.layout();
    auto config = ReadFile(layout.AdapterConfig(agency_.id));
    ASSERT_TRUE(config.ok());
    std::string text = *config;
    const size_t at = text.find("poll_interval_ms = 200");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 22, "poll_interval_ms = 20");
    ASSERT_TRUE(WriteFileAtomic(layout.AdapterConfig(agency_.id), text).ok());
    for (const auto& a : deploy::kAgencies) {
      if (a == agency_.id) continue;
      auto c = stack_.Connect(a, recipients_.Handler(a));
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      others_[a] = std::move(*c);
    }
    auto desk = stack_.Connect(kDesk);
    ASSERT_TRUE(desk.ok());
    desk_ = std::move(*desk);
    auto sample = ReadFile(SourcePath("deploy/samples/" + agency_.sample));
    ASSERT_TRUE(sample.ok());
    sample_ = *sample;
    auto address = ReadFile(
        SourcePath("deploy/samples/france_services/address_change.json"));
    ASSERT_TRUE(address.ok());
    address_event_ = nlohmann::json::parse(*address)["event"].dump();
    taken_ = stack_.dir() + "/taken-by-partner";
    fs::create_directories(taken_);
  }

  std::string Inbox() const { return stack_.layout().Inbox(agency_.id); }
  std::string Outbox() const { return stack_.layout().Outbox(agency_.id); }
  std::string Done() const { return stack_.layout().Done(agency_.id); }
  std::string IntakeDir() const {
    return stack_.layout().ParticipantDir(agency_.id) + "/state/intake";
  }

  // A new file for the partner to drop: the sample, made unique by
  // trailing whitespace (or a comment, in XML), which changes no field.
  std::string NextFile() {
    ++drops_;
    std::string bytes = sample_;
    if (agency_.ext == ".xml") {
      bytes += "<!-- " + std::to_string(drops_) + " -->\n";
    } else {
      bytes += std::string(static_cast<size_t>(drops_), ' ') + "\n";
    }
    dropped_.insert(HexEncode(crypto::Sha256(bytes)));
    return bytes;
  }
  void Drop(const std::string& name) {
    ASSERT_TRUE(WriteFileAtomic(Inbox() + "/" + name, NextFile()).ok());
  }

  // France services sends one address change to the agency; its message id
  // is expected once in the partner's outbox.
  void SendToAgency() {
    EnvelopeDraft d;
    d.case_id = "c-crash-" + std::to_string(++sent_);
    d.recipients = {agency_.id};
    d.case_type = wire::CaseType::AddressChange;
    d.payload = *CaseEventFromJson(address_event_);
    auto sealed = desk_->Seal(d);
    ASSERT_TRUE(sealed.ok());
    expected_deliveries_.insert(HexEncode(sealed->message_id));
    desk_->SubmitAsync(*sealed, [](Result<sdk::Receipt>) {});
  }

  // The recipients report every message they got since the last round:
  // each report reaches the agency (the originator) as a status file.
  void ReportReceived() {
    for (auto& [r, other] : others_) {
      // A structured binding cannot be captured by a lambda before C++20's
      // P1091 reaches every compiler (clang 14 has not).
      auto& client = other;
      for (const auto& id : recipients_.TakeUnreported(r)) {
        Result<sdk::StatusRecord> rec = Status::Timeout("");
        ASSERT_TRUE(WaitUntil(
            [&] {
              rec = client->ReportStatus(id, wire::RecipientState::Received);
              return rec.ok();
            },
            seconds(60)))
            << rec.status().ToString();
        expected_reports_.insert(HexEncode(id) + "/" + r);
      }
    }
  }

  // The partner system takes every file it sees: outbox/ files and status
  // reports in done/, counting each hand-over.
  void PartnerTakes() {
    for (const auto& name : Entries(Outbox())) {
      if (name.front() == '.') continue;
      auto text = ReadFile(Outbox() + "/" + name);
      ASSERT_TRUE(text.ok());
      bool known = false;
      for (const auto& hex : expected_deliveries_) {
        if (text->find(hex) != std::string::npos) {
          ++taken_deliveries_[hex];
          known = true;
        }
      }
      EXPECT_TRUE(known) << "outbox/" << name << " is no case sent to "
                         << agency_.id;
      fs::rename(Outbox() + "/" + name,
                 taken_ + "/" + name + "." + std::to_string(++takes_));
    }
    for (const auto& name : Entries(Done())) {
      if (name.front() == '.' || !name.ends_with(".status.json")) continue;
      auto doc = nlohmann::json::parse(*ReadFile(Done() + "/" + name));
      ++taken_reports_[doc["message_id"].get<std::string>() + "/" +
                       doc["recipient"].get<std::string>()];
      fs::rename(Done() + "/" + name,
                 taken_ + "/" + name + "." + std::to_string(++takes_));
    }
  }

  // The receipts in done/, by the SHA-256 of the file they are for.
  std::map<std::string, std::vector<nlohmann::json>> Receipts() {
    std::map<std::string, std::vector<nlohmann::json>> out;
    for (const auto& name : Entries(Done())) {
      if (!name.ends_with(".receipt.json") || name.front() == '.') continue;
      auto doc = nlohmann::json::parse(*ReadFile(Done() + "/" + name));
      out[doc["sha256"].get<std::string>()].push_back(doc);
    }
    return out;
  }

  // Everything settled: inbox and intakes empty, a receipt for every drop,
  // every case at its recipients, every delivery and report handed over.
  bool Settled(std::string* why) {
    if (!Entries(Inbox()).empty()) return *why = "inbox not empty", false;
    if (!Entries(IntakeDir()).empty()) return *why = "intakes left", false;
    const auto receipts = Receipts();
    for (const auto& sha : dropped_) {
      if (!receipts.count(sha)) return *why = "no receipt for a drop", false;
    }
    for (const auto& [sha, list] : receipts) {
      for (const auto& c : list[0]["cases"]) {
        for (const auto& r : c["recipients"]) {
          if (!recipients_.CasesOf(r.get<std::string>())
                   .count(c["case_id"].get<std::string>())) {
            return *why = "a case has not reached " + r.get<std::string>(),
                   false;
          }
        }
      }
    }
    std::set<std::string> seen;
    for (const auto& [hex, n] : taken_deliveries_) seen.insert(hex);
    for (const auto& name : Entries(Outbox())) {
      if (name.front() == '.') return *why = "hidden file in outbox/", false;
      auto text = ReadFile(Outbox() + "/" + name);
      for (const auto& hex : expected_deliveries_) {
        if (text.ok() && text->find(hex) != std::string::npos) seen.insert(hex);
      }
    }
    if (seen.size() != expected_deliveries_.size()) {
      return *why = "a delivery is not handed over yet", false;
    }
    std::set<std::string> reports;
    for (const auto& [key, n] : taken_reports_) reports.insert(key);
    for (const auto& name : Entries(Done())) {
      if (name.starts_with(".relais-")) {
        return *why = "hidden file in done/", false;
      }
      if (!name.ends_with(".status.json")) continue;
      auto doc = nlohmann::json::parse(*ReadFile(Done() + "/" + name));
      reports.insert(doc["message_id"].get<std::string>() + "/" +
                     doc["recipient"].get<std::string>());
    }
    for (const auto& key : expected_reports_) {
      if (!reports.count(key)) return *why = "a report is missing", false;
    }
    return true;
  }

  // The partner side holds each thing once.
  void CheckOnce(const std::string& round) {
    SCOPED_TRACE(round);
    for (const auto& hex : expected_deliveries_) {
      EXPECT_EQ(taken_deliveries_[hex], 1) << "delivery " << hex;
    }
    for (const auto& [hex, n] : taken_deliveries_) {
      EXPECT_TRUE(expected_deliveries_.count(hex)) << hex;
    }
    for (const auto& key : expected_reports_) {
      EXPECT_EQ(taken_reports_[key], 1) << "status report " << key;
    }
    EXPECT_EQ(taken_reports_.size(), expected_reports_.size());
    const auto receipts = Receipts();
    std::map<std::string, std::set<std::string>> cases_to;  // by recipient
    for (const auto& sha : dropped_) {
      auto it = receipts.find(sha);
      ASSERT_NE(it, receipts.end()) << "a dropped file has no receipt";
      ASSERT_EQ(it->second.size(), 1u) << "a file has two receipts";
      const auto& receipt = it->second[0];
      const std::string as = receipt.value("as", receipt["file"]);
      EXPECT_TRUE(fs::exists(Done() + "/" + as)) << as;
      for (const auto& c : receipt["cases"]) {
        for (const auto& r : c["recipients"]) {
          cases_to[r.get<std::string>()].insert(c["case_id"]);
        }
      }
    }
    EXPECT_EQ(receipts.size(), dropped_.size());
    for (const auto& [r, client] : others_) {
      const auto got = recipients_.CasesOf(r);
      for (const auto& [case_id, ids] : got) {
        EXPECT_EQ(ids.size(), 1u) << r << " got case " << case_id << " as "
                                  << ids.size() << " messages";
        EXPECT_TRUE(cases_to[r].count(case_id))
            << r << " got case " << case_id << " that no receipt names";
      }
      EXPECT_EQ(got.size(), cases_to[r].size()) << r;
    }
    EXPECT_TRUE(Entries(IntakeDir()).empty());
  }

  // One round; `spec` empty: no crash. With `trace`, the victim records the
  // crash points it passes there. Returns whether the victim was killed.
  bool Round(Victim victim, const std::string& spec,
             const std::string& trace = "") {
    std::vector<std::string> env;
    if (!spec.empty()) env.push_back("RELAIS_CRASH_POINT=" + spec);
    if (!trace.empty()) env.push_back("RELAIS_CRASH_TRACE=" + trace);
    ReportReceived();
    if (victim == Victim::kBroker) {
      EXPECT_EQ(stack_.StopBroker(), 0);
      EXPECT_TRUE(stack_.StartBroker(env).ok()) << stack_.BrokerLog();
    }
    const std::string name = "case" + agency_.ext;
    Drop(name);
    SendToAgency();
    // With a crash point it may die before it is ready: launched only.
    EXPECT_TRUE((victim == Victim::kAdapter
                     ? stack_.LaunchAdapter(agency_.id, env)
                     : stack_.StartAdapter(agency_.id))
                    .ok());
    std::string why;
    bool killed = false;
    const bool settled = WaitUntil(
        [&] {
          if (Settled(&why)) return true;
          killed = victim == Victim::kAdapter
                       ? !stack_.AdapterRunning(agency_.id)
                       : !stack_.BrokerRunning();
          return killed;
        },
        seconds(60));
    EXPECT_TRUE(settled) << "round " << spec << ": not settled: " << why;
    if (killed) {
      // The partner takes what it sees; a free name is used again.
      PartnerTakes();
      if (!fs::exists(Inbox() + "/" + name)) Drop(name);
      if (victim == Victim::kAdapter) {
        EXPECT_TRUE(stack_.StartAdapter(agency_.id).ok());
      } else {
        EXPECT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
      }
      EXPECT_TRUE(WaitUntil([&] { return Settled(&why); }, seconds(60)))
          << "after the crash at " << spec << ": " << why;
    }
    // A crash point may also come after everything settled (or during the
    // stop): the victim is then started again, without one, and must
    // settle again.
    if (victim == Victim::kBroker) {
      if (stack_.StopBroker() != 0) killed = true;
      EXPECT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
      EXPECT_TRUE(WaitUntil([&] { return Settled(&why); }, seconds(60)))
          << "after a restart of relaisd: " << why;
    }
    PartnerTakes();
    if (stack_.StopAdapter(agency_.id) != 0) {
      EXPECT_EQ(victim, Victim::kAdapter) << "the adapter died";
      killed = true;
      EXPECT_TRUE(stack_.StartAdapter(agency_.id).ok());
      EXPECT_TRUE(WaitUntil([&] { return Settled(&why); }, seconds(60)))
          << "after a crash at " << spec << " once settled: " << why;
      PartnerTakes();
      EXPECT_EQ(stack_.StopAdapter(agency_.id), 0);
    }
    CheckOnce(spec.empty() ? "no crash" : "crash at " + spec);
    return killed;
  }

  // Every point the victim passes in a round, in order ("name@k").
  std::vector<std::string> TracedPoints(Victim victim) {
    const std::string trace = stack_.dir() + "/crash-trace.txt";
    Round(victim, "", trace);
    auto text = ReadFile(trace);
    std::vector<std::string> points;
    if (!text.ok()) return points;
    std::stringstream in(*text);
    for (std::string line; std::getline(in, line);) {
      // relaisd's steps are its journal writer's (its start-up, such as
      // writing its endpoint file, is no hand-off).
      if (line.empty() ||
          (victim == Victim::kBroker && !line.starts_with("writer."))) {
        continue;
      }
      points.push_back(line);
    }
    return points;
  }

  void SweepCrashPoints(Victim victim) {
    Round(victim, "");  // a first case, so later rounds have reports
    const std::vector<std::string> points = TracedPoints(victim);
    ASSERT_FALSE(points.empty());
    std::set<std::string> names, crashed;
    for (const auto& p : points) {
      const std::string name = p.substr(0, p.find('@'));
      names.insert(name);
      if (Round(victim, p)) crashed.insert(name);
      if (HasFatalFailure() || HasFailure()) {
        ADD_FAILURE() << "stopped at crash point " << p;
        return;
      }
    }
    // A point that never killed anything would prove nothing.
    for (const auto& n : names) EXPECT_TRUE(crashed.count(n)) << n;
    std::string list;
    for (const auto& n : crashed) list += " " + n;
    std::printf("%s: %zu rounds, killed at every one of:%s\n",
                agency_.id.c_str(), points.size(), list.c_str());
  }

  Agency agency_;
  TestStack stack_;
  Recipients recipients_;
  std::map<std::string, std::unique_ptr<sdk::Client>> others_;
  std::unique_ptr<sdk::Client> desk_;
  std::string sample_, address_event_, taken_;
  int drops_ = 0, sent_ = 0, takes_ = 0;
  std::set<std::string> dropped_;              // SHA-256 hex of each drop
  std::set<std::string> expected_deliveries_;  // message id hex
  std::set<std::string> expected_reports_;     // message id hex / recipient
  std::map<std::string, int> taken_deliveries_, taken_reports_;
};

TEST_P(CrashPointTest, AdapterKilledAtEveryStepHandsEachThingOverOnce) {
  SweepCrashPoints(Victim::kAdapter);
}

TEST_P(CrashPointTest, BrokerKilledAtEveryJournalStepLosesNothing) {
  SweepCrashPoints(Victim::kBroker);
}

INSTANTIATE_TEST_SUITE_P(
    Agencies, CrashPointTest,
    ::testing::Values(Agency{"caf", "caf/birth.xml", ".xml"},
                      Agency{"cpam", "cpam/birth.json", ".json"},
                      Agency{"dgfip", "dgfip/resources_update.json", ".json"},
                      Agency{"france-travail",
                             "france_travail/job_seeker_status.json", ".json"}),
    [](const auto& param_info) {
      std::string n = param_info.param.id;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

}  // namespace
}  // namespace relais::testing
