#include "core/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/subject.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_dir.h"

namespace relais {
namespace {

namespace fs = std::filesystem;
using testing::FileNames;
using testing::MakeTestDir;
using testing::Slurp;
using testing::Spit;

constexpr int64_t kDayMs = 86400000;

// The permission bits of `path` (-1 if it cannot be read).
int ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

// A line `key = "value"` of a hand-made TOML file, none if `value` is unset.
std::string Line(const std::string& key,
                 const std::optional<std::string>& value) {
  return value ? key + " = \"" + *value + "\"\n" : "";
}

// A secret identity file written by hand, field by field, so that each
// test can leave one out or spoil it.
struct SecretFile {
  std::optional<std::string> participant, curve_public, curve_secret, key_id,
      signing_public, signing_secret, not_before, not_after;
  bool curve_table = true;
  bool signing_table = true;
  std::string signing_extra;  // raw TOML lines at the end of [signing]

  std::string Text() const {
    std::string out = Line("participant", participant);
    if (curve_table) {
      out += "[curve]\n" + Line("public", curve_public) +
             Line("secret", curve_secret);
    }
    if (signing_table) {
      out += "[signing]\n" + Line("key_id", key_id) +
             Line("public", signing_public) + Line("secret", signing_secret) +
             Line("not_before", not_before) + Line("not_after", not_after) +
             signing_extra;
    }
    return out;
  }
};

SecretFile SecretFileOf(const Identity& id) {
  SecretFile f;
  f.participant = id.participant;
  f.curve_public = id.curve.public_z85;
  f.curve_secret = id.curve.secret_z85;
  f.key_id = id.signing.key_id;
  f.signing_public = HexEncode(id.signing.key.public_key().raw());
  f.signing_secret = HexEncode(id.signing.key.seed());
  f.not_before = FormatTimestamp(id.signing.not_before_ms);
  f.not_after = FormatTimestamp(id.signing.not_after_ms);
  return f;
}

// One [[signing_keys]] table of a hand-made public identity file; `extra`
// is appended as it is (raw TOML lines).
struct PublicKeyTable {
  std::optional<std::string> key_id, public_hex, not_before, not_after;
  std::string extra;
};

struct PublicFile {
  std::optional<std::string> participant, curve_public;
  std::string extra_top;  // raw TOML lines before the tables
  std::vector<PublicKeyTable> keys;

  std::string Text() const {
    std::string out = Line("participant", participant) +
                      Line("curve_public", curve_public) + extra_top;
    for (const auto& k : keys) {
      out += "[[signing_keys]]\n" + Line("key_id", k.key_id) +
             Line("public", k.public_hex) + Line("not_before", k.not_before) +
             Line("not_after", k.not_after) + k.extra;
    }
    return out;
  }
};

PublicKeyTable KeyTableOf(const Identity& id) {
  return PublicKeyTable{id.signing.key_id,
                        HexEncode(id.signing.key.public_key().raw()),
                        FormatTimestamp(id.signing.not_before_ms),
                        FormatTimestamp(id.signing.not_after_ms), ""};
}

PublicFile PublicFileOf(const Identity& id) {
  return PublicFile{id.participant, id.curve.public_z85, "", {KeyTableOf(id)}};
}

Identity NewIdentity(const std::string& participant, int64_t now_ms, int days) {
  auto id = GenerateIdentity(participant, now_ms, days);
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return *id;
}

// Signing and verifying with the keys proves they are a pair.
bool SignsFor(const crypto::Ed25519PrivateKey& secret,
              const crypto::Ed25519PublicKey& pub) {
  auto sig = secret.Sign("relais keys test");
  return sig.ok() && pub.Verify("relais keys test", *sig);
}

// --- GenerateIdentity and PublicOf -----------------------------------------

TEST(GenerateIdentityTest, WindowStartsAtTheSecondAndLastsTheGivenDays) {
  const int64_t now = Clock::System()->NowMs() / 1000 * 1000 + 789;
  Identity id = NewIdentity("caf", now, 30);
  EXPECT_EQ(id.participant, "caf");
  EXPECT_EQ(id.signing.not_before_ms, now - 789);
  EXPECT_EQ(id.signing.not_after_ms, now - 789 + 30 * kDayMs);
  // The key id is that of the key, as ids.h defines it.
  EXPECT_EQ(id.signing.key_id, KeyIdOf(id.signing.key.public_key().raw()));
  EXPECT_EQ(id.signing.key_id.size(), 16u);
  EXPECT_TRUE(SignsFor(id.signing.key, id.signing.key.public_key()));
  // The CURVE pair belongs together.
  auto curve_public = crypto::CurvePublicFromSecret(id.curve.secret_z85);
  ASSERT_TRUE(curve_public.ok()) << curve_public.status().ToString();
  EXPECT_EQ(*curve_public, id.curve.public_z85);
  EXPECT_EQ(id.curve.public_z85.size(), 40u);
}

TEST(GenerateIdentityTest, EachIdentityHasItsOwnKeys) {
  const int64_t now = Clock::System()->NowMs();
  Identity a = NewIdentity("caf", now, 365);
  Identity b = NewIdentity("caf", now, 365);
  EXPECT_NE(a.signing.key.seed(), b.signing.key.seed());
  EXPECT_NE(a.signing.key_id, b.signing.key_id);
  EXPECT_NE(a.curve.secret_z85, b.curve.secret_z85);
  EXPECT_NE(a.curve.public_z85, b.curve.public_z85);
}

TEST(GenerateIdentityTest, RefusesAnythingButAParticipantId) {
  const int64_t now = Clock::System()->NowMs();
  for (const std::string& bad : std::vector<std::string>{
           "", "CAF", "caf/", "/caf", "a/b/c", "-caf", "caf-", "caf_15", "ca f",
           std::string(65, 'a')}) {
    SCOPED_TRACE(bad);
    auto id = GenerateIdentity(bad, now, 365);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), Status::Code::kInvalidArgument);
  }
  for (const std::string& good : std::vector<std::string>{
           "caf", "france-services/paris-15", "a", std::string(64, 'a')}) {
    SCOPED_TRACE(good);
    EXPECT_TRUE(GenerateIdentity(good, now, 365).ok());
  }
}

TEST(GenerateIdentityTest, PublicOfHoldsTheOneSigningKeyAndNoSecret) {
  Identity id = NewIdentity("france-travail", Clock::System()->NowMs(), 90);
  PublicIdentity pub = PublicOf(id);
  EXPECT_EQ(pub.participant, "france-travail");
  EXPECT_EQ(pub.curve_public_z85, id.curve.public_z85);
  ASSERT_EQ(pub.signing_keys.size(), 1u);
  const PublicSigningKey& key = pub.signing_keys[0];
  EXPECT_EQ(key.key_id, id.signing.key_id);
  EXPECT_EQ(key.key.raw(), id.signing.key.public_key().raw());
  EXPECT_EQ(key.not_before_ms, id.signing.not_before_ms);
  EXPECT_EQ(key.not_after_ms, id.signing.not_after_ms);
  EXPECT_FALSE(key.revoked);
  // Its TOML text holds neither secret.
  const std::string text = PublicIdentityToToml(pub);
  EXPECT_EQ(text.find(HexEncode(id.signing.key.seed())), std::string::npos);
  EXPECT_EQ(text.find(id.curve.secret_z85), std::string::npos);
}

// --- ParseIdentity ---------------------------------------------------------

TEST(ParseIdentityTest, ReadsAHandWrittenFile) {
  Identity id = NewIdentity("caf", Clock::System()->NowMs(), 365);
  SecretFile f = SecretFileOf(id);
  // Seconds only, without milliseconds, are accepted too.
  f.not_after = "2031-07-14T12:30:45Z";
  auto back = ParseIdentity(f.Text(), "caf.key.toml");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->participant, "caf");
  EXPECT_EQ(back->curve.secret_z85, id.curve.secret_z85);
  EXPECT_EQ(back->curve.public_z85, id.curve.public_z85);
  EXPECT_EQ(back->signing.key.seed(), id.signing.key.seed());
  EXPECT_EQ(back->signing.key_id, id.signing.key_id);
  EXPECT_EQ(back->signing.not_before_ms, id.signing.not_before_ms);
  EXPECT_EQ(back->signing.not_after_ms,
            *ParseTimestamp("2031-07-14T12:30:45Z"));
  EXPECT_TRUE(SignsFor(back->signing.key, id.signing.key.public_key()));
}

TEST(ParseIdentityTest, KeyIdIsThatOfTheSeedsPublicKey) {
  // docs/PROTOCOL.md 4.3: seed 00 01 .. 1f -> key id 56475aa75463474c.
  std::string seed;
  for (int i = 0; i < 32; ++i) seed.push_back(static_cast<char>(i));
  Identity id = NewIdentity("caf", Clock::System()->NowMs(), 365);
  SecretFile f = SecretFileOf(id);
  f.signing_secret = HexEncode(seed);
  f.key_id = "56475aa75463474c";
  f.signing_public =
      "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
  auto back = ParseIdentity(f.Text(), "caf.key.toml");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->signing.key_id, "56475aa75463474c");
  EXPECT_EQ(HexEncode(back->signing.key.public_key().raw()),
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
}

TEST(ParseIdentityTest, ThePublicHalvesMayBeWrittenInUpperCase) {
  Identity id = NewIdentity("caf", Clock::System()->NowMs(), 365);
  SecretFile f = SecretFileOf(id);
  for (char& c : *f.signing_public) c = static_cast<char>(std::toupper(c));
  auto back = ParseIdentity(f.Text(), "caf.key.toml");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->signing.key_id, id.signing.key_id);
}

TEST(ParseIdentityTest, RoundTripsThroughItsOwnText) {
  Identity id =
      NewIdentity("france-services/paris-15", Clock::System()->NowMs(), 365);
  // A window that does not start on a second survives too.
  id.signing.not_before_ms += 1;
  id.signing.not_after_ms -= 1;
  auto back = ParseIdentity(IdentityToToml(id), "t");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->participant, id.participant);
  EXPECT_EQ(back->curve.secret_z85, id.curve.secret_z85);
  EXPECT_EQ(back->signing.key.seed(), id.signing.key.seed());
  EXPECT_EQ(back->signing.key_id, id.signing.key_id);
  EXPECT_EQ(back->signing.not_before_ms, id.signing.not_before_ms);
  EXPECT_EQ(back->signing.not_after_ms, id.signing.not_after_ms);
}

TEST(ParseIdentityTest, RefusesEachMalformedField) {
  Identity id = NewIdentity("caf", Clock::System()->NowMs(), 365);
  const SecretFile good = SecretFileOf(id);
  ASSERT_TRUE(ParseIdentity(good.Text(), "caf.key.toml").ok());

  std::vector<std::pair<std::string, std::string>> cases;
  auto with = [&](const std::string& name, auto spoil) {
    SecretFile f = good;
    spoil(f);
    cases.emplace_back(name, f.Text());
  };
  cases.emplace_back("not TOML", "participant = \"caf\n[curve\n");
  cases.emplace_back("empty", "");
  with("no participant", [](SecretFile& f) { f.participant.reset(); });
  with("empty participant", [](SecretFile& f) { f.participant = ""; });
  with("bad participant", [](SecretFile& f) { f.participant = "CAF"; });
  with("no [curve]", [](SecretFile& f) { f.curve_table = false; });
  with("no [signing]", [](SecretFile& f) { f.signing_table = false; });
  with("no curve secret", [](SecretFile& f) { f.curve_secret.reset(); });
  with("curve secret not Z85",
       [](SecretFile& f) { f.curve_secret = std::string(40, ','); });
  with("curve secret not a whole Z85 text",
       [](SecretFile& f) { f.curve_secret = f.curve_secret->substr(0, 38); });
  with("curve secret of 24 bytes",
       [](SecretFile& f) { f.curve_secret = f.curve_secret->substr(0, 30); });
  with("no signing secret", [](SecretFile& f) { f.signing_secret.reset(); });
  with("signing secret not hex",
       [](SecretFile& f) { f.signing_secret = std::string(64, 'z'); });
  with("signing secret odd length", [](SecretFile& f) {
    f.signing_secret = f.signing_secret->substr(0, 63);
  });
  with("signing secret of 31 bytes", [](SecretFile& f) {
    f.signing_secret = f.signing_secret->substr(0, 62);
  });
  with("signing secret of 33 bytes",
       [](SecretFile& f) { *f.signing_secret += "00"; });
  with("no not_before", [](SecretFile& f) { f.not_before.reset(); });
  with("no not_after", [](SecretFile& f) { f.not_after.reset(); });
  with("not_before with a space",
       [](SecretFile& f) { f.not_before = "2026-11-23 07:51:59Z"; });
  with("not_after with an offset",
       [](SecretFile& f) { f.not_after = "2027-11-23T07:51:59+01:00"; });
  with("not_after on 30 February",
       [](SecretFile& f) { f.not_after = "2027-02-30T07:51:59Z"; });
  with("not_before a TOML date, not a string", [](SecretFile& f) {
    f.not_before.reset();
    f.signing_extra = "not_before = 2026-11-23T07:51:59Z\n";
  });
  // Edited by hand: what the file says is not what it holds.
  with("not_after before not_before",
       [](SecretFile& f) { std::swap(f.not_before, f.not_after); });
  with("a curve public that is not the secret's",
       [](SecretFile& f) { f.curve_public = "abc"; });
  with("a signing public that is not the secret's",
       [](SecretFile& f) { f.signing_public = "00"; });
  with("an empty key_id", [](SecretFile& f) { f.key_id = ""; });
  with("a misspelt key in [signing]",
       [](SecretFile& f) { f.signing_extra = "not_afer = \"x\"\n"; });
  cases.emplace_back("an unknown key at the top",
                     "colour = \"blue\"\n" + good.Text());
  for (const auto& [name, text] : cases) {
    SCOPED_TRACE(name);
    auto r = ParseIdentity(text, "keys/caf.key.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("keys/caf.key.toml", 0), 0u)
        << r.status().message();
  }
}

// --- ParsePublicIdentity ---------------------------------------------------

TEST(ParsePublicIdentityTest, ReadsSeveralKeysInOrderWithTheirRevocation) {
  const int64_t now = Clock::System()->NowMs();
  Identity old_key = NewIdentity("caf", now - 300 * kDayMs, 365);
  Identity new_key = NewIdentity("caf", now, 365);
  PublicFile f = PublicFileOf(old_key);
  f.keys[0].extra = "revoked = true\n";
  f.keys.push_back(KeyTableOf(new_key));
  f.keys.back().extra = "revoked = false\n";
  auto pub = ParsePublicIdentity(f.Text(), "caf.pub.toml");
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(pub->participant, "caf");
  EXPECT_EQ(pub->curve_public_z85, old_key.curve.public_z85);
  ASSERT_EQ(pub->signing_keys.size(), 2u);
  EXPECT_EQ(pub->signing_keys[0].key_id, old_key.signing.key_id);
  EXPECT_EQ(pub->signing_keys[0].key.raw(),
            old_key.signing.key.public_key().raw());
  EXPECT_TRUE(pub->signing_keys[0].revoked);
  EXPECT_EQ(pub->signing_keys[0].not_before_ms, old_key.signing.not_before_ms);
  EXPECT_EQ(pub->signing_keys[0].not_after_ms, old_key.signing.not_after_ms);
  EXPECT_EQ(pub->signing_keys[1].key_id, new_key.signing.key_id);
  EXPECT_FALSE(pub->signing_keys[1].revoked);
  EXPECT_EQ(pub->signing_keys[1].not_after_ms, new_key.signing.not_after_ms);
  // Its own text gives it back, revocation included.
  auto again = ParsePublicIdentity(PublicIdentityToToml(*pub), "t");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->signing_keys.size(), 2u);
  EXPECT_TRUE(again->signing_keys[0].revoked);
  EXPECT_FALSE(again->signing_keys[1].revoked);
  EXPECT_EQ(again->signing_keys[1].key.raw(),
            new_key.signing.key.public_key().raw());
}

TEST(ParsePublicIdentityTest, MillisecondsOfTheWindowSurviveTheText) {
  Identity id = NewIdentity("cpam", Clock::System()->NowMs(), 365);
  PublicIdentity pub = PublicOf(id);
  pub.signing_keys[0].not_before_ms += 1;
  pub.signing_keys[0].not_after_ms += 999;
  auto back = ParsePublicIdentity(PublicIdentityToToml(pub), "t");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->signing_keys[0].not_before_ms,
            pub.signing_keys[0].not_before_ms);
  EXPECT_EQ(back->signing_keys[0].not_after_ms,
            pub.signing_keys[0].not_after_ms);
}

TEST(ParsePublicIdentityTest, RefusesEachMalformedField) {
  const int64_t now = Clock::System()->NowMs();
  Identity id = NewIdentity("caf", now, 365);
  Identity other = NewIdentity("cpam", now, 365);
  const PublicFile good = PublicFileOf(id);
  ASSERT_TRUE(ParsePublicIdentity(good.Text(), "caf.pub.toml").ok());

  std::vector<std::pair<std::string, std::string>> cases;
  auto with = [&](const std::string& name, auto spoil) {
    PublicFile f = good;
    spoil(f);
    cases.emplace_back(name, f.Text());
  };
  cases.emplace_back("not TOML", "participant = 'caf\n");
  with("no participant", [](PublicFile& f) { f.participant.reset(); });
  with("bad participant",
       [](PublicFile& f) { f.participant = "france services"; });
  with("no curve_public", [](PublicFile& f) { f.curve_public.reset(); });
  with("curve_public not Z85",
       [](PublicFile& f) { f.curve_public = std::string(40, ','); });
  with("curve_public of 24 bytes",
       [](PublicFile& f) { f.curve_public = f.curve_public->substr(0, 30); });
  with("curve_public of 36 bytes",
       [](PublicFile& f) { f.curve_public = *f.curve_public + "00000"; });
  with("no signing key", [](PublicFile& f) { f.keys.clear(); });
  with("an empty list of signing keys", [](PublicFile& f) {
    f.keys.clear();
    f.extra_top = "signing_keys = []\n";
  });
  with("signing keys that are not tables", [](PublicFile& f) {
    f.keys.clear();
    f.extra_top = "signing_keys = [\"a\", \"b\"]\n";
  });
  with("no key_id", [](PublicFile& f) { f.keys[0].key_id.reset(); });
  with("no public", [](PublicFile& f) { f.keys[0].public_hex.reset(); });
  with("public not hex",
       [](PublicFile& f) { f.keys[0].public_hex = std::string(64, 'g'); });
  with("public of 31 bytes", [](PublicFile& f) {
    f.keys[0].public_hex = f.keys[0].public_hex->substr(0, 62);
  });
  with("key_id of another key",
       [&](PublicFile& f) { f.keys[0].key_id = other.signing.key_id; });
  with("public of another key", [&](PublicFile& f) {
    f.keys[0].public_hex = HexEncode(other.signing.key.public_key().raw());
  });
  with("key_id in upper case", [](PublicFile& f) {
    for (char& c : *f.keys[0].key_id) c = static_cast<char>(std::toupper(c));
  });
  with("no not_before", [](PublicFile& f) { f.keys[0].not_before.reset(); });
  with("no not_after", [](PublicFile& f) { f.keys[0].not_after.reset(); });
  with("not_after in local time",
       [](PublicFile& f) { f.keys[0].not_after = "2027-11-23T07:51:59"; });
  with("not_before as a TOML date", [](PublicFile& f) {
    f.keys[0].not_before.reset();
    f.keys[0].extra = "not_before = 2026-11-23T07:51:59Z\n";
  });
  with("not_after before not_before (never valid)", [](PublicFile& f) {
    std::swap(f.keys[0].not_before, f.keys[0].not_after);
  });
  with("not_after equal to not_before",
       [](PublicFile& f) { f.keys[0].not_after = f.keys[0].not_before; });
  with("an unknown key at the top",
       [](PublicFile& f) { f.extra_top = "colour = \"blue\"\n"; });
  with("a good key then a bad one", [&](PublicFile& f) {
    f.keys.push_back(KeyTableOf(other));
    f.keys[1].not_after = "tomorrow";
  });
  for (const auto& [name, text] : cases) {
    SCOPED_TRACE(name);
    auto r = ParsePublicIdentity(text, "registry/caf.pub.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("registry/caf.pub.toml", 0), 0u)
        << r.status().message();
  }
}

// A revocation that is not `revoked = true` must not leave the key usable,
// but core/keys.cc (ParsePublicSigningKey) reads the flag with
// value_or(false) and checks no unknown keys: `revoked = "true"` or a
// misspelt `revokd = true` is silently "not revoked" (fail-open). Disabled
// until the parser refuses them.
TEST(ParsePublicIdentityTest, RevocationThatIsNotABooleanIsRefused) {
  Identity id = NewIdentity("caf", Clock::System()->NowMs(), 365);
  for (const char* extra :
       {"revoked = \"true\"\n", "revoked = 1\n", "revokd = true\n"}) {
    SCOPED_TRACE(extra);
    PublicFile f = PublicFileOf(id);
    f.keys[0].extra = extra;
    auto pub = ParsePublicIdentity(f.Text(), "caf.pub.toml");
    ASSERT_FALSE(pub.ok());
    EXPECT_EQ(pub.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(pub.status().message().find("caf.pub.toml"), std::string::npos);
  }
}

// --- Files -----------------------------------------------------------------

using KeyFilesTest = ::relais::testing::TestDirFixture;

TEST_F(KeyFilesTest, SecretFileIsPrivateAndLoadsBack) {
  Identity id = NewIdentity("caf", Clock::System()->NowMs(), 365);
  // A readable file already there is replaced by a private one.
  Spit(Path("caf.key.toml"), "old");
  ASSERT_EQ(::chmod(Path("caf.key.toml").c_str(), 0644), 0);
  ASSERT_TRUE(WriteIdentityFile(id, Path("caf.key.toml")).ok());
  EXPECT_EQ(ModeOf(Path("caf.key.toml")), 0600);
  EXPECT_EQ(FileNames(dir_), std::vector<std::string>{"caf.key.toml"});
  auto back = LoadIdentityFile(Path("caf.key.toml"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->participant, "caf");
  EXPECT_EQ(back->curve.secret_z85, id.curve.secret_z85);
  EXPECT_EQ(back->signing.key.seed(), id.signing.key.seed());
  EXPECT_EQ(back->signing.key_id, id.signing.key_id);
  EXPECT_EQ(back->signing.not_before_ms, id.signing.not_before_ms);
  EXPECT_EQ(back->signing.not_after_ms, id.signing.not_after_ms);
}

TEST_F(KeyFilesTest, PublicFileHoldsNoSecretAndLoadsBack) {
  Identity id = NewIdentity("dgfip", Clock::System()->NowMs(), 365);
  ASSERT_TRUE(
      WritePublicIdentityFile(PublicOf(id), Path("dgfip.pub.toml")).ok());
  const std::string text = Slurp(Path("dgfip.pub.toml"));
  EXPECT_EQ(text.find(HexEncode(id.signing.key.seed())), std::string::npos);
  EXPECT_EQ(text.find(id.curve.secret_z85), std::string::npos);
  auto back = LoadPublicIdentityFile(Path("dgfip.pub.toml"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->participant, "dgfip");
  EXPECT_EQ(back->curve_public_z85, id.curve.public_z85);
  ASSERT_EQ(back->signing_keys.size(), 1u);
  EXPECT_EQ(back->signing_keys[0].key.raw(), id.signing.key.public_key().raw());
}

TEST_F(KeyFilesTest, LoadNamesTheFileOfEachError) {
  auto missing = LoadIdentityFile(Path("absent.key.toml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  auto missing_pub = LoadPublicIdentityFile(Path("absent.pub.toml"));
  ASSERT_FALSE(missing_pub.ok());
  EXPECT_EQ(missing_pub.status().code(), Status::Code::kNotFound);

  // A secret file is not a public one, nor the other way round.
  Identity id = NewIdentity("caf", Clock::System()->NowMs(), 365);
  ASSERT_TRUE(WriteIdentityFile(id, Path("caf.key.toml")).ok());
  ASSERT_TRUE(WritePublicIdentityFile(PublicOf(id), Path("caf.pub.toml")).ok());
  auto swapped_pub = LoadPublicIdentityFile(Path("caf.key.toml"));
  ASSERT_FALSE(swapped_pub.ok());
  EXPECT_NE(swapped_pub.status().message().find(Path("caf.key.toml")),
            std::string::npos);
  ASSERT_EQ(::chmod(Path("caf.pub.toml").c_str(), 0600), 0);  // its text
  auto swapped = LoadIdentityFile(Path("caf.pub.toml"));
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(swapped.status().message().find(Path("caf.pub.toml")),
            std::string::npos);

  // Over 1 MiB is refused before it is parsed, even if it is valid TOML.
  Spit(Path("big.key.toml"),
       IdentityToToml(id) + "# " + std::string(1 << 20, 'x') + "\n");
  ASSERT_EQ(::chmod(Path("big.key.toml").c_str(), 0600), 0);
  auto big = LoadIdentityFile(Path("big.key.toml"));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(big.status().message().find("is larger than"), std::string::npos)
      << big.status().message();
}

// A secret key that every user of the machine may read (or change) is
// refused, unread; its group may read it.
TEST_F(KeyFilesTest, ASecretFileOthersMayReadIsRefused) {
  Identity id = NewIdentity("caf", Clock::System()->NowMs(), 365);
  ASSERT_TRUE(WriteIdentityFile(id, Path("caf.key.toml")).ok());
  for (const mode_t mode : {0644, 0602, 0604}) {
    ASSERT_EQ(::chmod(Path("caf.key.toml").c_str(), mode), 0);
    auto refused = LoadIdentityFile(Path("caf.key.toml"));
    ASSERT_FALSE(refused.ok()) << mode;
    EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
    char shown[8];
    std::snprintf(shown, sizeof(shown), "%04o", static_cast<unsigned>(mode));
    EXPECT_EQ(refused.status().message(),
              Path("caf.key.toml") +
                  " holds a secret key and every user of this machine may "
                  "read or change it (mode " +
                  shown + "): make it the owner's only (chmod 600)");
  }
  for (const mode_t mode : {0600, 0640, 0400}) {
    ASSERT_EQ(::chmod(Path("caf.key.toml").c_str(), mode), 0);
    auto loaded = LoadIdentityFile(Path("caf.key.toml"));
    EXPECT_TRUE(loaded.ok()) << mode << " " << loaded.status().ToString();
  }
  // The same for a subject key.
  ASSERT_TRUE(WriteSubjectKey(Path("subject.key"), std::string(32, 'k')).ok());
  EXPECT_TRUE(LoadSubjectKey(Path("subject.key")).ok());
  ASSERT_EQ(::chmod(Path("subject.key").c_str(), 0644), 0);
  auto subject = LoadSubjectKey(Path("subject.key"));
  ASSERT_FALSE(subject.ok());
  EXPECT_NE(subject.status().message().find("holds a secret key"),
            std::string::npos);
}

// --- KeyDirectory ----------------------------------------------------------

TEST(KeyDirectoryTest, AddFindAndDuplicates) {
  const int64_t now = Clock::System()->NowMs();
  Identity caf = NewIdentity("caf", now, 365);
  Identity cpam = NewIdentity("cpam", now, 365);
  KeyDirectory dir;
  EXPECT_EQ(dir.Find("caf"), nullptr);
  ASSERT_TRUE(dir.Add(PublicOf(cpam)).ok());
  ASSERT_TRUE(dir.Add(PublicOf(caf)).ok());
  // The same participant again, even with other keys, is refused and does
  // not replace the first.
  Identity caf2 = NewIdentity("caf", now, 365);
  Status twice = dir.Add(PublicOf(caf2));
  EXPECT_EQ(twice.code(), Status::Code::kInvalidArgument);
  ASSERT_NE(dir.Find("caf"), nullptr);
  EXPECT_EQ(dir.Find("caf")->curve_public_z85, caf.curve.public_z85);
  ASSERT_NE(dir.Find("cpam"), nullptr);
  EXPECT_EQ(dir.Find("cpam")->curve_public_z85, cpam.curve.public_z85);
  EXPECT_EQ(dir.Find("dgfip"), nullptr);
  EXPECT_EQ(dir.Find("CAF"), nullptr);
  ASSERT_EQ(dir.all().size(), 2u);
  EXPECT_EQ(dir.all().begin()->first, "caf");
}

TEST(KeyDirectoryTest, WindowIsInclusiveAtBothEnds) {
  const int64_t now = Clock::System()->NowMs();
  Identity id = NewIdentity("caf", now, 10);
  const int64_t from = id.signing.not_before_ms;
  const int64_t to = id.signing.not_after_ms;
  KeyDirectory dir;
  ASSERT_TRUE(dir.Add(PublicOf(id)).ok());
  const std::string& kid = id.signing.key_id;

  for (int64_t at : {from, from + 1, now, to - 1, to}) {
    SCOPED_TRACE(at - from);
    auto key = dir.FindSigningKey("caf", kid, at);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ((*key)->key_id, kid);
    EXPECT_EQ((*key)->key.raw(), id.signing.key.public_key().raw());
  }
  for (int64_t at : {from - 1, from - kDayMs, to + 1, to + kDayMs}) {
    SCOPED_TRACE(at - from);
    auto key = dir.FindSigningKey("caf", kid, at);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), Status::Code::kRejected);
    EXPECT_EQ(key.status().reject_code(), wire::RejectCode::SigningKeyNotValid);
    // The reason gives the window.
    EXPECT_NE(key.status().message().find(FormatTimestamp(to)),
              std::string::npos)
        << key.status().message();
  }
}

TEST(KeyDirectoryTest, RevokedKeyIsNotValidInsideItsWindow) {
  const int64_t now = Clock::System()->NowMs();
  Identity id = NewIdentity("caf", now, 365);
  PublicIdentity pub = PublicOf(id);
  pub.signing_keys[0].revoked = true;
  KeyDirectory dir;
  ASSERT_TRUE(dir.Add(pub).ok());
  auto key = dir.FindSigningKey("caf", id.signing.key_id, now);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().reject_code(), wire::RejectCode::SigningKeyNotValid);
  EXPECT_NE(key.status().message().find("revoked"), std::string::npos);
}

TEST(KeyDirectoryTest, RotationFindsTheKeyAskedFor) {
  // The old key from 300 days ago for a year, the new one from now: they
  // overlap for 65 days.
  const int64_t now = Clock::System()->NowMs();
  Identity old_id = NewIdentity("caf", now - 300 * kDayMs, 365);
  Identity new_id = NewIdentity("caf", now, 365);
  PublicIdentity pub = PublicOf(old_id);
  pub.signing_keys.push_back(PublicOf(new_id).signing_keys[0]);
  KeyDirectory dir;
  ASSERT_TRUE(dir.Add(pub).ok());
  const std::string& old_kid = old_id.signing.key_id;
  const std::string& new_kid = new_id.signing.key_id;

  // In the overlap both are usable, each found as itself.
  auto old_key = dir.FindSigningKey("caf", old_kid, now + kDayMs);
  auto new_key = dir.FindSigningKey("caf", new_kid, now + kDayMs);
  ASSERT_TRUE(old_key.ok() && new_key.ok());
  EXPECT_EQ((*old_key)->key.raw(), old_id.signing.key.public_key().raw());
  EXPECT_EQ((*new_key)->key.raw(), new_id.signing.key.public_key().raw());
  EXPECT_EQ(*new_key, &dir.Find("caf")->signing_keys[1]);
  // Before the new key starts only the old one is; after the old one ends,
  // only the new one.
  EXPECT_TRUE(dir.FindSigningKey("caf", old_kid, now - kDayMs).ok());
  EXPECT_EQ(
      dir.FindSigningKey("caf", new_kid, now - kDayMs).status().reject_code(),
      wire::RejectCode::SigningKeyNotValid);
  const int64_t after_old = old_id.signing.not_after_ms + 1;
  EXPECT_EQ(
      dir.FindSigningKey("caf", old_kid, after_old).status().reject_code(),
      wire::RejectCode::SigningKeyNotValid);
  EXPECT_TRUE(dir.FindSigningKey("caf", new_kid, after_old).ok());
}

TEST(KeyDirectoryTest, UnknownParticipantOrKeyIdIsUnknownSigningKey) {
  const int64_t now = Clock::System()->NowMs();
  Identity caf = NewIdentity("caf", now, 365);
  Identity cpam = NewIdentity("cpam", now, 365);
  KeyDirectory dir;
  ASSERT_TRUE(dir.Add(PublicOf(caf)).ok());
  ASSERT_TRUE(dir.Add(PublicOf(cpam)).ok());
  struct Case {
    std::string participant, key_id;
  };
  for (const auto& c : std::vector<Case>{
           {"caf", "ffffffffffffffff"},
           {"caf", ""},
           {"caf", cpam.signing.key_id},  // another participant's key
           {"cpam", caf.signing.key_id},
           {"dgfip", caf.signing.key_id},  // an unknown participant
           {"", caf.signing.key_id},
       }) {
    SCOPED_TRACE(c.participant + " " + c.key_id);
    auto key = dir.FindSigningKey(c.participant, c.key_id, now);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), Status::Code::kRejected);
    EXPECT_EQ(key.status().reject_code(), wire::RejectCode::UnknownSigningKey);
  }
  // The key id alone, out of its window, is still "not valid", not
  // "unknown".
  EXPECT_EQ(dir.FindSigningKey("caf", caf.signing.key_id,
                               caf.signing.not_after_ms + 1)
                .status()
                .reject_code(),
            wire::RejectCode::SigningKeyNotValid);
}

TEST_F(KeyFilesTest, LoadDirReadsOnlyPublicIdentityFiles) {
  const int64_t now = Clock::System()->NowMs();
  Identity caf = NewIdentity("caf", now, 365);
  Identity paris = NewIdentity("france-services/paris-15", now, 365);
  ASSERT_TRUE(
      WritePublicIdentityFile(PublicOf(caf), Path("caf.pub.toml")).ok());
  ASSERT_TRUE(
      WritePublicIdentityFile(PublicOf(paris),
                              Path(FileNameOf(paris.participant) + ".pub.toml"))
          .ok());
  // Neither the secret file, nor a leftover temporary of an interrupted
  // write, nor other names are read (each would fail or be a duplicate).
  ASSERT_TRUE(WriteIdentityFile(caf, Path("caf.key.toml")).ok());
  Spit(Path(".caf.pub.toml.tmp"), "half a fi");
  Spit(Path("caf.pub.toml.bak"), PublicIdentityToToml(PublicOf(caf)));
  Spit(Path(".pub.toml"), "garbage");
  Spit(Path("notes.txt"), "garbage");
  fs::create_directory(dir_ / "sub");
  Spit(dir_ / "sub" / "cpam.pub.toml", "garbage");

  auto dir = KeyDirectory::LoadDir(dir_.string());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  ASSERT_EQ(dir->all().size(), 2u);
  ASSERT_NE(dir->Find("caf"), nullptr);
  ASSERT_NE(dir->Find("france-services/paris-15"), nullptr);
  EXPECT_TRUE(
      dir->FindSigningKey("france-services/paris-15", paris.signing.key_id, now)
          .ok());
}

TEST_F(KeyFilesTest, LoadDirFailsOnAnyBadFileOrADuplicate) {
  const int64_t now = Clock::System()->NowMs();
  auto empty = KeyDirectory::LoadDir(dir_.string());
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->all().empty());

  auto absent = KeyDirectory::LoadDir(Path("absent"));
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), Status::Code::kIOError);

  Identity caf = NewIdentity("caf", now, 365);
  ASSERT_TRUE(WritePublicIdentityFile(PublicOf(caf), Path("a.pub.toml")).ok());
  Spit(Path("b.pub.toml"), "participant = \"cpam\"\n");
  auto bad = KeyDirectory::LoadDir(dir_.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(Path("b.pub.toml")), std::string::npos)
      << bad.status().message();

  // The same participant under two names.
  Identity caf2 = NewIdentity("caf", now, 365);
  ASSERT_TRUE(WritePublicIdentityFile(PublicOf(caf2), Path("b.pub.toml")).ok());
  auto twice = KeyDirectory::LoadDir(dir_.string());
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(twice.status().message().find("caf"), std::string::npos);
}

TEST(KeyDirectoryTest, AFreshIdentityIsUsableNow) {
  // What relais keygen does: valid from now. Whatever the date (faketime).
  Identity id = NewIdentity("caf", Clock::System()->NowMs(), 365);
  KeyDirectory dir;
  ASSERT_TRUE(dir.Add(PublicOf(id)).ok());
  EXPECT_TRUE(
      dir.FindSigningKey("caf", id.signing.key_id, Clock::System()->NowMs())
          .ok());
  EXPECT_FALSE(dir.FindSigningKey("caf", id.signing.key_id,
                                  Clock::System()->NowMs() + 366 * kDayMs)
                   .ok());
}

}  // namespace
}  // namespace relais
