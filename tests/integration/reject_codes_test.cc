// The reject codes no other test produced through a real relaisd:
// 102 UnsupportedVersion, 201 MalformedPayload, 302 BadRecipients,
// 500 Overloaded and 205 SigningKeyNotValid for a revoked key. Each is
// checked by its code, and the broker keeps serving after each.

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/text.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::seconds;
using wire::RejectCode;

constexpr char kDesk[] = "france-services/paris-15";

// An envelope built and signed as SealEnvelope would, but without its
// checks: for what only a faulty or hostile sender sends.
struct Hand {
  uint16_t version = 1;
  std::vector<std::string> recipients = {"caf"};
  wire::CaseType case_type = wire::CaseType::AddressChange;
  std::string payload = SampleAddressChange();
};

SealedEnvelope HandMade(const Identity& sender, const Hand& h) {
  SealedEnvelope out;
  out.message_id = *NewMessageId();
  const int64_t now = Clock::System()->NowMs();
  flatbuffers::FlatBufferBuilder hb(512);
  std::vector<flatbuffers::Offset<flatbuffers::String>> recipients;
  for (const auto& r : h.recipients) recipients.push_back(hb.CreateString(r));
  const auto header = wire::CreateHeader(
      hb, h.version, CreateBytes(hb, out.message_id), hb.CreateString("c-1"),
      hb.CreateString(sender.participant), hb.CreateVector(recipients),
      h.case_type, now, now + 3600 * 1000,
      CreateBytes(hb, crypto::Sha256(h.payload)),
      wire::PayloadEncoding::CaseEvent, hb.CreateString(sender.signing.key_id));
  hb.Finish(header, "RLH1");
  const std::string header_bytes = BufferBytes(hb);
  const std::string signature =
      *sender.signing.key.Sign(EnvelopeSigningInput(header_bytes));
  flatbuffers::FlatBufferBuilder eb(header_bytes.size() + h.payload.size() +
                                    256);
  eb.Finish(wire::CreateEnvelope(eb, CreateNestedBytes(eb, header_bytes),
                                 CreateNestedBytes(eb, h.payload),
                                 CreateBytes(eb, signature)),
            "RLE1");
  out.bytes = BufferBytes(eb);
  return out;
}

class RejectCodesTest : public ::testing::Test {
 protected:
  explicit RejectCodesTest(deploy::StackSpec spec = {}) : stack_(spec) {}

  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
  }

  std::unique_ptr<RawClient> Raw(const std::string& who) {
    auto raw = std::make_unique<RawClient>(stack_.endpoint(),
                                           stack_.BrokerCurvePublic(),
                                           stack_.IdentityOf(who).curve);
    raw->Send(HelloFrame(1, who, 0, "reject-codes-test"));
    EXPECT_TRUE(raw->ReceiveType(wire::Body::Welcome, seconds(10)));
    return raw;
  }

  // The code of the answer to `envelope` from the desk.
  RejectCode Submit(RawClient& raw, const SealedEnvelope& envelope) {
    return CodeOf(SubmitRaw(raw, ++request_, envelope, seconds(10)));
  }

  // A good message from the desk is still accepted.
  void StillServes(RawClient& raw) {
    auto answer =
        SubmitRaw(raw, ++request_, HandMade(stack_.IdentityOf(kDesk), Hand{}),
                  seconds(10));
    ASSERT_TRUE(answer);
    auto f = ParseFrame(*answer);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->body_type(), wire::Body::Accepted);
  }

  TestStack stack_;
  uint64_t request_ = 100;
};

TEST_F(RejectCodesTest, UnsupportedVersion102) {
  // A Hello of protocol 2.
  RawClient raw(stack_.endpoint(), stack_.BrokerCurvePublic(),
                stack_.IdentityOf(kDesk).curve);
  flatbuffers::FlatBufferBuilder fbb(128);
  fbb.Finish(wire::CreateFrame(
                 fbb, 7, wire::Body::Hello,
                 wire::CreateHello(fbb, 2, fbb.CreateString(kDesk), 0).Union()),
             "RLF1");
  raw.Send(BufferBytes(fbb));
  EXPECT_EQ(CodeOf(raw.ReceiveType(wire::Body::Rejected, seconds(10))),
            RejectCode::UnsupportedVersion);
  // A header of version 2.
  auto desk = Raw(kDesk);
  Hand h;
  h.version = 2;
  EXPECT_EQ(Submit(*desk, HandMade(stack_.IdentityOf(kDesk), h)),
            RejectCode::UnsupportedVersion);
  StillServes(*desk);
}

TEST_F(RejectCodesTest, MalformedPayload201) {
  auto desk = Raw(kDesk);
  Hand h;
  h.payload = "not a case event, not a FlatBuffer at all";
  EXPECT_EQ(Submit(*desk, HandMade(stack_.IdentityOf(kDesk), h)),
            RejectCode::MalformedPayload);
  h = Hand{};
  h.case_type = wire::CaseType::Birth;  // the payload is an AddressChange
  EXPECT_EQ(Submit(*desk, HandMade(stack_.IdentityOf(kDesk), h)),
            RejectCode::MalformedPayload);
  // An assistance the broker would write in the trail, of the wrong form.
  for (const auto& [agent, date] :
       std::vector<std::pair<std::string, std::string>>{
           {"Agent 007\n", "2026-01-05"}, {"a.martin", "05/01/2026"}}) {
    wire::CaseEventT event;
    flatbuffers::GetRoot<wire::CaseEvent>(Hand{}.payload.data())
        ->UnPackTo(&event);
    event.assistance = std::make_unique<wire::AssistanceT>();
    event.assistance->agent = agent;
    event.assistance->mandate = std::make_unique<wire::MandateT>();
    event.assistance->mandate->kind = wire::MandateKind::Written;
    event.assistance->mandate->date = date;
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::CaseEvent::Pack(fbb, &event), "RLC1");
    h = Hand{};
    h.payload = BufferBytes(fbb);
    EXPECT_EQ(Submit(*desk, HandMade(stack_.IdentityOf(kDesk), h)),
              RejectCode::MalformedPayload)
        << agent << " " << date;
  }
  StillServes(*desk);
}

TEST_F(RejectCodesTest, BadRecipients302) {
  auto desk = Raw(kDesk);
  std::vector<std::string> many;
  for (int i = 0; i < 33; ++i) many.push_back("p" + std::to_string(i));
  for (const auto& recipients : std::vector<std::vector<std::string>>{
           {}, {"caf", "caf"}, {"caf", kDesk}, {"caf", "Not An Id"}, many}) {
    Hand h;
    h.recipients = recipients;
    EXPECT_EQ(Submit(*desk, HandMade(stack_.IdentityOf(kDesk), h)),
              RejectCode::BadRecipients)
        << recipients.size();
  }
  StillServes(*desk);
}

// One envelope larger than what the broker lets wait for the journal (but
// within the message limit): refused as Overloaded, whatever the speed of
// the disk.
class OverloadTest : public RejectCodesTest {
 protected:
  static deploy::StackSpec Small() {
    deploy::StackSpec spec;
    spec.broker_extra = "max_pending_mb = 1\nmax_message_bytes = 4194304\n";
    return spec;
  }
  OverloadTest() : RejectCodesTest(Small()) {}
};

TEST_F(OverloadTest, Overloaded500) {
  auto desk = Raw(kDesk);
  SealedEnvelope big = HandMade(stack_.IdentityOf(kDesk), Hand{});
  big.bytes.append(1536 * 1024, '\0');  // the size check comes first
  EXPECT_EQ(Submit(*desk, big), RejectCode::Overloaded);
  StillServes(*desk);
}

TEST_F(RejectCodesTest, RevokedKey205) {
  auto desk = Raw(kDesk);
  const SealedEnvelope before = HandMade(stack_.IdentityOf(kDesk), Hand{});
  // The operator revokes the desk's signing key and restarts relaisd.
  const std::string pub = stack_.layout().PublicFile(kDesk);
  auto id = LoadPublicIdentityFile(pub);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  for (auto& k : id->signing_keys) k.revoked = true;
  ASSERT_TRUE(WriteFileAtomic(pub, PublicIdentityToToml(*id)).ok());
  ASSERT_EQ(stack_.StopBroker(), 0);
  ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
  desk = Raw(kDesk);
  EXPECT_EQ(Submit(*desk, before), RejectCode::SigningKeyNotValid);
  // Others are served.
  auto caf = Raw("caf");
  Hand h;
  h.recipients = {"cpam"};
  auto answer =
      SubmitRaw(*caf, 500, HandMade(stack_.IdentityOf("caf"), h), seconds(10));
  ASSERT_TRUE(answer);
  EXPECT_EQ(CodeOf(answer), RejectCode::None);
}

}  // namespace
}  // namespace relais::testing
