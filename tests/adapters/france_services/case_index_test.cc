#include "adapters/france_services/case_index.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "tests/support/test_dir.h"

namespace relais::console {
namespace {

using wire::RecipientState;
constexpr int64_t kDay = 24 * 3600 * 1000LL;

class CaseIndexTest : public testing::TestDirFixture {
 protected:
  // Times from the real clock: nothing here mixes a fixed date with it.
  const int64_t now_ = Clock::System()->NowMs();

  std::unique_ptr<CaseIndex> OpenIndex() {
    auto index = CaseIndex::Open(Path("cases"), std::chrono::hours(24 * 30));
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return index.ok() ? std::move(*index) : nullptr;
  }

  CaseRecord Case(const std::string& id, int64_t opened_at_ms,
                  const std::string& citizen,
                  const std::vector<std::string>& to = {"caf", "cpam"}) {
    CaseRecord r;
    r.case_id = id;
    r.case_type = wire::CaseType::AddressChange;
    r.opened_at_ms = opened_at_ms;
    r.expires_at_ms = opened_at_ms + 7 * kDay;
    r.agent_login = "a.martin";
    r.agent_name = "Alice Martin";
    r.citizen = citizen;
    r.mandate_kind = "Written";
    r.mandate_date = "2026-01-05";
    for (const auto& t : to) {
      r.recipients.push_back({t, RecipientState::Sent, 0, {}});
    }
    r.messages.push_back({to, std::string("\x01\x02\0\xff", 4), 0, 0});
    r.request_sha256 = "ab";
    return r;
  }

  static std::vector<std::string> Ids(const std::vector<CaseRecord>& cases) {
    std::vector<std::string> ids;
    for (const auto& c : cases) ids.push_back(c.case_id);
    return ids;
  }
};

TEST_F(CaseIndexTest, ACaseIsKeptWholeAndFoundByItsRequestAfterAReopen) {
  {
    auto index = OpenIndex();
    ASSERT_TRUE(index);
    CaseRecord c = Case("c-1", now_, "DUPONT Éloïse");
    c.attachments.push_back({"justificatif.pdf", "application/pdf", 1234});
    ASSERT_TRUE(index->Add(c, "req-1").ok());
  }
  auto index = OpenIndex();  // synced: found after closing and opening
  ASSERT_TRUE(index);
  auto by_request = index->ByRequest("req-1");
  ASSERT_TRUE(by_request.ok());
  ASSERT_TRUE(by_request->has_value());
  const CaseRecord& r = **by_request;
  EXPECT_EQ(r.case_id, "c-1");
  EXPECT_EQ(r.case_type, wire::CaseType::AddressChange);
  EXPECT_EQ(r.citizen, "DUPONT Éloïse");
  EXPECT_EQ(r.agent_login, "a.martin");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].envelope, std::string("\x01\x02\0\xff", 4));
  EXPECT_EQ(r.messages[0].recipients,
            (std::vector<std::string>{"caf", "cpam"}));
  EXPECT_FALSE(r.request_ref.empty());
  ASSERT_EQ(r.attachments.size(), 1u);
  EXPECT_EQ(r.attachments[0].name, "justificatif.pdf");
  EXPECT_EQ(r.attachments[0].media_type, "application/pdf");
  EXPECT_EQ(r.attachments[0].bytes, 1234u);
  // Once accepted, the envelope is the broker's to keep.
  ASSERT_TRUE(index->Accepted("c-1", 0, 7, now_ + 1).ok());
  auto accepted = index->Find("c-1");
  ASSERT_TRUE(accepted.ok() && accepted->has_value());
  EXPECT_EQ((*accepted)->messages[0].sequence, 7u);
  EXPECT_EQ((*accepted)->messages[0].envelope, "");
  auto other = index->ByRequest("req-2");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  auto missing = index->Find("c-2");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(CaseIndexTest, ReportsMoveEachRecipientAndKeepTheHistoryOnce) {
  auto index = OpenIndex();
  ASSERT_TRUE(index);
  ASSERT_TRUE(index->Add(Case("c-1", now_, "X"), "r").ok());
  ASSERT_TRUE(
      index->ApplyReport("c-1", "caf", RecipientState::Received, now_ + 5, "")
          .ok());
  // The same report again (a redelivery), an older one, and one about a
  // participant that is not a recipient change nothing.
  ASSERT_TRUE(
      index->ApplyReport("c-1", "caf", RecipientState::Received, now_ + 5, "")
          .ok());
  ASSERT_TRUE(
      index->ApplyReport("c-1", "caf", RecipientState::Sent, now_ + 1, "")
          .ok());
  ASSERT_TRUE(
      index->ApplyReport("c-1", "dgfip", RecipientState::Done, now_ + 6, "")
          .ok());
  ASSERT_TRUE(index
                  ->ApplyReport("c-1", "cpam", RecipientState::Rejected,
                                now_ + 7, "dossier incomplet")
                  .ok());
  // A report about a case the index does not hold is not an error.
  EXPECT_TRUE(
      index->ApplyReport("c-9", "caf", RecipientState::Done, now_, "").ok());

  auto r = index->Find("c-1");
  ASSERT_TRUE(r.ok() && r->has_value());
  const CaseRecord& c = **r;
  ASSERT_EQ(c.recipients.size(), 2u);
  EXPECT_EQ(c.recipients[0].state, RecipientState::Received);
  EXPECT_EQ(c.recipients[1].state, RecipientState::Rejected);
  EXPECT_EQ(c.recipients[1].reason, "dossier incomplet");
  ASSERT_EQ(c.history.size(), 2u);
  EXPECT_EQ(c.history[0].recipient, "caf");
  EXPECT_EQ(c.history[1].detail, "dossier incomplet");
  EXPECT_EQ(ProgressOf(c), CaseProgress::kRejected);
}

TEST_F(CaseIndexTest, AReceiptKeepsTheReportsThatCameBeforeIt) {
  auto index = OpenIndex();
  ASSERT_TRUE(index);
  CaseRecord c = Case("c-1", now_, "X", {"caf"});
  c.messages.push_back({{"cpam"}, "other", 0, 0});
  c.recipients.push_back({"cpam", RecipientState::Sent, 0, {}});
  ASSERT_TRUE(index->Add(c, "r").ok());
  auto first = index->Accepted("c-1", 0, 7, now_ + 1);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(*first) << "one of two";
  ASSERT_TRUE(
      index->ApplyReport("c-1", "caf", RecipientState::Done, now_ + 2, "")
          .ok());
  auto last = index->Accepted("c-1", 1, 8, now_ + 3);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(*last) << "the case's last receipt";
  auto again = index->Accepted("c-1", 1, 8, now_ + 3);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again) << "again: once";
  EXPECT_FALSE(index->Accepted("c-1", 2, 9, now_).ok());
  EXPECT_FALSE(index->Accepted("c-9", 0, 9, now_).ok());
  auto r = index->Find("c-1");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->messages[0].sequence, 7u);
  EXPECT_EQ((*r)->messages[1].sequence, 8u);
  EXPECT_EQ((*r)->recipients[0].state, RecipientState::Done)
      << "the later receipt did not undo the report";
  EXPECT_EQ((*r)->history.size(), 3u);  // caf sent, caf done, cpam sent
}

// The count the live updates follow: up by one per change kept, not for
// a report that changes nothing; a waiter wakes on a change, or when the
// waits stop (for good).
TEST_F(CaseIndexTest, ChangesAreCountedAndWakeTheirWaiters) {
  auto index = OpenIndex();
  ASSERT_TRUE(index);
  EXPECT_EQ(index->changes(), 0u);
  ASSERT_TRUE(index->Add(Case("c-1", now_, "X"), "r").ok());
  EXPECT_EQ(index->changes(), 1u);
  ASSERT_TRUE(
      index->ApplyReport("c-1", "caf", RecipientState::Received, now_ + 5, "")
          .ok());
  EXPECT_EQ(index->changes(), 2u);
  ASSERT_TRUE(
      index->ApplyReport("c-1", "caf", RecipientState::Received, now_ + 5, "")
          .ok());
  EXPECT_EQ(index->changes(), 2u) << "the same report again changes nothing";
  // Already past: at once.
  EXPECT_EQ(index->WaitForChange(1, std::chrono::hours(1)), 2u);
  std::thread change([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(index->Remove("c-1").ok());
  });
  EXPECT_EQ(index->WaitForChange(2, std::chrono::hours(1)), 3u);
  change.join();
  std::thread wake([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    index->StopWaits();
  });
  EXPECT_EQ(index->WaitForChange(3, std::chrono::hours(1)), 3u);
  wake.join();
  // And from then on, at once.
  EXPECT_EQ(index->WaitForChange(3, std::chrono::hours(1)), 3u);
}

TEST_F(CaseIndexTest, ProgressSumsUpTheRecipients) {
  CaseRecord c = Case("c", now_, "X");
  EXPECT_EQ(ProgressOf(c), CaseProgress::kWaiting);
  c.recipients[0].state = RecipientState::Done;
  c.recipients[1].state = RecipientState::InProgress;
  EXPECT_EQ(ProgressOf(c), CaseProgress::kInProgress);
  c.recipients[1].state = RecipientState::Done;
  EXPECT_EQ(ProgressOf(c), CaseProgress::kDone);
  c.recipients[1].state = RecipientState::Undeliverable;
  EXPECT_EQ(ProgressOf(c), CaseProgress::kExpired);
  c.recipients[0].state = RecipientState::Rejected;
  EXPECT_EQ(ProgressOf(c), CaseProgress::kRejected);
}

TEST_F(CaseIndexTest, ListIsNewestFirstFilteredAndSearchedByName) {
  auto index = OpenIndex();
  ASSERT_TRUE(index);
  ASSERT_TRUE(
      index->Add(Case("old", now_ - 3 * kDay, "DUPONT Marie"), "1").ok());
  ASSERT_TRUE(
      index->Add(Case("mid", now_ - 2 * kDay, "Durand Éloïse"), "2").ok());
  ASSERT_TRUE(index->Add(Case("new", now_ - kDay, "Martin Paul"), "3").ok());
  for (const char* to : {"caf", "cpam"}) {
    ASSERT_TRUE(
        index->ApplyReport("mid", to, RecipientState::Done, now_, "").ok());
  }

  auto all = index->List({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Ids(*all), (std::vector<std::string>{"new", "mid", "old"}));

  CaseFilter done;
  done.progress = "done";
  EXPECT_EQ(Ids(*index->List(done)), (std::vector<std::string>{"mid"}));
  CaseFilter open;
  open.progress = "open";
  EXPECT_EQ(Ids(*index->List(open)), (std::vector<std::string>{"new", "old"}));

  CaseFilter search;
  search.query = "eloise du";  // accents and case ignored, word starts
  EXPECT_EQ(Ids(*index->List(search)), (std::vector<std::string>{"mid"}));
  search.query = "du";
  EXPECT_EQ(Ids(*index->List(search)),
            (std::vector<std::string>{"mid", "old"}));
  search.query = "ont";  // not the start of a word
  EXPECT_TRUE(index->List(search)->empty());
  search.query = "old";  // a case id
  EXPECT_EQ(Ids(*index->List(search)), (std::vector<std::string>{"old"}));

  CaseFilter two;
  two.limit = 2;
  EXPECT_EQ(Ids(*index->List(two)), (std::vector<std::string>{"new", "mid"}));

  CaseFilter bad;
  bad.progress = "closed";
  EXPECT_EQ(CheckFilter(bad).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(CheckFilter(open).ok());
}

TEST_F(CaseIndexTest, PruneForgetsOnlyCasesPastTheRetention) {
  auto index = OpenIndex();  // 30 days
  ASSERT_TRUE(index);
  ASSERT_TRUE(index->Add(Case("gone", now_ - 31 * kDay, "A"), "r-gone").ok());
  ASSERT_TRUE(index->Add(Case("kept", now_ - 29 * kDay, "B"), "r-kept").ok());
  auto pruned = index->Prune(now_);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 1u);
  EXPECT_EQ(Ids(*index->List({})), (std::vector<std::string>{"kept"}));
  EXPECT_FALSE(index->Find("gone")->has_value());
  EXPECT_FALSE(index->ByRequest("r-gone")->has_value());
  EXPECT_TRUE(index->ByRequest("r-kept")->has_value());
  EXPECT_EQ(*index->Prune(now_), 0u);
}

TEST_F(CaseIndexTest, ADamagedRecordIsCorruptionNotACrash) {
  EXPECT_EQ(RecordFromJson("{").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(RecordFromJson("{\"case_id\": 3}").status().code(),
            Status::Code::kCorruption);
  auto back = RecordFromJson(RecordToJson(Case("c", now_, "Zoé")));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->citizen, "Zoé");
}

}  // namespace
}  // namespace relais::console
