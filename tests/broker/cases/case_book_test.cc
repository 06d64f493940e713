#include "broker/cases/case_book.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/flatbuf.h"
#include "core/frame.h"

namespace relais::broker::cases {
namespace {

using wire::AckOutcome;
using wire::RecipientState;
using wire::TraceEvent;

constexpr int64_t kT0 = 1795392000000;
constexpr char kDesk[] = "france-services/paris-15";

std::string Str(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

// A case opened by the desk's message m1 (sequence 1) to caf and cpam.
class CaseBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Accept("m1", kDesk, to_caf_cpam_, 1, kT0, wire::CaseType::AddressChange);
  }
  void Accept(std::string_view id, std::string_view sender,
              const std::vector<std::string>& to, uint64_t sequence,
              int64_t at_ms, wire::CaseType type) {
    AcceptedMessage m;
    m.message_id = id;
    m.case_id = "case-1";
    m.sender = sender;
    m.subject_ref = subject_;
    m.case_type = type;
    m.recipients = &to;
    m.sequence = sequence;
    m.at_ms = at_ms;
    ApplyAccepted(&state_, m);
  }
  const wire::RecipientStatusT& Of(std::string_view recipient) {
    const wire::RecipientStatusT* r = FindRecipient(&state_, recipient);
    EXPECT_NE(r, nullptr) << recipient;
    static const wire::RecipientStatusT kNone;
    return r == nullptr ? kNone : *r;
  }
  const wire::TrailEntryT& Last() { return *state_.trail.back(); }

  const std::string subject_ = std::string(32, '\x2a');
  const std::vector<std::string> to_caf_cpam_ = {"caf", "cpam"};
  wire::CaseStateT state_;
};

// The first accept opens the case: its originator, type, subject and
// opening time, every recipient Sent with that message, one trail entry.
TEST_F(CaseBookTest, FirstAcceptOpensTheCase) {
  EXPECT_EQ(state_.case_id, "case-1");
  EXPECT_EQ(state_.case_type, wire::CaseType::AddressChange);
  EXPECT_EQ(state_.originator, kDesk);
  EXPECT_EQ(state_.opened_at_ms, kT0);
  EXPECT_EQ(Str(state_.subject_ref), subject_);
  ASSERT_EQ(state_.recipients.size(), 2u);
  for (const std::string name : {"caf", "cpam"}) {
    EXPECT_EQ(Of(name).state, RecipientState::Sent) << name;
    EXPECT_EQ(Str(Of(name).message_id), "m1") << name;
    EXPECT_EQ(Of(name).updated_at_ms, kT0) << name;
  }
  ASSERT_EQ(state_.trail.size(), 1u);
  EXPECT_EQ(Last().event, TraceEvent::Accepted);
  EXPECT_EQ(Last().party, kDesk);
  EXPECT_EQ(Str(Last().message_id), "m1");
  EXPECT_EQ(Last().sequence, 1u);
}

// The acceptance time of a message, from its Accepted trail entry.
TEST_F(CaseBookTest, AcceptedAtComesFromTheTrail) {
  Accept("m2", kDesk, to_caf_cpam_, 7, kT0 + 5000,
         wire::CaseType::AddressChange);
  ApplyAck(&state_, "caf", "m2", 7, AckOutcome::Processed, "", kT0 + 9000);
  EXPECT_EQ(AcceptedAtMs(state_, 1), kT0);
  EXPECT_EQ(AcceptedAtMs(state_, 7), kT0 + 5000);  // not the ack's entry
  EXPECT_EQ(AcceptedAtMs(state_, 3), 0);           // no such message
}

// A follow-up by a recipient neither reopens nor retypes the case: it adds
// its new recipients and resends (Sent, reason cleared) to the others.
TEST_F(CaseBookTest, FollowUpsKeepTheOriginatorAndAddRecipients) {
  ApplyAck(&state_, "cpam", "m1", 1, AckOutcome::Rejected, "no file", kT0 + 1);
  Accept("m2", "caf", {"cpam", "dgfip"}, 2, kT0 + 5, wire::CaseType::Birth);
  EXPECT_EQ(state_.originator, kDesk);
  EXPECT_EQ(state_.case_type, wire::CaseType::AddressChange);
  EXPECT_EQ(state_.opened_at_ms, kT0);
  ASSERT_EQ(state_.recipients.size(), 3u);
  EXPECT_EQ(Str(Of("caf").message_id), "m1");  // not named by m2
  EXPECT_EQ(Of("cpam").state, RecipientState::Sent);
  EXPECT_EQ(Of("cpam").reason, "");
  EXPECT_EQ(Str(Of("cpam").message_id), "m2");
  EXPECT_EQ(Of("dgfip").state, RecipientState::Sent);
  EXPECT_EQ(Last().party, "caf");
  EXPECT_EQ(Last().sequence, 2u);
}

// The originator and recipients are parties, in both the object and the
// packed form; anyone else (even a prefix of a party's id) is not.
TEST_F(CaseBookTest, PartiesAreTheOriginatorAndTheRecipients) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CaseState::Pack(fbb, &state_), kCaseStateIdentifier);
  const std::string bytes = BufferBytes(fbb);
  const wire::CaseState* packed = ParseCaseState(bytes);
  ASSERT_NE(packed, nullptr);
  for (const std::string who : {kDesk, "caf", "cpam"}) {
    EXPECT_TRUE(IsPartyTo(state_, who)) << who;
    EXPECT_TRUE(IsPartyTo(*packed, who)) << who;
  }
  for (const std::string who : {"dgfip", "ca", "relais"}) {
    EXPECT_FALSE(IsPartyTo(state_, who)) << who;
    EXPECT_FALSE(IsPartyTo(*packed, who)) << who;
  }
}

// Processed delivers (no reason kept); Rejected keeps the reason. Each ack
// adds a trail entry naming the recipient.
TEST_F(CaseBookTest, AcksDeliverOrReject) {
  ApplyAck(&state_, "caf", "m1", 1, AckOutcome::Processed, "ignored", kT0 + 1);
  EXPECT_EQ(Of("caf").state, RecipientState::Delivered);
  EXPECT_EQ(Of("caf").reason, "");
  EXPECT_EQ(Of("caf").updated_at_ms, kT0 + 1);
  EXPECT_EQ(Last().event, TraceEvent::Delivered);
  EXPECT_EQ(Last().party, "caf");
  ApplyAck(&state_, "cpam", "m1", 1, AckOutcome::Rejected, "no file", kT0 + 2);
  EXPECT_EQ(Of("cpam").state, RecipientState::Rejected);
  EXPECT_EQ(Of("cpam").reason, "no file");
  EXPECT_EQ(Last().event, TraceEvent::Rejected);
  EXPECT_EQ(Last().detail, "no file");
  EXPECT_EQ(state_.trail.size(), 3u);
}

// An ack of a message that is no longer the recipient's latest is only
// recorded in the trail; so is one from a participant outside the case.
TEST_F(CaseBookTest, AnAckOfAnOlderMessageOnlyAddsToTheTrail) {
  Accept("m2", kDesk, {"cpam"}, 2, kT0 + 5, wire::CaseType::AddressChange);
  ApplyAck(&state_, "cpam", "m1", 1, AckOutcome::Rejected, "late", kT0 + 6);
  EXPECT_EQ(Of("cpam").state, RecipientState::Sent);
  EXPECT_EQ(Str(Of("cpam").message_id), "m2");
  EXPECT_EQ(Of("cpam").updated_at_ms, kT0 + 5);
  ASSERT_EQ(state_.trail.size(), 3u);
  EXPECT_EQ(Last().event, TraceEvent::Rejected);
  EXPECT_EQ(Str(Last().message_id), "m1");
  EXPECT_EQ(Last().sequence, 1u);
  ApplyAck(&state_, "dgfip", "m1", 1, AckOutcome::Processed, "", kT0 + 7);
  EXPECT_EQ(FindRecipient(&state_, "dgfip"), nullptr);
  EXPECT_EQ(state_.trail.size(), 4u);
}

// A dead letter sets Expired or Undeliverable with its detail; the trail
// says Expired or DeadLettered.
TEST_F(CaseBookTest, DeadLettersExpireOrBecomeUndeliverable) {
  ApplyDeadLetter(&state_, "caf", "m1", 1, RecipientState::Expired, "too late",
                  kT0 + 1);
  EXPECT_EQ(Of("caf").state, RecipientState::Expired);
  EXPECT_EQ(Of("caf").reason, "too late");
  EXPECT_EQ(Last().event, TraceEvent::Expired);
  ApplyDeadLetter(&state_, "cpam", "m1", 1, RecipientState::Undeliverable,
                  "20 attempts", kT0 + 2);
  EXPECT_EQ(Of("cpam").state, RecipientState::Undeliverable);
  EXPECT_EQ(Of("cpam").reason, "20 attempts");
  EXPECT_EQ(Last().event, TraceEvent::DeadLettered);
  EXPECT_EQ(Last().detail, "20 attempts");
}

// A replay puts the recipient back to Sent (reason cleared); a drop leaves
// the dead letter's status. Both are in the trail with the operator.
TEST_F(CaseBookTest, OperatorsReplayOrDropDeadLetters) {
  ApplyDeadLetter(&state_, "caf", "m1", 1, RecipientState::Expired, "late",
                  kT0 + 1);
  ApplyDeadLetter(&state_, "cpam", "m1", 1, RecipientState::Undeliverable,
                  "20 attempts", kT0 + 1);
  ApplyOperatorAction(&state_, "caf", "m1", 1, true, "operator", kT0 + 2);
  EXPECT_EQ(Of("caf").state, RecipientState::Sent);
  EXPECT_EQ(Of("caf").reason, "");
  EXPECT_EQ(Of("caf").updated_at_ms, kT0 + 2);
  EXPECT_EQ(Last().event, TraceEvent::Replayed);
  EXPECT_EQ(Last().detail, "operator");
  ApplyOperatorAction(&state_, "cpam", "m1", 1, false, "operator", kT0 + 3);
  EXPECT_EQ(Of("cpam").state, RecipientState::Undeliverable);
  EXPECT_EQ(Of("cpam").reason, "20 attempts");
  EXPECT_EQ(Last().event, TraceEvent::Purged);
  EXPECT_EQ(Last().party, "cpam");
}

// Received < InProgress < Done, forward only, from Delivered on; Rejected
// from Delivered, Received or InProgress; nothing else, every pair tried.
TEST(PartnerStatusTest, FollowsOnlyForwardFromDelivered) {
  using S = RecipientState;
  const std::set<std::pair<S, S>> allowed = {
      {S::Delivered, S::Received},  {S::Delivered, S::InProgress},
      {S::Delivered, S::Done},      {S::Delivered, S::Rejected},
      {S::Received, S::InProgress}, {S::Received, S::Done},
      {S::Received, S::Rejected},   {S::InProgress, S::Done},
      {S::InProgress, S::Rejected}};
  for (int f = 0; f <= static_cast<int>(S::MAX); ++f) {
    for (int t = 0; t <= static_cast<int>(S::MAX); ++t) {
      const S from = static_cast<S>(f), to = static_cast<S>(t);
      EXPECT_EQ(PartnerStatusFollows(from, to), allowed.count({from, to}) > 0)
          << wire::EnumNameRecipientState(from) << " -> "
          << wire::EnumNameRecipientState(to);
    }
  }
  EXPECT_EQ(PartnerTraceEvent(S::Received), TraceEvent::Received);
  EXPECT_EQ(PartnerTraceEvent(S::InProgress), TraceEvent::InProgress);
  EXPECT_EQ(PartnerTraceEvent(S::Done), TraceEvent::Done);
  EXPECT_EQ(PartnerTraceEvent(S::Rejected), TraceEvent::Rejected);
}

// A partner's status moves the recipient (with its reason) for its latest
// message only, and is in the trail either way.
TEST_F(CaseBookTest, PartnerStatusMovesTheLatestMessageOnly) {
  ApplyAck(&state_, "caf", "m1", 1, AckOutcome::Processed, "", kT0 + 1);
  ApplyPartnerStatus(&state_, "caf", "m1", 1, RecipientState::InProgress,
                     "opened", kT0 + 2);
  EXPECT_EQ(Of("caf").state, RecipientState::InProgress);
  EXPECT_EQ(Of("caf").reason, "opened");
  EXPECT_EQ(Last().event, TraceEvent::InProgress);
  EXPECT_EQ(Last().detail, "opened");
  Accept("m2", kDesk, {"caf"}, 2, kT0 + 3, wire::CaseType::AddressChange);
  const size_t before = state_.trail.size();
  ApplyPartnerStatus(&state_, "caf", "m1", 1, RecipientState::Done, "",
                     kT0 + 4);
  EXPECT_EQ(Of("caf").state, RecipientState::Sent);
  EXPECT_EQ(state_.trail.size(), before + 1);
  EXPECT_EQ(Last().event, TraceEvent::Done);
}

// Past kMaxTrailEntries the oldest entries but the first are dropped: the
// trail keeps the case's opening and the latest entries, in order.
TEST_F(CaseBookTest, TrailKeepsTheFirstEntryAndTheLatest) {
  constexpr uint64_t kAcks = kMaxTrailEntries + 88;
  for (uint64_t i = 1; i <= kAcks; ++i) {
    ApplyAck(&state_, "caf", "m1", 100 + i, AckOutcome::Processed, "",
             kT0 + static_cast<int64_t>(i));
  }
  ASSERT_EQ(state_.trail.size(), kMaxTrailEntries);
  EXPECT_EQ(state_.trail.front()->event, TraceEvent::Accepted);
  EXPECT_EQ(state_.trail.front()->sequence, 1u);
  // The latest kMaxTrailEntries - 1 acks: the 90th to the 600th.
  EXPECT_EQ(state_.trail[1]->sequence, 100 + kAcks - kMaxTrailEntries + 2);
  EXPECT_EQ(Last().sequence, 100 + kAcks);
  for (size_t i = 2; i < state_.trail.size(); ++i) {
    EXPECT_EQ(state_.trail[i]->sequence, state_.trail[i - 1]->sequence + 1);
  }
}

}  // namespace
}  // namespace relais::broker::cases
