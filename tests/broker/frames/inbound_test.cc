#include "broker/frames/inbound.h"

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais::broker {
namespace {

using wire::RejectCode;
using S = wire::RecipientState;

constexpr char kDesk[] = "france-services/paris-15";

// Keeps the frames whose tables the tests read.
class InboundTest : public ::testing::Test {
 protected:
  // The frame `bytes` parsed (ParseFrame), kept alive with the test.
  const wire::Frame* Parsed(std::string bytes) {
    kept_.push_back(std::move(bytes));
    auto f = ParseFrame(kept_.back());
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? *f : nullptr;
  }
  const wire::Hello& Hello(std::string_view participant,
                           std::string_view software = "relais-sdk 1.0",
                           uint16_t version = kProtocolVersion) {
    flatbuffers::FlatBufferBuilder fbb;
    const auto hello =
        wire::CreateHello(fbb, version, fbb.CreateString(participant), 8,
                          fbb.CreateString(software));
    fbb.Finish(wire::CreateFrame(fbb, 1, wire::Body::Hello, hello.Union()),
               kFrameIdentifier);
    return *Parsed(BufferBytes(fbb))->body_as_Hello();
  }
  const wire::DeliveryAck& Ack(wire::AckOutcome outcome,
                               std::string_view reason) {
    return *Parsed(
                DeliveryAckFrame(3, 12, std::string(16, 'm'), outcome, reason))
                ->body_as_DeliveryAck();
  }
  const wire::StatusUpdate& Update(std::string_view message_id, S state,
                                   std::string_view reason) {
    return *Parsed(StatusUpdateFrame(4, message_id, state, reason))
                ->body_as_StatusUpdate();
  }
  const wire::SubjectRegistration& Registration(std::string_view refs,
                                                bool unregister) {
    return *Parsed(SubjectRegistrationFrame(5, refs, unregister))
                ->body_as_SubjectRegistration();
  }

  std::deque<std::string> kept_;
};

// A refusal with `code` whose message is clean text and holds none of
// `offending`.
void ExpectCleanRefusal(const Status& st, RejectCode code,
                        std::string_view offending) {
  EXPECT_EQ(st.code(), Status::Code::kRejected) << st.ToString();
  EXPECT_EQ(st.reject_code(), code) << st.ToString();
  EXPECT_TRUE(IsCleanText(st.message())) << Escaped(st.message());
  EXPECT_EQ(st.message().find(offending), std::string::npos)
      << Escaped(st.message());
}

// Text with control characters, and bytes that are not UTF-8, each
// offending part distinctive enough to be found in a message.
const std::string kEscape = "\x1b[2J\x1b]0;owned\x07";
const std::string kNewline = "forged\nINFO fake log line";
const std::string kC1 = "next\xc2\x85line";
const std::string kNotUtf8 = "\xff\xfe\xfd";

TEST_F(InboundTest, AHelloThatMatchesItsConnectionPasses) {
  EXPECT_TRUE(CheckHello(Hello(kDesk), kDesk).ok());
  EXPECT_TRUE(CheckHello(Hello("caf", ""), "caf").ok());
  EXPECT_TRUE(
      CheckHello(Hello("caf", std::string(kMaxSoftwareBytes, 's')), "caf")
          .ok());
}

// Hello's text fields are checked first, naming the field and never
// repeating the bytes: control characters, invalid UTF-8, too long.
TEST_F(InboundTest, AHellosTextMustBeClean) {
  for (const std::string& bad : {kEscape, kNewline, kC1, kNotUtf8}) {
    const std::string participant = "caf" + bad;
    Status st = CheckHello(Hello(participant), "caf");
    ExpectCleanRefusal(st, RejectCode::MalformedFrame, bad);
    EXPECT_NE(st.message().find("Hello.participant"), std::string::npos);
    // Even when the participant would not match either.
    ExpectCleanRefusal(CheckHello(Hello(participant), kDesk),
                       RejectCode::MalformedFrame, bad);

    st = CheckHello(Hello("caf", "sdk" + bad), "caf");
    ExpectCleanRefusal(st, RejectCode::MalformedFrame, bad);
    EXPECT_NE(st.message().find("Hello.software"), std::string::npos);
  }
  ExpectCleanRefusal(
      CheckHello(Hello("caf", std::string(kMaxSoftwareBytes + 1, 's')), "caf"),
      RejectCode::MalformedFrame, std::string(kMaxSoftwareBytes + 1, 's'));
  ExpectCleanRefusal(
      CheckHello(Hello(std::string(kMaxParticipantIdSize + 1, 'p'), "caf"),
                 "caf"),
      RejectCode::MalformedFrame, std::string(kMaxParticipantIdSize + 1, 'p'));
}

// A Hello naming another participant than the connection's key is
// HelloMismatch, before its protocol version is looked at; another version
// is UnsupportedVersion.
TEST_F(InboundTest, AHelloMustNameItsConnectionAndSpeakVersionOne) {
  Status st = CheckHello(Hello("cpam"), "caf");
  EXPECT_EQ(st.reject_code(), RejectCode::HelloMismatch) << st.ToString();
  st = CheckHello(Hello("cpam", "sdk", 2), "caf");
  EXPECT_EQ(st.reject_code(), RejectCode::HelloMismatch) << st.ToString();
  st = CheckHello(Hello("caf", "sdk", 2), "caf");
  EXPECT_EQ(st.reject_code(), RejectCode::UnsupportedVersion) << st.ToString();
  st = CheckHello(Hello("caf", "sdk", 0), "caf");
  EXPECT_EQ(st.reject_code(), RejectCode::UnsupportedVersion) << st.ToString();
}

TEST_F(InboundTest, ACreditMayNotExceedTheLargestWindow) {
  auto credit = [&](uint32_t window) -> const wire::Credit& {
    return *Parsed(CreditFrame(2, window))->body_as_Credit();
  };
  EXPECT_TRUE(CheckCredit(credit(0), 64).ok());
  EXPECT_TRUE(CheckCredit(credit(64), 64).ok());
  const Status st = CheckCredit(credit(65), 64);
  EXPECT_EQ(st.reject_code(), RejectCode::WindowTooLarge) << st.ToString();
  EXPECT_EQ(CheckCredit(credit(UINT32_MAX), 64).reject_code(),
            RejectCode::WindowTooLarge);
}

// An ack's outcome must be Processed or Rejected, and its reason clean
// text of at most 1024 bytes, whatever the outcome.
TEST_F(InboundTest, AnAckNeedsAKnownOutcomeAndACleanReason) {
  using wire::AckOutcome;
  EXPECT_TRUE(CheckAck(Ack(AckOutcome::Processed, "")).ok());
  EXPECT_TRUE(CheckAck(Ack(AckOutcome::Rejected, "unknown citizen")).ok());
  EXPECT_TRUE(
      CheckAck(Ack(AckOutcome::Rejected, std::string(kMaxReasonBytes, 'r')))
          .ok());
  for (int outcome : {2, 7, 255}) {
    const Status st = CheckAck(Ack(static_cast<AckOutcome>(outcome), ""));
    EXPECT_EQ(st.reject_code(), RejectCode::MalformedFrame) << outcome;
  }
  for (const std::string& bad : {kEscape, kNewline, kC1, kNotUtf8}) {
    ExpectCleanRefusal(CheckAck(Ack(AckOutcome::Rejected, "no: " + bad)),
                       RejectCode::MalformedFrame, bad);
    ExpectCleanRefusal(CheckAck(Ack(AckOutcome::Processed, bad)),
                       RejectCode::MalformedFrame, bad);
  }
  ExpectCleanRefusal(CheckAck(Ack(AckOutcome::Processed,
                                  std::string(kMaxReasonBytes + 1, 'r'))),
                     RejectCode::MalformedFrame,
                     std::string(kMaxReasonBytes + 1, 'r'));
}

// A valid StatusUpdate becomes the writer's request, with the connection's
// participant and the reply address.
TEST_F(InboundTest, AStatusUpdateBecomesARequest) {
  const std::string id(16, 'i');
  for (S state : {S::Received, S::InProgress, S::Done, S::Rejected}) {
    auto r = StatusRequestOf(Update(id, state, "at the desk"), "caf",
                             {"routing-1", 77});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->participant, "caf");
    EXPECT_EQ(r->message_id, id);
    EXPECT_EQ(r->state, state);
    EXPECT_EQ(r->reason, "at the desk");
    EXPECT_EQ(r->reply.routing_id, "routing-1");
    EXPECT_EQ(r->reply.request_id, 77u);
  }
}

// The reason must be clean text; the message id 16 bytes; the state one of
// the four a partner may report.
TEST_F(InboundTest, AStatusUpdateIsCheckedFieldByField) {
  const std::string id(16, 'i');
  for (const std::string& bad : {kEscape, kNewline, kC1, kNotUtf8}) {
    auto r =
        StatusRequestOf(Update(id, S::Rejected, "refused " + bad), "caf", {});
    ExpectCleanRefusal(r.status(), RejectCode::MalformedFrame, bad);
  }
  auto r = StatusRequestOf(
      Update(id, S::Done, std::string(kMaxReasonBytes + 1, 'r')), "caf", {});
  EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame);
  for (const std::string& wrong_id :
       {std::string(), std::string(15, 'i'), std::string(17, 'i')}) {
    r = StatusRequestOf(Update(wrong_id, S::Done, ""), "caf", {});
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame)
        << wrong_id.size();
  }
  for (S state : {S::Sent, S::Delivered, S::Expired, S::Undeliverable,
                  static_cast<S>(8), static_cast<S>(200)}) {
    r = StatusRequestOf(Update(id, state, ""), "caf", {});
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame)
        << static_cast<int>(state);
  }
}

// A registration of 1 to 1000 references of 32 bytes becomes the writer's
// request, the references split in order; anything else is MalformedFrame.
TEST_F(InboundTest, ASubjectRegistrationHoldsOneToAThousandReferences) {
  const std::string one(kSubjectRefSize, 'a');
  const std::string two(kSubjectRefSize, 'b');
  auto r =
      SubjectRequestOf(Registration(one + two, true), kDesk, {"routing-2", 9});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->subject_refs, (std::vector<std::string>{one, two}));
  EXPECT_TRUE(r->unregister);
  EXPECT_EQ(r->participant, kDesk);
  EXPECT_EQ(r->reply.routing_id, "routing-2");
  EXPECT_EQ(r->reply.request_id, 9u);

  std::string thousand;
  for (size_t i = 0; i < kMaxSubjectRefs; ++i) {
    thousand += std::string(kSubjectRefSize, static_cast<char>('A' + i % 26));
  }
  r = SubjectRequestOf(Registration(thousand, false), kDesk, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->subject_refs.size(), kMaxSubjectRefs);
  EXPECT_FALSE(r->unregister);
  EXPECT_EQ(r->subject_refs.back(), thousand.substr(thousand.size() - 32));

  for (const std::string& refs :
       {std::string(), one.substr(1), one + "x", thousand + one}) {
    r = SubjectRequestOf(Registration(refs, false), kDesk, {});
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedFrame)
        << refs.size();
  }
}

}  // namespace
}  // namespace relais::broker
