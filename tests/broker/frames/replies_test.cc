#include "broker/frames/replies.h"

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/flatbuf.h"
#include "core/frame.h"

namespace relais::broker {
namespace {

using journal::CommitReport;
using journal::OperatorOutcome;
using journal::ReplyTo;
using journal::StatusOutcome;
using journal::SubjectOutcome;
using journal::SubmitOutcome;
using wire::RejectCode;

constexpr int64_t kT0 = 1795392000000;
constexpr char kMessageId[] = "0123456789abcdef";  // 16 bytes

SubmitOutcome Submit(ReplyTo to, Status status, uint64_t sequence = 0,
                     bool duplicate = false) {
  SubmitOutcome s;
  s.reply = std::move(to);
  s.message_id = kMessageId;
  s.status = std::move(status);
  s.sequence = sequence;
  s.accepted_at_ms = kT0;
  s.duplicate = duplicate;
  return s;
}

// A DeadLetter buffer as the journal keeps it.
std::string DeadLetter(const std::string& recipient, uint64_t sequence) {
  wire::DeadLetterT t;
  t.recipient = recipient;
  t.sequence = sequence;
  t.message_id.assign(kMessageId, kMessageId + 16);
  t.reason = wire::RecipientState::Expired;
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::DeadLetter::Pack(fbb, &t));
  return BufferBytes(fbb);
}

// The frame of `o`, which must parse (it points into `o`).
const wire::Frame* Parse(const Outgoing& o) {
  auto f = ParseFrame(o.frame);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? *f : nullptr;
}

// The Rejected body of `o`; null (and a failure) if it is something else.
const wire::Rejected* RejectedOf(const Outgoing& o) {
  const wire::Frame* f = Parse(o);
  if (f == nullptr) return nullptr;
  EXPECT_EQ(f->body_type(), wire::Body::Rejected);
  return f->body_as_Rejected();
}

// One frame per outcome, submits first, then operator actions, partner
// statuses and subject registrations, each to the connection and with the
// request id that asked; the rest of the report makes no frame.
TEST(RepliesTest, OneFramePerOutcomeInOrderToWhoAsked) {
  CommitReport report;
  report.subject_outcomes.push_back({{"cpam", 6}, 1, 1, Status::OK()});
  report.status_outcomes.push_back(
      {{"caf", 5}, kMessageId, wire::RecipientState::Done, true, kT0, {}});
  report.operator_outcomes.push_back(
      {{"op", 4}, true, Status::OK(), DeadLetter("caf", 7)});
  report.submits.push_back(Submit({"desk-1", 1}, Status::OK(), 9));
  report.submits.push_back(
      Submit({"desk-2", 2}, Status::Rejected(RejectCode::NotAuthorised, "no")));
  report.recipients = {"caf", "cpam"};
  report.acks = 3;
  report.dead_letters = {{"caf", 8}};
  report.replayed = {{"caf", 7}};

  const std::vector<Outgoing> frames = ReplyFrames(report);
  const std::vector<std::string> routing = {"desk-1", "desk-2", "op", "caf",
                                            "cpam"};
  const std::vector<uint64_t> request_ids = {1, 2, 4, 5, 6};
  const std::vector<wire::Body> bodies = {
      wire::Body::Accepted, wire::Body::Rejected, wire::Body::AdminReply,
      wire::Body::StatusRecorded, wire::Body::SubjectsRegistered};
  ASSERT_EQ(frames.size(), routing.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].routing_id, routing[i]) << i;
    const wire::Frame* f = Parse(frames[i]);
    ASSERT_NE(f, nullptr) << i;
    EXPECT_EQ(f->request_id(), request_ids[i]) << i;
    EXPECT_EQ(f->body_type(), bodies[i]) << i;
  }
  EXPECT_TRUE(ReplyFrames(CommitReport{}).empty());
}

// An accepted submit is answered with its receipt: message id, sequence,
// time and whether it was a duplicate.
TEST(RepliesTest, AcceptedSubmitsCarryTheirReceipt) {
  CommitReport report;
  report.submits.push_back(Submit({"desk", 1}, Status::OK(), 42, true));
  report.submits.push_back(Submit({"desk", 2}, Status::OK(), 43, false));
  const std::vector<Outgoing> frames = ReplyFrames(report);
  ASSERT_EQ(frames.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const wire::Frame* f = Parse(frames[i]);
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(f->body_type(), wire::Body::Accepted);
    const wire::Accepted* a = f->body_as_Accepted();
    EXPECT_EQ(VectorBytes(a->message_id()), kMessageId);
    EXPECT_EQ(a->sequence(), 42 + i);
    EXPECT_EQ(a->accepted_at_ms(), kT0);
    EXPECT_EQ(a->duplicate(), i == 0);
  }
}

// A refused submit keeps its own code; a journal error (any status that is
// not a refusal) becomes JournalUnavailable. Both name the message.
TEST(RepliesTest, RefusedSubmitsKeepTheirCodeJournalErrorsAreUnavailable) {
  CommitReport report;
  report.submits.push_back(Submit(
      {"desk", 1}, Status::Rejected(RejectCode::DuplicateConflict, "differs")));
  report.submits.push_back(Submit({"desk", 2}, Status::IOError("sync failed")));
  report.submits.push_back(Submit({"desk", 3}, Status::NoSpace("disk full")));
  const std::vector<Outgoing> frames = ReplyFrames(report);
  ASSERT_EQ(frames.size(), 3u);
  const std::vector<RejectCode> codes = {RejectCode::DuplicateConflict,
                                         RejectCode::JournalUnavailable,
                                         RejectCode::JournalUnavailable};
  for (size_t i = 0; i < 3; ++i) {
    const wire::Rejected* r = RejectedOf(frames[i]);
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(r->code(), codes[i]) << i;
    EXPECT_EQ(VectorBytes(r->message_id()), kMessageId) << i;
  }
  EXPECT_EQ(StringView(RejectedOf(frames[0])->reason()), "differs");
}

// A replay or drop answers with the dead letter concerned; no such dead
// letter (NotFound) is UnknownDelivery, a journal error JournalUnavailable.
TEST(RepliesTest, OperatorActionsAnswerWithTheDeadLetter) {
  CommitReport report;
  report.operator_outcomes.push_back(
      {{"op", 1}, true, Status::OK(), DeadLetter("caf", 7)});
  report.operator_outcomes.push_back(
      {{"op", 2}, false, Status::OK(), DeadLetter("cpam", 8)});
  report.operator_outcomes.push_back(
      {{"op", 3}, true, Status::NotFound("no dead letter caf/9"), ""});
  report.operator_outcomes.push_back(
      {{"op", 4}, false, Status::IOError("read failed"), ""});
  const std::vector<Outgoing> frames = ReplyFrames(report);
  ASSERT_EQ(frames.size(), 4u);
  const std::vector<wire::AdminOp> ops = {wire::AdminOp::ReplayDeadLetter,
                                          wire::AdminOp::DropDeadLetter};
  const std::vector<std::string> recipients = {"caf", "cpam"};
  for (size_t i = 0; i < 2; ++i) {
    const wire::Frame* f = Parse(frames[i]);
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(f->body_type(), wire::Body::AdminReply);
    const wire::AdminReply* a = f->body_as_AdminReply();
    EXPECT_EQ(a->op(), ops[i]);
    ASSERT_NE(a->dead_letters(), nullptr);
    ASSERT_EQ(a->dead_letters()->size(), 1u);
    EXPECT_EQ(StringView(a->dead_letters()->Get(0)->recipient()),
              recipients[i]);
    EXPECT_EQ(a->dead_letters()->Get(0)->sequence(), 7 + i);
  }
  const wire::Rejected* unknown = RejectedOf(frames[2]);
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(unknown->code(), RejectCode::UnknownDelivery);
  EXPECT_EQ(StringView(unknown->reason()), "no dead letter caf/9");
  const wire::Rejected* failed = RejectedOf(frames[3]);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->code(), RejectCode::JournalUnavailable);
}

// A partner status is recorded (or refused with its code, naming the
// message); a subject registration is counted (or JournalUnavailable).
TEST(RepliesTest, StatusesAndSubjectRegistrations) {
  CommitReport report;
  report.status_outcomes.push_back({{"caf", 1},
                                    kMessageId,
                                    wire::RecipientState::InProgress,
                                    true,
                                    kT0 + 5,
                                    Status::OK()});
  report.status_outcomes.push_back(
      {{"caf", 2},
       kMessageId,
       wire::RecipientState::Received,
       false,
       0,
       Status::Rejected(RejectCode::StatusNotAllowed, "Done cannot go back")});
  report.subject_outcomes.push_back({{"cpam", 3}, 2, 3, Status::OK()});
  report.subject_outcomes.push_back(
      {{"cpam", 4}, 0, 3, Status::IOError("write failed")});
  const std::vector<Outgoing> frames = ReplyFrames(report);
  ASSERT_EQ(frames.size(), 4u);

  const wire::Frame* recorded = Parse(frames[0]);
  ASSERT_NE(recorded, nullptr);
  ASSERT_EQ(recorded->body_type(), wire::Body::StatusRecorded);
  const wire::StatusRecorded* s = recorded->body_as_StatusRecorded();
  EXPECT_EQ(VectorBytes(s->message_id()), kMessageId);
  EXPECT_EQ(s->state(), wire::RecipientState::InProgress);
  EXPECT_TRUE(s->changed());
  EXPECT_EQ(s->recorded_at_ms(), kT0 + 5);
  const wire::Rejected* refused = RejectedOf(frames[1]);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->code(), RejectCode::StatusNotAllowed);
  EXPECT_EQ(VectorBytes(refused->message_id()), kMessageId);

  const wire::Frame* registered = Parse(frames[2]);
  ASSERT_NE(registered, nullptr);
  ASSERT_EQ(registered->body_type(), wire::Body::SubjectsRegistered);
  EXPECT_EQ(registered->body_as_SubjectsRegistered()->changed(), 2u);
  EXPECT_EQ(registered->body_as_SubjectsRegistered()->count(), 3u);
  const wire::Rejected* failed = RejectedOf(frames[3]);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->code(), RejectCode::JournalUnavailable);
  EXPECT_TRUE(VectorBytes(failed->message_id()).empty());
}

// RejectionTo on its own: the refusal's code and reason, to `to`, and no
// message id unless one is given.
TEST(RepliesTest, RejectionToAddressesTheRefusal) {
  const Outgoing o = RejectionTo(
      {"desk", 77}, Status::Rejected(RejectCode::NotAuthorised, "not yours"));
  EXPECT_EQ(o.routing_id, "desk");
  ASSERT_NE(Parse(o), nullptr);
  EXPECT_EQ(Parse(o)->request_id(), 77u);
  const wire::Rejected* r = RejectedOf(o);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->code(), RejectCode::NotAuthorised);
  EXPECT_EQ(StringView(r->reason()), "not yours");
  EXPECT_TRUE(VectorBytes(r->message_id()).empty());
  const Outgoing timeout =
      RejectionTo({"desk", 78}, Status::Timeout("slow"), kMessageId);
  ASSERT_NE(RejectedOf(timeout), nullptr);
  EXPECT_EQ(RejectedOf(timeout)->code(), RejectCode::JournalUnavailable);
  EXPECT_EQ(VectorBytes(RejectedOf(timeout)->message_id()), kMessageId);
}

}  // namespace
}  // namespace relais::broker
