#include "broker/cases/status_report.h"

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/crypto.h"
#include "core/flatbuf.h"
#include "tests/support/fixtures.h"

namespace relais::broker::cases {
namespace {

// Keys are made at this fixed time, and everything happens at it: the
// test passes on any day.
constexpr int64_t kNow = 1795392000000;
constexpr int64_t kTtl = 30LL * 24 * 3600 * 1000;

// A real message from the desk to caf and cpam about one citizen, sealed
// and parsed as the broker has it when it owes its sender a report.
class StatusReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    about_ = Message(desk_, {"caf", "cpam"}, subject_, &bytes_);
  }

  // `from`'s sealed message to `to`, parsed; `bytes` keeps it.
  static EnvelopeView Message(const Identity& from, std::vector<std::string> to,
                              const std::string& subject_ref,
                              std::string* bytes) {
    EnvelopeDraft d = testing::SampleDraft(from.participant, std::move(to));
    d.created_at_ms = kNow - 60000;
    d.expires_at_ms = kNow + 3600000;
    d.subject_ref = subject_ref;
    auto sealed = SealEnvelope(d, from.signing);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    if (!sealed.ok()) return {};
    *bytes = sealed->bytes;
    auto v = ParseEnvelope(*bytes);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : EnvelopeView{};
  }

  EnvelopeDraft Draft() {
    const ReportFacts facts{"caf", wire::RecipientState::Undeliverable, 20,
                            "no acknowledgement"};
    return StatusReportDraft(about_, facts, broker_.participant, kNow, kTtl);
  }

  Identity desk_ = testing::MakeIdentityAt("france-services/paris-15", kNow);
  Identity broker_ = testing::MakeIdentityAt("relais", kNow);
  const std::string subject_ = crypto::Sha256("citizen 284057512345672");
  std::string bytes_;
  EnvelopeView about_;
};

// The report goes from the broker to the message's sender alone, in the
// same case, of the same type, about the same citizen, in reply to it; it
// is created now and expires after the report's lifetime.
TEST_F(StatusReportTest, GoesFromTheBrokerToTheSenderInReplyToTheMessage) {
  ASSERT_NE(about_.header, nullptr);
  const EnvelopeDraft d = Draft();
  EXPECT_EQ(d.sender, "relais");
  EXPECT_EQ(d.recipients, std::vector<std::string>{desk_.participant});
  EXPECT_EQ(d.case_id, about_.case_id);
  EXPECT_EQ(d.case_type, wire::CaseType::AddressChange);
  EXPECT_EQ(d.subject_ref, subject_);
  EXPECT_EQ(d.in_reply_to, about_.message_id);
  EXPECT_EQ(d.in_reply_to.size(), 16u);
  EXPECT_EQ(d.encoding, wire::PayloadEncoding::StatusReport);
  EXPECT_EQ(d.created_at_ms, kNow);
  EXPECT_EQ(d.expires_at_ms, kNow + kTtl);
}

// The payload is a StatusReport FlatBuffer ("RLR1") that verifies, naming
// the message, its case, the recipient, its state, attempts and detail.
TEST_F(StatusReportTest, PayloadIsAStatusReportWithTheFacts) {
  ASSERT_NE(about_.header, nullptr);
  const EnvelopeDraft d = Draft();
  const auto* data = reinterpret_cast<const uint8_t*>(d.payload.data());
  flatbuffers::Verifier verifier(data, d.payload.size());
  ASSERT_TRUE(
      verifier.VerifyBuffer<wire::StatusReport>(kStatusReportIdentifier));
  EXPECT_TRUE(flatbuffers::BufferHasIdentifier(data, "RLR1"));
  const auto* report = flatbuffers::GetRoot<wire::StatusReport>(data);
  EXPECT_EQ(VectorBytes(report->message_id()), about_.message_id);
  EXPECT_EQ(StringView(report->case_id()), about_.case_id);
  EXPECT_EQ(StringView(report->recipient()), "caf");
  EXPECT_EQ(report->state(), wire::RecipientState::Undeliverable);
  EXPECT_EQ(report->at_ms(), kNow);
  EXPECT_EQ(report->attempts(), 20u);
  EXPECT_EQ(StringView(report->detail()), "no acknowledgement");
}

// The draft seals with the broker's key; the sealed envelope's header hash
// is that of its header bytes, and the sender opens it as any delivery.
TEST_F(StatusReportTest, SealsWithTheBrokersKeyAndOpensForTheSender) {
  ASSERT_NE(about_.header, nullptr);
  auto sealed = SealEnvelope(Draft(), broker_.signing);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  auto parsed = ParseEnvelope(sealed->bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(sealed->header_sha256.size(), crypto::kSha256Size);
  EXPECT_EQ(sealed->header_sha256, crypto::Sha256(parsed->header_bytes));
  EXPECT_EQ(sealed->message_id, parsed->message_id);
  EXPECT_NE(sealed->message_id, about_.message_id);

  const KeyDirectory keys = testing::DirectoryOf({&broker_, &desk_});
  auto opened = OpenEnvelope(sealed->bytes, keys, kNow, TimePolicy{});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->sender, "relais");
  EXPECT_EQ(RecipientsOf(*opened), std::vector<std::string>{desk_.participant});
  EXPECT_EQ(VectorBytes(opened->header->in_reply_to()), about_.message_id);
  EXPECT_EQ(VectorBytes(opened->header->subject_ref()), subject_);
  EXPECT_EQ(opened->header->payload_encoding(),
            wire::PayloadEncoding::StatusReport);
  EXPECT_EQ(opened->header->expires_at_ms(), kNow + kTtl);
  // The broker's key signed it, not the desk's.
  EXPECT_TRUE(
      VerifyEnvelopeSignature(*opened, broker_.signing.key.public_key()).ok());
  EXPECT_FALSE(
      VerifyEnvelopeSignature(*opened, desk_.signing.key.public_key()).ok());
}

// A follow-up's report goes to its own sender, not the case's originator;
// a message about no particular citizen gives a report about none.
TEST_F(StatusReportTest, FollowUpsReportToTheirSenderWithoutASubject) {
  const Identity caf = testing::MakeIdentityAt("caf", kNow);
  std::string bytes;
  const EnvelopeView follow_up = Message(caf, {"cpam"}, "", &bytes);
  ASSERT_NE(follow_up.header, nullptr);
  const ReportFacts facts{"cpam", wire::RecipientState::Rejected, 0,
                          "unknown file"};
  const EnvelopeDraft d =
      StatusReportDraft(follow_up, facts, "relais", kNow, kTtl);
  EXPECT_EQ(d.recipients, std::vector<std::string>{"caf"});
  EXPECT_TRUE(d.subject_ref.empty());
  EXPECT_EQ(d.in_reply_to, follow_up.message_id);
  auto sealed = SealEnvelope(d, broker_.signing);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  auto parsed = ParseEnvelope(sealed->bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->header->subject_ref(), nullptr);
}

}  // namespace
}  // namespace relais::broker::cases
