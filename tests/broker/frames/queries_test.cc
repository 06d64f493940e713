#include "broker/frames/queries.h"

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "broker/cases/case_book.h"
#include "core/crypto.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/text.h"
#include "tests/support/fixtures.h"

namespace relais::broker {
namespace {

using wire::AdminOp;
using wire::CaseType;
using wire::RejectCode;
using Names = std::vector<std::string>;
using Sequences = std::vector<uint64_t>;

// Keys are made at this fixed time: the test passes on any day.
constexpr int64_t kT0 = 1795392000000;
constexpr char kDesk[] = "france-services/paris-15";
constexpr char kCase[] = "c-20261123-9f2c41d07ab3";

// A journal in a folder of its own holding
//   - case kCase, opened by the desk's message to caf and cpam;
//   - cpam's registration of citizen one in the reference directory;
//   - dead letters: caf's of sequences 1 to 5, cpam's of 2 and 7; the
//     message of caf's 3 is in the journal, the others' are not;
// and a registry where the desk may send address changes to caf and cpam,
// caf subscribes to all address changes and cpam to known citizens only,
// and "ops" has the operator role.
class QueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTestDir();
    auto j =
        journal::Journal::Open(root_ + "/journal", journal::JournalOptions());
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);

    wire::CaseStateT state;
    const std::vector<std::string> to = {"caf", "cpam"};
    cases::AcceptedMessage m;
    m.message_id = std::string(16, 'm');
    m.case_id = kCase;
    m.sender = kDesk;
    m.subject_ref = citizen_one_;
    m.case_type = CaseType::AddressChange;
    m.recipients = &to;
    m.sequence = 1;
    m.at_ms = kT0;
    cases::ApplyAccepted(&state, m);
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::CaseState::Pack(fbb, &state), kCaseStateIdentifier);
    case_bytes_ = BufferBytes(fbb);

    EnvelopeDraft d = testing::SampleDraft(kDesk, {"caf", "cpam"});
    d.created_at_ms = kT0;
    d.expires_at_ms = kT0 + 3600 * 1000;
    auto sealed = SealEnvelope(d, desk_.signing);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    envelope_ = sealed->bytes;

    auto batch = journal_->NewBatch();
    batch->PutCase(kCase, case_bytes_);
    batch->PutSubject(citizen_one_, "cpam", kT0);
    for (uint64_t seq : {1, 2, 3, 4, 5}) {
      const std::string id = seq == 3 ? sealed->message_id : IdOf("caf", seq);
      batch->PutDead("caf", seq, DeadLetter("caf", seq, id));
    }
    batch->PutMessage(sealed->message_id, envelope_);
    for (uint64_t seq : {2, 7}) {
      batch->PutDead("cpam", seq, DeadLetter("cpam", seq, IdOf("cpam", seq)));
    }
    ASSERT_TRUE(journal_->Commit(batch.get()).ok());

    std::vector<ParticipantEntry> entries;
    for (const Identity* id : {&desk_, &caf_, &cpam_, &dgfip_, &ops_}) {
      ParticipantEntry e;
      e.identity = PublicOf(*id);
      entries.push_back(std::move(e));
    }
    entries[0].routes = {
        broker::Route{{"caf", "cpam"}, {CaseType::AddressChange}}};
    entries[1].subscriptions = {{CaseType::AddressChange, Subscription::kAll}};
    entries[2].subscriptions = {
        {CaseType::AddressChange, Subscription::kKnown}};
    entries[4].is_operator = true;
    auto r = Registry::Build(std::move(entries));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::make_unique<Registry>(std::move(*r));

    stats_.journal_batches = 11;
    stats_.journal_submits = 7;
    stats_.journal_syncs = 5;
    stats_.sessions = 3;
    queries_ =
        std::make_unique<Queries>(registry_.get(), journal_.get(), [this] {
          ++stats_calls_;
          return stats_;
        });
  }
  void TearDown() override {
    queries_.reset();
    journal_.reset();
    std::filesystem::remove_all(root_);
  }

  // A message id of 16 bytes for `recipient`'s dead letter `seq`.
  static std::string IdOf(const std::string& recipient, uint64_t seq) {
    return crypto::Sha256(recipient + std::to_string(seq)).substr(0, 16);
  }
  // A DeadLetter buffer as the journal keeps it.
  static std::string DeadLetter(const std::string& recipient, uint64_t seq,
                                const std::string& message_id) {
    wire::DeadLetterT t;
    t.recipient = recipient;
    t.sequence = seq;
    t.message_id.assign(message_id.begin(), message_id.end());
    t.case_id = kCase;
    t.sender = kDesk;
    t.case_type = CaseType::AddressChange;
    t.reason = wire::RecipientState::Undeliverable;
    t.attempts = 20;
    t.dead_at_ms = kT0;
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::DeadLetter::Pack(fbb, &t));
    return BufferBytes(fbb);
  }
  // The frame `bytes` parsed, kept alive with the test.
  const wire::Frame* Parsed(std::string bytes) {
    kept_.push_back(std::move(bytes));
    auto f = ParseFrame(kept_.back());
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? *f : nullptr;
  }
  Result<std::string> CaseStatus(std::string_view participant,
                                 std::string_view case_id) {
    return queries_->CaseStatus(
        participant, 31,
        *Parsed(CaseStatusQueryFrame(31, case_id))->body_as_CaseStatusQuery());
  }
  Result<std::string> Route(std::string_view participant, CaseType type,
                            std::string_view subject_ref) {
    return queries_->Route(
        participant, 32,
        *Parsed(RouteQueryFrame(32, type, subject_ref))->body_as_RouteQuery());
  }
  Result<std::variant<std::string, journal::OperatorRequest,
                      journal::BackupRequest>>
  Admin(std::string_view participant, AdminOp op, std::string_view recipient,
        uint64_t sequence = 0, uint32_t limit = 0) {
    return queries_->Admin(
        participant, {"routing-ops", 33},
        *Parsed(AdminRequestFrame(33, op, recipient, sequence, limit))
             ->body_as_AdminRequest());
  }
  // The AdminReply of a successful Admin; null (and a failure) otherwise.
  const wire::AdminReply* Reply(
      const Result<std::variant<std::string, journal::OperatorRequest,
                                journal::BackupRequest>>& r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    const auto* frame = std::get_if<std::string>(&*r);
    EXPECT_NE(frame, nullptr) << "an operator request, not a reply";
    if (frame == nullptr) return nullptr;
    const wire::Frame* f = Parsed(*frame);
    EXPECT_EQ(f->request_id(), 33u);
    EXPECT_EQ(f->body_type(), wire::Body::AdminReply);
    return f->body_as_AdminReply();
  }
  // The (recipient, sequence) of a reply's dead letters, as "caf:3".
  static Names Listed(const wire::AdminReply& reply) {
    Names out;
    if (reply.dead_letters() == nullptr) return out;
    for (const auto* d : *reply.dead_letters()) {
      out.push_back(std::string(StringView(d->recipient())) + ":" +
                    std::to_string(d->sequence()));
    }
    return out;
  }
  // A page of ListDeadLetters; `more` gets the reply's flag.
  Names Page(std::string_view recipient, uint64_t after, uint32_t limit,
             bool* more) {
    const wire::AdminReply* reply =
        Reply(Admin("ops", AdminOp::ListDeadLetters, recipient, after, limit));
    if (reply == nullptr) return {"<error>"};
    EXPECT_EQ(reply->op(), AdminOp::ListDeadLetters);
    *more = reply->more();
    return Listed(*reply);
  }

  Identity desk_ = testing::MakeIdentityAt(kDesk, kT0);
  Identity caf_ = testing::MakeIdentityAt("caf", kT0);
  Identity cpam_ = testing::MakeIdentityAt("cpam", kT0);
  Identity dgfip_ = testing::MakeIdentityAt("dgfip", kT0);
  Identity ops_ = testing::MakeIdentityAt("ops", kT0);
  const std::string citizen_one_ = crypto::Sha256("citizen one");
  std::string root_;
  std::string case_bytes_;
  std::string envelope_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Registry> registry_;
  wire::BrokerStatsT stats_;
  int stats_calls_ = 0;
  std::unique_ptr<Queries> queries_;
  std::deque<std::string> kept_;
};

// The case's originator and each recipient get its state as the journal
// holds it, under the query's request id.
TEST_F(QueriesTest, APartyGetsTheCaseState) {
  for (const char* party : {kDesk, "caf", "cpam"}) {
    auto r = CaseStatus(party, kCase);
    ASSERT_TRUE(r.ok()) << party << ": " << r.status().ToString();
    const wire::Frame* f = Parsed(*r);
    EXPECT_EQ(f->request_id(), 31u);
    ASSERT_EQ(f->body_type(), wire::Body::CaseStatusReply);
    const auto* reply = f->body_as_CaseStatusReply();
    EXPECT_EQ(StringView(reply->case_id()), kCase);
    EXPECT_EQ(VectorBytes(reply->state()), case_bytes_);
  }
}

// Anyone else, the operator included, is told UnknownCase, exactly as
// for a case that does not exist: the answer does not say which it is.
TEST_F(QueriesTest, ANonPartyCannotTellTheCaseExists) {
  const std::string missing = "c-20261123-000000000000";
  for (const char* outsider : {"dgfip", "ops", "ca"}) {
    auto existing = CaseStatus(outsider, kCase);
    auto absent = CaseStatus(outsider, missing);
    ASSERT_FALSE(existing.ok());
    ASSERT_FALSE(absent.ok());
    EXPECT_EQ(existing.status().reject_code(), RejectCode::UnknownCase);
    EXPECT_EQ(absent.status().reject_code(), RejectCode::UnknownCase);
    // The same words, and neither repeats the id asked for (the refusal
    // is logged, and a participant may ask for anything, a NIR included).
    EXPECT_EQ(existing.status().message(), absent.status().message());
    EXPECT_EQ(existing.status().message().find(kCase), std::string::npos);
    EXPECT_EQ(absent.status().message().find(missing), std::string::npos);
  }
  auto r = CaseStatus("caf", missing);
  EXPECT_EQ(r.status().reject_code(), RejectCode::UnknownCase);
}

// A case id that is not one is MalformedFrame, its bytes not repeated.
TEST_F(QueriesTest, AMalformedCaseIdIsRefused) {
  for (const std::string& bad :
       {std::string(), std::string("has space"), std::string(65, 'c'),
        std::string("c-1\x1b[2J"), std::string("c-1\nforged"),
        std::string("c/1")}) {
    auto r = CaseStatus(kDesk, bad);
    ASSERT_FALSE(r.ok()) << Escaped(bad);
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame)
        << Escaped(bad);
    EXPECT_TRUE(IsCleanText(r.status().message()));
    if (!bad.empty()) {
      EXPECT_EQ(r.status().message().find(bad), std::string::npos);
    }
  }
}

// The route by subscription: subscribers to all, and holders of the
// citizen among those subscribed to known citizens, sorted.
TEST_F(QueriesTest, RouteAnswersTheSubscribers) {
  auto names = [&](const Result<std::string>& r) {
    Names out;
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return Names{"<error>"};
    const wire::Frame* f = Parsed(*r);
    EXPECT_EQ(f->request_id(), 32u);
    EXPECT_EQ(f->body_type(), wire::Body::RouteReply);
    const auto* rr = f->body_as_RouteReply();
    if (rr->recipients() != nullptr) {
      for (const auto* s : *rr->recipients()) out.emplace_back(StringView(s));
    }
    return out;
  };
  EXPECT_EQ(names(Route(kDesk, CaseType::AddressChange, "")), Names{"caf"});
  EXPECT_EQ(names(Route(kDesk, CaseType::AddressChange, citizen_one_)),
            (Names{"caf", "cpam"}));
  EXPECT_EQ(names(Route(kDesk, CaseType::Birth, citizen_one_)), Names{});
  // caf has no route: nobody.
  EXPECT_EQ(names(Route("caf", CaseType::AddressChange, citizen_one_)),
            Names{});
}

// A case type outside 1 to 8, or a reference that is neither absent nor 32
// bytes, is MalformedFrame.
TEST_F(QueriesTest, AMalformedRouteQueryIsRefused) {
  for (int type : {0, 9, 200}) {
    auto r = Route(kDesk, static_cast<CaseType>(type), citizen_one_);
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame) << type;
  }
  for (size_t size : {1, 31, 33, 64}) {
    auto r = Route(kDesk, CaseType::AddressChange, std::string(size, 'r'));
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame) << size;
  }
  EXPECT_TRUE(Route(kDesk, CaseType::AssistedCase, "").ok());
}

// Without the operator role every admin op is NotAuthorised, checked
// before anything else (a malformed recipient, an unknown op); the stats
// are not even gathered.
TEST_F(QueriesTest, AdminNeedsTheOperatorRole) {
  for (const char* who : {kDesk, "caf", "unregistered"}) {
    for (AdminOp op : {AdminOp::ListDeadLetters, AdminOp::ShowDeadLetter,
                       AdminOp::ReplayDeadLetter, AdminOp::DropDeadLetter,
                       AdminOp::Stats, AdminOp::Unknown}) {
      auto r = Admin(who, op, "caf", 3);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().reject_code(), RejectCode::NotAuthorised)
          << who << " " << static_cast<int>(op);
    }
    auto r = Admin(who, AdminOp::ListDeadLetters, "Not An Id");
    EXPECT_EQ(r.status().reject_code(), RejectCode::NotAuthorised);
  }
  EXPECT_EQ(stats_calls_, 0);
}

// An operator's request with a recipient that is not a participant id, or
// an unknown op, is MalformedFrame.
TEST_F(QueriesTest, AMalformedAdminRequestIsRefused) {
  for (AdminOp op : {AdminOp::ListDeadLetters, AdminOp::ShowDeadLetter,
                     AdminOp::ReplayDeadLetter, AdminOp::DropDeadLetter}) {
    auto r = Admin("ops", op, "Not An Id", 3);
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame);
    r = Admin("ops", op, "caf\x1b[2J", 3);
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame);
    EXPECT_EQ(r.status().message().find('\x1b'), std::string::npos);
  }
  for (int op : {0, 8, 255}) {
    auto r = Admin("ops", static_cast<AdminOp>(op), "caf", 3);
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame) << op;
  }
}

// One recipient's dead letters page by page: each page starts after the
// sequence asked, holds at most `limit`, and says whether more follow.
TEST_F(QueriesTest, DeadLettersArePaged) {
  bool more = false;
  EXPECT_EQ(Page("caf", 0, 2, &more), (Names{"caf:1", "caf:2"}));
  EXPECT_TRUE(more);
  EXPECT_EQ(Page("caf", 2, 2, &more), (Names{"caf:3", "caf:4"}));
  EXPECT_TRUE(more);
  EXPECT_EQ(Page("caf", 4, 2, &more), (Names{"caf:5"}));
  EXPECT_FALSE(more);
  EXPECT_EQ(Page("caf", 5, 2, &more), Names{});
  EXPECT_FALSE(more);
  // A page exactly as long as what is left has no more after it.
  EXPECT_EQ(Page("caf", 0, 5, &more).size(), 5u);
  EXPECT_FALSE(more);
  EXPECT_EQ(Page("caf", 0, 4, &more).size(), 4u);
  EXPECT_TRUE(more);
  // Limit 0 means 100.
  EXPECT_EQ(Page("caf", 0, 0, &more).size(), 5u);
  EXPECT_FALSE(more);
  // Another recipient's, and one who has none.
  EXPECT_EQ(Page("cpam", 2, 10, &more), (Names{"cpam:7"}));
  EXPECT_FALSE(more);
  EXPECT_EQ(Page("dgfip", 0, 10, &more), Names{});
  // Without a recipient, everyone's from the first, in (recipient,
  // sequence) order.
  EXPECT_EQ(Page("", 0, 0, &more), (Names{"caf:1", "caf:2", "caf:3", "caf:4",
                                          "caf:5", "cpam:2", "cpam:7"}));
  EXPECT_FALSE(more);
  EXPECT_EQ(Page("", 0, 6, &more).size(), 6u);
  EXPECT_TRUE(more);
}

// "Start after this sequence": after the largest there is nothing. Disabled:
// Journal::ListDead starts at `after_sequence + 1`, which wraps to 0, so
// the whole list comes back (broker/journal/journal.cc, ListDead).
TEST_F(QueriesTest, NothingFollowsTheLargestSequence) {
  bool more = true;
  EXPECT_EQ(Page("caf", UINT64_MAX, 10, &more), Names{});
  EXPECT_FALSE(more);
}

// A limit above 1000 gives 1000 at most.
TEST_F(QueriesTest, APageHoldsAtMostAThousand) {
  auto batch = journal_->NewBatch();
  for (uint64_t seq = 1; seq <= 1001; ++seq) {
    batch->PutDead("dgfip", seq, DeadLetter("dgfip", seq, IdOf("dgfip", seq)));
  }
  ASSERT_TRUE(journal_->Commit(batch.get()).ok());
  bool more = false;
  const Names page = Page("dgfip", 0, 5000, &more);
  ASSERT_EQ(page.size(), 1000u);
  EXPECT_EQ(page.back(), "dgfip:1000");
  EXPECT_TRUE(more);
}

// One dead letter with its envelope; without the message in the journal,
// the dead letter alone.
TEST_F(QueriesTest, ShowDeadLetterGivesItAndItsEnvelope) {
  const wire::AdminReply* reply =
      Reply(Admin("ops", AdminOp::ShowDeadLetter, "caf", 3));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->op(), AdminOp::ShowDeadLetter);
  EXPECT_EQ(Listed(*reply), Names{"caf:3"});
  EXPECT_EQ(VectorBytes(reply->envelope()), envelope_);
  EXPECT_EQ(reply->dead_letters()->Get(0)->attempts(), 20u);

  reply = Reply(Admin("ops", AdminOp::ShowDeadLetter, "caf", 4));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(Listed(*reply), Names{"caf:4"});
  EXPECT_TRUE(VectorBytes(reply->envelope()).empty());
}

// A dead letter that does not exist is UnknownDelivery: another sequence,
// another recipient's sequence, or no recipient.
TEST_F(QueriesTest, ShowingAMissingDeadLetterIsUnknownDelivery) {
  for (const auto& [recipient, seq] :
       std::vector<std::pair<std::string, uint64_t>>{
           {"caf", 6}, {"cpam", 3}, {"dgfip", 1}, {"", 1}}) {
    auto r = Admin("ops", AdminOp::ShowDeadLetter, recipient, seq);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().reject_code(), RejectCode::UnknownDelivery)
        << recipient << ":" << seq;
  }
}

// Replay and drop are not answered here: they become the writer's
// request, with the operator, the dead letter and the reply address.
TEST_F(QueriesTest, ReplayAndDropBecomeOperatorRequests) {
  for (AdminOp op : {AdminOp::ReplayDeadLetter, AdminOp::DropDeadLetter}) {
    auto r = Admin("ops", op, "cpam", 7);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const auto* req = std::get_if<journal::OperatorRequest>(&*r);
    ASSERT_NE(req, nullptr);
    EXPECT_EQ(req->replay, op == AdminOp::ReplayDeadLetter);
    EXPECT_EQ(req->operator_id, "ops");
    EXPECT_EQ(req->recipient, "cpam");
    EXPECT_EQ(req->sequence, 7u);
    EXPECT_EQ(req->reply.routing_id, "routing-ops");
    EXPECT_EQ(req->reply.request_id, 33u);
  }
}

// Stats asks the callback, once per request, and answers its counters.
TEST_F(QueriesTest, StatsAsksTheCallback) {
  const wire::AdminReply* reply = Reply(Admin("ops", AdminOp::Stats, ""));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(stats_calls_, 1);
  EXPECT_EQ(reply->op(), AdminOp::Stats);
  ASSERT_NE(reply->stats(), nullptr);
  EXPECT_EQ(reply->stats()->journal_batches(), 11u);
  EXPECT_EQ(reply->stats()->journal_submits(), 7u);
  EXPECT_EQ(reply->stats()->journal_syncs(), 5u);
  EXPECT_EQ(reply->stats()->sessions(), 3u);
  stats_.journal_batches = 12;
  reply = Reply(Admin("ops", AdminOp::Stats, ""));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(stats_calls_, 2);
  EXPECT_EQ(reply->stats()->journal_batches(), 12u);
}

}  // namespace
}  // namespace relais::broker
