#include "core/subject.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_dir.h"

namespace relais {
namespace {

namespace fs = std::filesystem;
using testing::FileNames;
using testing::MakeTestDir;
using testing::Slurp;
using testing::Spit;

// docs/PROTOCOL.md 4.6's test vector.
const std::string kVectorKey(32, '\x11');
constexpr const char* kVectorNir13 = "1850578006048";
constexpr const char* kVectorNir15 = "185057800604830";
constexpr const char* kVectorRef =
    "0808a52d75e399c928fa8c62517afbd86366214903a91a16d9d6614297ef0e92";

std::string Ref(std::string_view key, std::string_view nir) {
  auto ref = SubjectRef(key, nir);
  EXPECT_TRUE(ref.ok()) << nir << ": " << ref.status().ToString();
  return ref.ok() ? *ref : std::string();
}

// --- SubjectRef ------------------------------------------------------------

TEST(SubjectRefTest, MatchesTheProtocolTestVector) {
  EXPECT_EQ(HexEncode(Ref(kVectorKey, kVectorNir13)), kVectorRef);
  // The NIR's key is checked but not hashed.
  EXPECT_EQ(HexEncode(Ref(kVectorKey, kVectorNir15)), kVectorRef);
}

TEST(SubjectRefTest, IsTheHmacOfTheTagANulAndTheNir13) {
  auto key = NewSubjectKey();
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  std::string input(kSubjectTag);
  input.push_back('\0');
  input += kVectorNir13;
  ASSERT_EQ(input.size(), 17u + 1 + 13);
  const std::string ref = Ref(*key, kVectorNir13);
  EXPECT_EQ(ref, crypto::HmacSha256(*key, input));
  EXPECT_EQ(ref.size(), kSubjectRefSize);
  EXPECT_EQ(kSubjectRefSize, 32u);
  // Neither without the separator nor over the whole NIR.
  EXPECT_NE(ref,
            crypto::HmacSha256(*key, std::string(kSubjectTag) + kVectorNir13));
  EXPECT_NE(ref,
            crypto::HmacSha256(*key, std::string(kSubjectTag) +
                                         std::string(1, '\0') + kVectorNir15));
}

TEST(SubjectRefTest, CorsicanDepartmentsStayLettersInEitherCase) {
  // 2A counts as 19 for the key (33), 2B as 18 (60); the reference hashes
  // the letters, upper-cased (computed independently with Python's hmac).
  const std::string ref = Ref(kVectorKey, "185052A123456");
  EXPECT_EQ(HexEncode(ref),
            "8a311c9ff838f23542ad53d2e20dfed7cf327ffda050ac4b9ddbd498b949779c");
  EXPECT_EQ(Ref(kVectorKey, "185052a123456"), ref);
  EXPECT_EQ(Ref(kVectorKey, "185052A12345633"), ref);
  EXPECT_EQ(Ref(kVectorKey, "185052a12345633"), ref);
  const std::string ref_2b = Ref(kVectorKey, "185052B12345660");
  EXPECT_EQ(Ref(kVectorKey, "185052b123456"), ref_2b);
  EXPECT_NE(ref_2b, ref);
  // A key computed for 2A does not fit 2B.
  EXPECT_FALSE(SubjectRef(kVectorKey, "185052B12345633").ok());
}

TEST(SubjectRefTest, DependsOnTheKeyAndOnEveryCharacterOfTheNir13) {
  const std::string ref = Ref(kVectorKey, kVectorNir13);
  std::string other_key = kVectorKey;
  other_key[31] = '\x10';
  EXPECT_NE(Ref(other_key, kVectorNir13), ref);
  // One digit changed (the first, the department, the last): another
  // citizen, another reference.
  for (const char* other :
       {"2850578006048", "1850575006048", "1850578006047"}) {
    SCOPED_TRACE(other);
    const std::string r = Ref(kVectorKey, other);
    EXPECT_EQ(r.size(), kSubjectRefSize);
    EXPECT_NE(r, ref);
  }
}

TEST(SubjectRefTest, RefusesAKeyThatIsNot32Bytes) {
  for (size_t size :
       {size_t{0}, size_t{16}, size_t{31}, size_t{33}, size_t{64}}) {
    SCOPED_TRACE(size);
    auto ref = SubjectRef(std::string(size, '\x11'), kVectorNir13);
    ASSERT_FALSE(ref.ok());
    EXPECT_EQ(ref.status().code(), Status::Code::kInvalidArgument);
  }
  // Nor the 64 hex characters of the key file instead of its bytes.
  EXPECT_FALSE(SubjectRef(HexEncode(kVectorKey), kVectorNir13).ok());
}

TEST(SubjectRefTest, RefusesWhatIsNotANirWithoutNamingIt) {
  for (const char* bad : {
           "",
           "185057800604",      // 12
           "18505780060483",    // 14
           "1850578006048300",  // 16
           "185057800604831",   // a wrong key
           "185057800604803",
           "1850578006048XX",  // a key that is not digits
           "18505780060 48",
           "5850578006048",  // no NIR starts with 5, 6, 9 or 0
           "0850578006048",
           "185057800604A",  // letters outside the department
           "18505780060a830",
           "185052C123456",  // only 2A and 2B
           "1850578006048\n",
       }) {
    SCOPED_TRACE(bad);
    auto ref = SubjectRef(kVectorKey, bad);
    ASSERT_FALSE(ref.ok());
    EXPECT_EQ(ref.status().code(), Status::Code::kInvalidArgument);
    // The reason goes to logs: it names the rule, not the citizen.
    const std::string_view text(bad);
    if (text.size() >= 13) {
      EXPECT_EQ(ref.status().message().find(text.substr(0, 13)),
                std::string::npos)
          << ref.status().message();
    }
  }
}

// --- Subject keys and their file -------------------------------------------

constexpr const char* kKeyHex =
    "00112233445566778899aabbccddeeff0123456789abcdef0f1e2d3c4b5a6978";

TEST(SubjectKeyTest, ParsesSixtyFourHexCharactersAndTrailingSpace) {
  const std::string raw = *HexDecode(kKeyHex);
  ASSERT_EQ(raw.size(), kSubjectKeySize);
  std::string upper = kKeyHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  for (const std::string& text : std::vector<std::string>{
           std::string(kKeyHex), std::string(kKeyHex) + "\n",
           std::string(kKeyHex) + "\r\n", std::string(kKeyHex) + " \t\n\n",
           upper + "\n"}) {
    SCOPED_TRACE(text);
    auto key = ParseSubjectKey(text, "subject.key");
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(*key, raw);
  }
}

TEST(SubjectKeyTest, RefusesEverythingElseWithTheSameMessage) {
  const std::string hex = kKeyHex;
  for (const std::string& text : std::vector<std::string>{
           std::string(),
           std::string("\n"),
           hex.substr(0, 63),
           hex.substr(0, 62),  // 31 bytes
           hex + "00",         // 33 bytes
           hex + "0",
           hex + "\nff",  // something after the space
           " " + hex,     // leading space
           hex.substr(0, 32) + " " + hex.substr(32),
           "0x" + hex.substr(2),
           hex.substr(0, 63) + "g",
           std::string(64, 'z'),
           hex + std::string(1, '\0'),
       }) {
    SCOPED_TRACE(text);
    auto key = ParseSubjectKey(text, "secrets/subject.key");
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), Status::Code::kInvalidArgument);
    // Word for word: the origin and the rule, never the (secret) text.
    EXPECT_EQ(key.status().message(),
              "secrets/subject.key: a subject key is 64 hex characters");
  }
}

TEST(SubjectKeyTest, NewKeysAre32RandomBytes) {
  auto a = NewSubjectKey();
  auto b = NewSubjectKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), kSubjectKeySize);
  EXPECT_EQ(b->size(), kSubjectKeySize);
  EXPECT_NE(*a, *b);
  // A new key works for references.
  EXPECT_TRUE(SubjectRef(*a, kVectorNir13).ok());
}

using SubjectKeyFileTest = ::relais::testing::TestDirFixture;

TEST_F(SubjectKeyFileTest, WritesHexAndANewlinePrivatelyAndLoadsItBack) {
  auto key = NewSubjectKey();
  ASSERT_TRUE(key.ok());
  // An existing, readable file is replaced by a private one.
  Spit(Path("subject.key"), "old");
  ASSERT_EQ(::chmod(Path("subject.key").c_str(), 0644), 0);
  ASSERT_TRUE(WriteSubjectKey(Path("subject.key"), *key).ok());
  EXPECT_EQ(Slurp(Path("subject.key")), HexEncode(*key) + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(Path("subject.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(FileNames(dir_), std::vector<std::string>{"subject.key"});
  auto back = LoadSubjectKey(Path("subject.key"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, *key);
  EXPECT_EQ(Ref(*back, kVectorNir13), Ref(*key, kVectorNir13));
}

TEST_F(SubjectKeyFileTest, LoadRefusesMissingMalformedAndOversizedFiles) {
  // Each written as a key file is: for its owner only.
  const auto Spit = [](const std::filesystem::path& path,
                       const std::string& text) {
    ::relais::testing::Spit(path, text);
    std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                           std::filesystem::perms::owner_write);
  };
  auto missing = LoadSubjectKey(Path("absent.key"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);

  Spit(Path("short.key"), std::string(kKeyHex).substr(0, 62) + "\n");
  auto bad = LoadSubjectKey(Path("short.key"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            Path("short.key") + ": a subject key is 64 hex characters");

  // At most 4 KiB: a key padded with trailing space to exactly 4096 bytes
  // is read, one byte more is not.
  Spit(Path("4096.key"), kKeyHex + std::string(4096 - 64, ' '));
  auto at_limit = LoadSubjectKey(Path("4096.key"));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(*at_limit, *HexDecode(kKeyHex));
  Spit(Path("4097.key"), kKeyHex + std::string(4097 - 64, ' '));
  auto over = LoadSubjectKey(Path("4097.key"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace relais
