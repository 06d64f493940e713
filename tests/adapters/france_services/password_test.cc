#include "adapters/france_services/password.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace relais::console {
namespace {

// The smallest accepted cost: the tests check the format, not the speed.
constexpr ScryptCost kCheap{10, 8, 1};

TEST(PasswordTest, AHashMatchesItsPasswordOnly) {
  auto hash = HashPassword("correct horse battery", kCheap);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(hash->rfind("$scrypt$ln=10,r=8,p=1$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find("correct"), std::string::npos);
  auto right = VerifyPassword("correct horse battery", *hash);
  ASSERT_TRUE(right.ok());
  EXPECT_TRUE(*right);
  auto wrong = VerifyPassword("correct horse batterY", *hash);
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(*wrong);
}

TEST(PasswordTest, EachHashHasItsOwnSalt) {
  auto a = HashPassword("the same password", kCheap);
  auto b = HashPassword("the same password", kCheap);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

// RFC 7914 section 12's second vector ("password", salt "NaCl", N=1024,
// r=8, p=16), its first 32 bytes (PBKDF2's first block): the hash is
// scrypt itself, not a look-alike.
TEST(PasswordTest, MatchesTheRfcVector) {
  const std::string stored =
      "$scrypt$ln=10,r=8,p=16$4e61436c$"
      "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162";
  auto r = VerifyPassword("password", stored);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
  auto other = VerifyPassword("passwore", stored);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*other);
}

TEST(PasswordTest, AStoredHashInAnotherFormIsCorruption) {
  for (const std::string& bad : std::vector<std::string>{
           "",
           "password",
           "$scrypt$ln=15,r=8$00112233445566778899aabbccddeeff$" +
               std::string(64, '0'),
           "$scrypt$ln=9,r=8,p=1$00112233445566778899aabbccddeeff$" +
               std::string(64, '0'),
           "$scrypt$ln=15,r=8,p=1$001122$" + std::string(64, '0'),
           "$scrypt$ln=15,r=8,p=1$" + std::string(130, '0') + "$" +
               std::string(64, '0'),
           "$scrypt$ln=15,r=8,p=1$00112233445566778899aabbccddeeff$" +
               std::string(63, '0'),
           "$scrypt$ln=15,r=8,p=1$00112233445566778899aabbccddeefg$" +
               std::string(64, '0'),
           "$argon2id$ln=15,r=8,p=1$00112233445566778899aabbccddeeff$" +
               std::string(64, '0'),
       }) {
    auto r = VerifyPassword("whatever password", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << bad;
    EXPECT_FALSE(CheckStoredHash(bad).ok()) << bad;
  }
}

TEST(PasswordTest, ANewPasswordMustBeLongPlainText) {
  EXPECT_TRUE(CheckNewPassword("douze car. ok").ok());
  EXPECT_TRUE(CheckNewPassword("mot de passe accentué").ok());
  EXPECT_FALSE(CheckNewPassword("court").ok());
  EXPECT_FALSE(CheckNewPassword(std::string(257, 'a')).ok());
  EXPECT_FALSE(CheckNewPassword("twelve chars\tand a tab").ok());
  EXPECT_FALSE(CheckNewPassword("not utf-8 \xff\xfe at all").ok());
  auto st = CheckNewPassword("abc123");
  EXPECT_EQ(st.message().find("abc123"), std::string::npos)
      << "names the rule, not the password";
}

TEST(PasswordTest, ACostOutOfRangeIsRefused) {
  EXPECT_FALSE(HashPassword("a long enough one", {9, 8, 1}).ok());
  EXPECT_FALSE(HashPassword("a long enough one", {10, 0, 1}).ok());
  EXPECT_FALSE(HashPassword("a long enough one", {10, 8, 17}).ok());
  // 128 * 16 * 2^20 bytes: 2 GiB, over the 1 GiB bound.
  EXPECT_FALSE(HashPassword("a long enough one", {20, 16, 1}).ok());
}

}  // namespace
}  // namespace relais::console
