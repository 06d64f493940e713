#include "core/crypto.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <zmq.h>

#include <memory>

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

// Signatures go through libsodium; clients sign and verify with whatever
// Ed25519 they have (the protocol's Python outline: OpenSSL, through
// `cryptography`). Each side verifies the other's, and refuses the other's
// signature of another message.
TEST(CryptoTest, SignaturesInteroperateWithOpenSsl) {
  auto key = crypto::Ed25519PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  const auto* seed = reinterpret_cast<const unsigned char*>(key->seed().data());
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> openssl_key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32),
      EVP_PKEY_free);
  ASSERT_NE(openssl_key, nullptr);
  unsigned char raw_public[32];
  size_t raw_size = sizeof raw_public;
  ASSERT_EQ(
      EVP_PKEY_get_raw_public_key(openssl_key.get(), raw_public, &raw_size), 1);
  EXPECT_EQ(key->public_key().raw(),
            std::string(reinterpret_cast<char*>(raw_public), raw_size));

  const std::string message = "an envelope's signing input";
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free);
  std::string by_openssl(64, '\0');
  size_t len = by_openssl.size();
  ASSERT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr,
                               openssl_key.get()),
            1);
  ASSERT_EQ(EVP_DigestSign(
                ctx.get(), reinterpret_cast<unsigned char*>(by_openssl.data()),
                &len, reinterpret_cast<const unsigned char*>(message.data()),
                message.size()),
            1);
  EXPECT_TRUE(key->public_key().Verify(message, by_openssl));
  EXPECT_FALSE(key->public_key().Verify(message + ".", by_openssl));
  // Ed25519 is deterministic: the same signature from both.
  EXPECT_EQ(*key->Sign(message), by_openssl);

  const auto openssl_verifies = [&](const std::string& m,
                                    const std::string& sig) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> v(EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free);
    return EVP_DigestVerifyInit(v.get(), nullptr, nullptr, nullptr,
                                openssl_key.get()) == 1 &&
           EVP_DigestVerify(
               v.get(), reinterpret_cast<const unsigned char*>(sig.data()),
               sig.size(), reinterpret_cast<const unsigned char*>(m.data()),
               m.size()) == 1;
  };
  const std::string ours = *key->Sign("another message");
  EXPECT_TRUE(openssl_verifies("another message", ours));
  EXPECT_FALSE(openssl_verifies("another messagf", ours));
}

// A public key of small order would let anyone sign as its holder: with
// the neutral point as the key, R = the neutral point and S = 0 satisfy
// the verification equation for every message. Such a key, or 32 bytes
// that are no point at all, is refused; a signature whose S is not
// reduced (S + L) does not verify.
TEST(CryptoTest, SmallOrderKeysAreRefusedAndUnreducedSignaturesFail) {
  std::string neutral(32, '\0');
  neutral[0] = 1;  // y = 1, x = 0
  // OpenSSL 3.0 verifies this forgery; such a key is refused as a key.
  auto weak = crypto::Ed25519PublicKey::FromRaw(neutral);
  ASSERT_FALSE(weak.ok());
  EXPECT_NE(weak.status().message().find("not a valid Ed25519 public key"),
            std::string::npos);
  EXPECT_FALSE(crypto::Ed25519PublicKey::FromRaw(std::string(32, '\xff')).ok());

  auto key = crypto::Ed25519PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  std::string sig = *key->Sign("m");
  ASSERT_TRUE(key->public_key().Verify("m", sig));
  // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
  const auto l = *HexDecode(
      "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  unsigned carry = 0;
  for (size_t i = 0; i < 32; ++i) {
    const unsigned sum = static_cast<unsigned char>(sig[32 + i]) +
                         static_cast<unsigned char>(l[i]) + carry;
    sig[32 + i] = static_cast<char>(sum & 0xff);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);  // S < L, so S + L < 2^256
  EXPECT_FALSE(key->public_key().Verify("m", sig));
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
