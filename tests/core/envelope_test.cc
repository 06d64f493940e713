#include "core/envelope.h"

#include <gtest/gtest.h>

#include <random>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/flatbuf.h"
#include "tests/support/fixtures.h"

namespace relais {
namespace {

using testing::MakeIdentity;
using testing::SampleDraft;
using wire::RejectCode;

class EnvelopeTest : public ::testing::Test {
 protected:
  EnvelopeTest()
      : sender_(MakeIdentity("france-services/paris-15")),
        other_(MakeIdentity("caf")),
        keys_(testing::DirectoryOf({&sender_, &other_})) {}

  SealedEnvelope Seal(const EnvelopeDraft& d) {
    auto sealed = SealEnvelope(d, sender_.signing);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return *sealed;
  }

  Status Open(std::string_view bytes) {
    return OpenEnvelope(bytes, keys_, Clock::System()->NowMs(), TimePolicy())
        .status();
  }

  Identity sender_;
  Identity other_;
  KeyDirectory keys_;
};

TEST_F(EnvelopeTest, SealThenOpen) {
  EnvelopeDraft d = SampleDraft(sender_.participant, {"caf", "cpam"});
  SealedEnvelope s = Seal(d);
  auto v = OpenEnvelope(s.bytes, keys_, Clock::System()->NowMs(), TimePolicy());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->message_id, s.message_id);
  EXPECT_EQ(v->message_id.size(), 16u);
  EXPECT_EQ(v->case_id, d.case_id);
  EXPECT_EQ(v->sender, sender_.participant);
  EXPECT_EQ(v->payload, d.payload);
  EXPECT_EQ(RecipientsOf(*v), (std::vector<std::string>{"caf", "cpam"}));
  EXPECT_EQ(v->header->case_type(), wire::CaseType::AddressChange);
}

TEST_F(EnvelopeTest, SigningInputIsTagZeroHeader) {
  EXPECT_EQ(EnvelopeSigningInput("abc"),
            std::string("relais-envelope-v1\0abc", 22));
}

TEST_F(EnvelopeTest, TamperedHeaderFailsSignature) {
  SealedEnvelope s = Seal(SampleDraft(sender_.participant, {"caf"}));
  auto v = ParseEnvelope(s.bytes);
  ASSERT_TRUE(v.ok());
  // Flip one byte inside the header's case id: still a valid FlatBuffer.
  const size_t at =
      v->header_bytes.find(std::string(v->case_id)) +
      static_cast<size_t>(v->header_bytes.data() - s.bytes.data());
  std::string tampered = s.bytes;
  tampered[at + 2] = tampered[at + 2] == 'x' ? 'y' : 'x';
  Status st = Open(tampered);
  EXPECT_EQ(st.reject_code(), RejectCode::BadSignature) << st.ToString();
}

TEST_F(EnvelopeTest, TamperedPayloadFailsHash) {
  SealedEnvelope s = Seal(SampleDraft(sender_.participant, {"caf"}));
  auto v = ParseEnvelope(s.bytes);
  ASSERT_TRUE(v.ok());
  const size_t at = v->payload.find("Lyon") +
                    static_cast<size_t>(v->payload.data() - s.bytes.data());
  std::string tampered = s.bytes;
  tampered[at] = 'N';
  Status st = Open(tampered);
  EXPECT_EQ(st.reject_code(), RejectCode::PayloadHashMismatch) << st.ToString();
}

TEST_F(EnvelopeTest, WrongKeyFailsSignature) {
  SealedEnvelope s = Seal(SampleDraft(sender_.participant, {"caf"}));
  auto v = ParseEnvelope(s.bytes);
  ASSERT_TRUE(v.ok());
  Status st = VerifyEnvelopeSignature(*v, other_.signing.key.public_key());
  EXPECT_EQ(st.reject_code(), RejectCode::BadSignature);
  EXPECT_TRUE(
      VerifyEnvelopeSignature(*v, sender_.signing.key.public_key()).ok());
}

TEST_F(EnvelopeTest, SignedByAnotherParticipantsKey) {
  // The header names the sender's key id but another key signed it.
  SigningKey forged = other_.signing;
  forged.key_id = sender_.signing.key_id;
  auto s = SealEnvelope(SampleDraft(sender_.participant, {"caf"}), forged);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Open(s->bytes).reject_code(), RejectCode::BadSignature);
}

TEST_F(EnvelopeTest, UnknownKeyId) {
  SigningKey k = sender_.signing;
  k.key_id = "0000000000000000";
  auto s = SealEnvelope(SampleDraft(sender_.participant, {"caf"}), k);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Open(s->bytes).reject_code(), RejectCode::UnknownSigningKey);
}

TEST_F(EnvelopeTest, ExpiredAndFutureMessages) {
  const int64_t now = Clock::System()->NowMs();
  EnvelopeDraft d = SampleDraft(sender_.participant, {"caf"});
  d.created_at_ms = now - 7200 * 1000;
  d.expires_at_ms = now - 3600 * 1000;
  EXPECT_EQ(Open(Seal(d).bytes).reject_code(), RejectCode::Expired);

  d.created_at_ms = now + 3600 * 1000;
  d.expires_at_ms = now + 7200 * 1000;
  EXPECT_EQ(Open(Seal(d).bytes).reject_code(), RejectCode::ClockSkew);

  d.created_at_ms = now;
  d.expires_at_ms = now + 365LL * 86400 * 1000;
  EXPECT_EQ(Open(Seal(d).bytes).reject_code(), RejectCode::Expired);
}

TEST_F(EnvelopeTest, ExpiryIsCheckedAgainstTheGivenClock) {
  SealedEnvelope s = Seal(SampleDraft(sender_.participant, {"caf"}));
  FakeClock later(Clock::System()->NowMs() + 2 * 3600 * 1000);
  auto v = OpenEnvelope(s.bytes, keys_, later.NowMs(), TimePolicy());
  EXPECT_EQ(v.status().reject_code(), RejectCode::Expired);
}

TEST_F(EnvelopeTest, BadRecipientsCannotBeSealed) {
  EXPECT_FALSE(
      SealEnvelope(SampleDraft(sender_.participant, {}), sender_.signing).ok());
  EXPECT_FALSE(SealEnvelope(SampleDraft(sender_.participant, {"caf", "caf"}),
                            sender_.signing)
                   .ok());
  EXPECT_FALSE(
      SealEnvelope(SampleDraft(sender_.participant, {sender_.participant}),
                   sender_.signing)
          .ok());
}

TEST_F(EnvelopeTest, PayloadMustMatchCaseType) {
  EnvelopeDraft d = SampleDraft(sender_.participant, {"caf"});
  d.case_type = wire::CaseType::Birth;
  auto s = SealEnvelope(d, sender_.signing);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("AddressChange"), std::string::npos);
  d.encoding = wire::PayloadEncoding::Opaque;  // the broker does not read it
  d.payload = "anything at all";
  EXPECT_TRUE(SealEnvelope(d, sender_.signing).ok());
}

TEST_F(EnvelopeTest, TruncatedEnvelopesAreRejectedNeverCrash) {
  SealedEnvelope s = Seal(SampleDraft(sender_.participant, {"caf"}));
  for (size_t n = 0; n < s.bytes.size(); ++n) {
    const std::string_view prefix = std::string_view(s.bytes).substr(0, n);
    Status st = Open(prefix);
    if (st.ok()) {
      // Only trailing alignment padding was cut: the content is whole.
      ASSERT_GT(n, s.bytes.size() - 8);
      ASSERT_EQ(ParseEnvelope(prefix)->message_id, s.message_id);
      continue;
    }
    ASSERT_EQ(st.code(), Status::Code::kRejected);
  }
}

TEST_F(EnvelopeTest, RandomBytesNeverOpen) {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 600, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    Status st = Open(junk);
    ASSERT_EQ(st.code(), Status::Code::kRejected) << st.ToString();
  }
}

// Every single-bit flip of a sealed envelope is refused with a coded
// rejection. The only flips that may still open are those in bytes the
// FlatBuffers reader never looks at (alignment padding): what opens is then
// byte for byte what was sealed, so it is not a forgery.
TEST_F(EnvelopeTest, EveryBitFlipIsRefusedOrChangesNothing) {
  SealedEnvelope s = Seal(SampleDraft(sender_.participant, {"caf"}));
  auto sealed = ParseEnvelope(s.bytes);
  ASSERT_TRUE(sealed.ok());
  size_t refused = 0;
  for (size_t i = 0; i < s.bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE("byte " + std::to_string(i) + " bit " + std::to_string(bit));
      std::string flipped = s.bytes;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      auto v =
          OpenEnvelope(flipped, keys_, Clock::System()->NowMs(), TimePolicy());
      if (!v.ok()) {
        ASSERT_EQ(v.status().code(), Status::Code::kRejected)
            << v.status().ToString();
        ++refused;
        continue;
      }
      ASSERT_EQ(v->header_bytes, sealed->header_bytes);
      ASSERT_EQ(v->payload, sealed->payload);
      ASSERT_EQ(v->signature, sealed->signature);
      ASSERT_EQ(v->envelope->batch(), nullptr);
    }
  }
  // Almost every byte is read: header, payload, signature, offsets.
  EXPECT_GT(refused, s.bytes.size() * 8 * 9 / 10);
}

TEST_F(EnvelopeTest, BatchSealWithoutSignatureIsUnsupported) {
  SealedEnvelope s = Seal(SampleDraft(sender_.participant, {"caf"}));
  auto v = ParseEnvelope(s.bytes);
  ASSERT_TRUE(v.ok());
  flatbuffers::FlatBufferBuilder fbb;
  auto batch =
      wire::CreateBatchSeal(fbb, CreateBytes(fbb, std::string(32, 'r')),
                            CreateBytes(fbb, std::string(64, 's')), 0, 1);
  auto env = wire::CreateEnvelope(fbb, CreateNestedBytes(fbb, v->header_bytes),
                                  CreateNestedBytes(fbb, v->payload), 0, batch);
  fbb.Finish(env, kEnvelopeIdentifier);
  EXPECT_EQ(Open(BufferBytes(fbb)).reject_code(),
            RejectCode::UnsupportedSignature);
}

}  // namespace
}  // namespace relais
