#include "core/crypto.h"

#include <gtest/gtest.h>
#include <zmq.h>

#include "core/bytes.h"
#include "core/keys.h"
#include "core/subject.h"

namespace relais {
namespace {

TEST(CryptoTest, Sha256KnownAnswer) {
  EXPECT_EQ(HexEncode(crypto::Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoTest, Ed25519Rfc8032TestVector1) {
  auto key = crypto::Ed25519PrivateKey::FromSeed(*HexDecode(
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(HexEncode(key->public_key().raw()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(HexEncode(*key->Sign("")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

TEST(CryptoTest, VerifyRejectsWrongMessageAndMalformedSignature) {
  auto key = crypto::Ed25519PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  std::string sig = *key->Sign("hello");
  EXPECT_TRUE(key->public_key().Verify("hello", sig));
  EXPECT_FALSE(key->public_key().Verify("hellp", sig));
  EXPECT_FALSE(key->public_key().Verify("hello", sig.substr(1)));
  sig[10] ^= 1;
  EXPECT_FALSE(key->public_key().Verify("hello", sig));
  EXPECT_FALSE(crypto::Ed25519PublicKey::FromRaw("short").ok());
}

TEST(CryptoTest, Z85MatchesTheRfcExampleAndLibzmq) {
  const std::string raw("\x86\x4F\xD2\x6F\xB5\x59\xF7\x5B", 8);
  EXPECT_EQ(*Z85Encode(raw), "HelloWorld");
  EXPECT_EQ(*Z85Decode("HelloWorld"), raw);
  // libzmq's own codec agrees, both ways, on a CURVE-sized key.
  const std::string key = *crypto::RandomBytes(32);
  char text[41];
  ASSERT_NE(zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(key.data()),
                           key.size()),
            nullptr);
  EXPECT_EQ(*Z85Encode(key), std::string(text));
  EXPECT_EQ(*Z85Decode(text), key);
  // Each malformed text is refused on its own: a length that is not a
  // multiple of 5, a character outside the alphabet, a group above
  // 2^32 - 1 ("%nSc0" is 2^32 - 1, "%nSc1" 2^32, "#####" 85^5 - 1).
  EXPECT_FALSE(Z85Decode("Hell").ok());
  EXPECT_FALSE(Z85Decode("HelloWorl").ok());
  EXPECT_FALSE(Z85Decode("Hell\"").ok());
  EXPECT_FALSE(Z85Decode("Hello\"orld").ok());
  EXPECT_FALSE(Z85Decode("%nSc1").ok());
  EXPECT_FALSE(Z85Decode("#####").ok());
  auto largest = Z85Decode("%nSc0");
  ASSERT_TRUE(largest.ok()) << largest.status().ToString();
  EXPECT_EQ(*largest, std::string(4, '\xff'));
}

TEST(CryptoTest, CurveKeysAgreeWithLibzmq) {
  auto pair = crypto::GenerateCurveKeyPair();
  ASSERT_TRUE(pair.ok());
  char pub[41];
  ASSERT_EQ(zmq_curve_public(pub, pair->secret_z85.c_str()), 0);
  EXPECT_EQ(pair->public_z85, std::string(pub));
}

TEST(KeysTest, IdentityFilesRoundTrip) {
  auto id = GenerateIdentity("france-services/paris-15", 1795392000000, 365);
  ASSERT_TRUE(id.ok());
  auto back = ParseIdentity(IdentityToToml(*id), "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->participant, id->participant);
  EXPECT_EQ(back->curve.secret_z85, id->curve.secret_z85);
  EXPECT_EQ(back->curve.public_z85, id->curve.public_z85);
  EXPECT_EQ(back->signing.key_id, id->signing.key_id);
  EXPECT_EQ(back->signing.not_after_ms, id->signing.not_after_ms);

  auto pub = ParsePublicIdentity(PublicIdentityToToml(PublicOf(*id)), "test");
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(pub->signing_keys.at(0).key.raw(),
            id->signing.key.public_key().raw());
}

TEST(KeysTest, DirectoryChecksValidityWindow) {
  auto id = GenerateIdentity("caf", 1795392000000, 10);
  ASSERT_TRUE(id.ok());
  KeyDirectory dir;
  ASSERT_TRUE(dir.Add(PublicOf(*id)).ok());
  EXPECT_FALSE(dir.Add(PublicOf(*id)).ok());
  EXPECT_TRUE(
      dir.FindSigningKey("caf", id->signing.key_id, 1795392000000 + 1000).ok());
  EXPECT_EQ(dir.FindSigningKey("caf", id->signing.key_id, 1795392000000 - 1000)
                .status()
                .reject_code(),
            wire::RejectCode::SigningKeyNotValid);
  EXPECT_EQ(dir.FindSigningKey("caf", "ffffffffffffffff", 1795392000000 + 1000)
                .status()
                .reject_code(),
            wire::RejectCode::UnknownSigningKey);
  EXPECT_EQ(dir.FindSigningKey("cpam", id->signing.key_id, 1795392000000)
                .status()
                .reject_code(),
            wire::RejectCode::UnknownSigningKey);
}

TEST(KeysTest, MismatchedKeyIdIsRefused) {
  auto id = GenerateIdentity("caf", 1795392000000, 10);
  ASSERT_TRUE(id.ok());
  PublicIdentity pub = PublicOf(*id);
  pub.signing_keys[0].key_id = "0123456789abcdef";
  EXPECT_FALSE(ParsePublicIdentity(PublicIdentityToToml(pub), "t").ok());
}

TEST(SubjectTest, SameCitizenSameReferenceKeyMatters) {
  const std::string key(32, 'k');
  auto a = SubjectRef(key, "184127645108946");
  auto b = SubjectRef(key, "1841276451089");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *SubjectRef(std::string(32, 'j'), "1841276451089"));
  EXPECT_FALSE(SubjectRef(key, "184127645108900").ok());
  // 14 characters or a prefix is not a NIR, whatever its first 13 say.
  EXPECT_FALSE(SubjectRef(key, "18412764510894").ok());
  EXPECT_FALSE(SubjectRef(key, "18412").ok());
  EXPECT_FALSE(SubjectRef(key, "1841276451089461").ok());
}

}  // namespace
}  // namespace relais
