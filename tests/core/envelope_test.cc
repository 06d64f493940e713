#include "core/envelope.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/flatbuf.h"
#include "core/merkle.h"
#include "tests/support/fixtures.h"

namespace relais {
namespace {

using testing::MakeIdentity;
using testing::Rewrap;
using testing::SampleDraft;
using testing::SealFields;
using testing::SealOf;
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

// PROTOCOL.md 4.3: a case id holding a NIR is not sealed, and the reason
// does not repeat it; one already journaled still parses (relaisd refuses
// new ones at ingress: tests/broker/ingress).
TEST_F(EnvelopeTest, ACaseIdHoldingANirIsNotSealed) {
  EnvelopeDraft d = SampleDraft(sender_.participant, {"caf"});
  d.case_id = "dossier-184127645108946";
  auto refused = SealEnvelope(d, sender_.signing);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("case_id: holds a NIR"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(refused.status().message().find("184127645108946"),
            std::string::npos);
  d.case_id = "dossier-000000000000000";
  SealedEnvelope s = Seal(d);
  std::string before_the_rule = s.bytes;
  before_the_rule.replace(before_the_rule.find(d.case_id), d.case_id.size(),
                          "dossier-184127645108946");
  auto v = ParseEnvelope(before_the_rule);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->case_id, "dossier-184127645108946");
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

class BatchSealTest : public EnvelopeTest {
 protected:
  std::vector<SealedEnvelope> SealMany(size_t n, const Identity& by) {
    std::vector<EnvelopeDraft> drafts;
    for (size_t i = 0; i < n; ++i) {
      drafts.push_back(SampleDraft(sender_.participant, {"caf"}));
    }
    auto sealed = SealBatch(drafts, by.signing);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return sealed.ok() ? *sealed : std::vector<SealedEnvelope>{};
  }
  Status OpenWith(std::string_view bytes, VerifiedRoots* roots) {
    return OpenEnvelope(bytes, keys_, Clock::System()->NowMs(), TimePolicy(),
                        true, roots)
        .status();
  }
};

TEST_F(BatchSealTest, EachEnvelopeOfABatchOpensAloneWithOneVerification) {
  auto batch = SealMany(5, sender_);
  ASSERT_EQ(batch.size(), 5u);
  VerifiedRoots roots;
  std::set<std::string> ids;
  for (uint32_t i = 0; i < batch.size(); ++i) {
    auto v = ParseEnvelope(batch[i].bytes);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->batch_sealed);
    EXPECT_TRUE(v->signature.empty());
    EXPECT_EQ(v->batch_leaf_index, i);
    EXPECT_EQ(v->batch_leaf_count, 5u);
    EXPECT_EQ(batch[i].header_sha256, crypto::Sha256(v->header_bytes));
    EXPECT_TRUE(OpenWith(batch[i].bytes, &roots).ok());
    EXPECT_TRUE(Open(batch[i].bytes).ok());  // alone, without the cache
    ids.insert(batch[i].message_id);
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(roots.verifications(), 1u);
  // A batch of one has an empty proof.
  auto one = SealMany(1, sender_);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(Open(one[0].bytes).ok());
}

// A caller that hashed the header already (the broker's ingress) passes the
// hash; the proof is checked from it, so a wrong one fails.
TEST_F(BatchSealTest, AHeaderHashGivenByTheCallerIsTheOneChecked) {
  auto batch = SealMany(3, sender_);
  auto v = ParseEnvelope(batch[1].bytes);
  ASSERT_TRUE(v.ok());
  const auto& key = sender_.signing.key.public_key();
  EXPECT_TRUE(
      VerifyEnvelopeSignature(*v, key, nullptr, batch[1].header_sha256).ok());
  EXPECT_EQ(VerifyEnvelopeSignature(*v, key, nullptr, batch[0].header_sha256)
                .reject_code(),
            RejectCode::BadBatchProof);
}

TEST_F(BatchSealTest, AForgedProofIsRefused) {
  auto batch = SealMany(5, sender_);
  auto v = ParseEnvelope(batch[2].bytes);
  ASSERT_TRUE(v.ok());
  SealFields seal = SealOf(*v);
  seal.path[40] ^= 0x20;
  VerifiedRoots roots;
  ASSERT_TRUE(OpenWith(batch[0].bytes, &roots).ok());  // the root is known
  EXPECT_EQ(OpenWith(Rewrap(*v, seal), &roots).reject_code(),
            RejectCode::BadBatchProof);
}

// A root already verified does not let through a copy whose root
// signature bytes were altered: what passes the cache verifies alone.
TEST_F(BatchSealTest, AKnownRootWithAnAlteredSignatureIsRefused) {
  auto batch = SealMany(3, sender_);
  VerifiedRoots roots;
  ASSERT_TRUE(OpenWith(batch[0].bytes, &roots).ok());
  auto v = ParseEnvelope(batch[1].bytes);
  ASSERT_TRUE(v.ok());
  SealFields seal = SealOf(*v);
  seal.root_signature[10] ^= 0x04;
  EXPECT_EQ(OpenWith(Rewrap(*v, seal), &roots).reject_code(),
            RejectCode::BadSignature);
  EXPECT_TRUE(OpenWith(batch[1].bytes, &roots).ok());
  EXPECT_EQ(roots.verifications(), 1u);
}

TEST_F(BatchSealTest, AProofForAnotherRootIsRefused) {
  auto a = SealMany(4, sender_);
  auto b = SealMany(4, sender_);
  auto va = ParseEnvelope(a[1].bytes);
  auto vb = ParseEnvelope(b[1].bytes);
  ASSERT_TRUE(va.ok() && vb.ok());
  // a's envelope and proof under b's root and its genuine signature.
  SealFields seal = SealOf(*va);
  seal.root = std::string(vb->batch_root);
  seal.root_signature = std::string(vb->batch_root_signature);
  EXPECT_EQ(Open(Rewrap(*va, seal)).reject_code(), RejectCode::BadBatchProof);
}

TEST_F(BatchSealTest, ARootSignedByAnotherParticipantsKeyIsRefused) {
  auto batch = SealMany(3, sender_);
  auto v = ParseEnvelope(batch[0].bytes);
  ASSERT_TRUE(v.ok());
  SealFields seal = SealOf(*v);
  auto forged =
      other_.signing.key.Sign(merkle::RootSigningInput(seal.count, seal.root));
  ASSERT_TRUE(forged.ok());
  seal.root_signature = *forged;
  VerifiedRoots roots;
  const Status st = OpenWith(Rewrap(*v, seal), &roots);
  EXPECT_EQ(st.reject_code(), RejectCode::BadSignature) << st.ToString();
  EXPECT_EQ(roots.verifications(), 0u);  // nothing cached
  // A root caf verified is not verified for the Paris desk.
  roots.Add(VerifiedRoots::KeyOf(other_.signing.key.public_key(), seal.count,
                                 seal.root, seal.root_signature));
  EXPECT_EQ(OpenWith(Rewrap(*v, seal), &roots).reject_code(),
            RejectCode::BadSignature);
}

TEST_F(BatchSealTest, AReorderedTreeIsRefused) {
  auto batch = SealMany(4, sender_);
  auto v2 = ParseEnvelope(batch[2].bytes);
  ASSERT_TRUE(v2.ok());
  // Leaf 2 claimed at place 3, and at place 2 of a tree of 3 leaves.
  SealFields moved = SealOf(*v2);
  moved.index = 3;
  EXPECT_EQ(Open(Rewrap(*v2, moved)).reject_code(), RejectCode::BadBatchProof);
  SealFields shrunk = SealOf(*v2);
  shrunk.count = 3;
  EXPECT_EQ(Open(Rewrap(*v2, shrunk)).reject_code(), RejectCode::BadBatchProof);
  SealFields outside = SealOf(*v2);
  outside.index = 4;
  EXPECT_EQ(Open(Rewrap(*v2, outside)).reject_code(),
            RejectCode::BadBatchProof);
  SealFields empty = SealOf(*v2);
  empty.count = 0;
  EXPECT_EQ(Open(Rewrap(*v2, empty)).reject_code(), RejectCode::BadBatchProof);
  // Leaf 3 of 6 has the same path as leaf 3 of 5 and leads to the same
  // root: the root signature covers the leaf count, so that claim fails.
  auto six = SealMany(6, sender_);
  auto v3 = ParseEnvelope(six[3].bytes);
  ASSERT_TRUE(v3.ok());
  SealFields five = SealOf(*v3);
  five.count = 5;
  EXPECT_EQ(Open(Rewrap(*v3, five)).reject_code(), RejectCode::BadSignature);
}

TEST_F(BatchSealTest, MalformedSealFieldsAreMalformedEnvelopes) {
  auto batch = SealMany(2, sender_);
  auto v = ParseEnvelope(batch[0].bytes);
  ASSERT_TRUE(v.ok());
  SealFields short_root = SealOf(*v);
  short_root.root.pop_back();
  EXPECT_EQ(Open(Rewrap(*v, short_root)).reject_code(),
            RejectCode::MalformedEnvelope);
  SealFields short_sig = SealOf(*v);
  short_sig.root_signature.resize(63);
  EXPECT_EQ(Open(Rewrap(*v, short_sig)).reject_code(),
            RejectCode::MalformedEnvelope);
  SealFields odd_path = SealOf(*v);
  odd_path.path += "x";
  EXPECT_EQ(Open(Rewrap(*v, odd_path)).reject_code(),
            RejectCode::MalformedEnvelope);
  SealFields long_path = SealOf(*v);
  long_path.path = std::string(17 * 32, 'p');
  EXPECT_EQ(Open(Rewrap(*v, long_path)).reject_code(),
            RejectCode::MalformedEnvelope);
  // Neither a signature nor a seal.
  flatbuffers::FlatBufferBuilder fbb;
  auto env = wire::CreateEnvelope(fbb, CreateNestedBytes(fbb, v->header_bytes),
                                  CreateNestedBytes(fbb, v->payload));
  fbb.Finish(env, kEnvelopeIdentifier);
  EXPECT_EQ(Open(BufferBytes(fbb)).reject_code(),
            RejectCode::MalformedEnvelope);
}

TEST_F(BatchSealTest, ASingleSignatureWinsOverABatchSeal) {
  // A single-signed envelope that also carries a (bogus) seal: the seal is
  // ignored, as a broker from before batch seals did.
  SealedEnvelope s = Seal(SampleDraft(sender_.participant, {"caf"}));
  auto v = ParseEnvelope(s.bytes);
  ASSERT_TRUE(v.ok());
  SealFields seal{std::string(32, 'r'),     std::string(64, 's'), "", 7, 3,
                  std::string(v->signature)};
  EXPECT_TRUE(Open(Rewrap(*v, seal)).ok());
  // ... and the signature still counts: a bad one is refused.
  seal.signature[0] ^= 1;
  EXPECT_EQ(Open(Rewrap(*v, seal)).reject_code(), RejectCode::BadSignature);
}

TEST_F(BatchSealTest, ABatchOutsideItsBoundsIsNotSealed) {
  EXPECT_FALSE(SealBatch({}, sender_.signing).ok());
  std::vector<EnvelopeDraft> bad = {
      SampleDraft(sender_.participant, {"caf"}),
      SampleDraft(sender_.participant, {})};  // no recipient
  auto r = SealBatch(bad, sender_.signing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot seal"), std::string::npos);
}

}  // namespace
}  // namespace relais
