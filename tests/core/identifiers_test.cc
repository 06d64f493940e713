#include "core/identifiers.h"

#include <gtest/gtest.h>

#include "core/ids.h"

namespace relais {
namespace {

TEST(NirTest, KeyOfKnownNumbers) {
  // 1 84 12 76 451 089, key 46 (INSEE's published example).
  EXPECT_EQ(*NirKey("1841276451089"), "46");
  EXPECT_TRUE(ValidateNir("184127645108946").ok());
}

// The error names the rule, never a digit of the NIR: it may be logged.
TEST(NirTest, BadKeyIsRejectedWithoutRepeatingADigit) {
  Status st = ValidateNir("184127645108947");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            "NIR key does not match the first 13 characters (it must be 97 "
            "minus their number modulo 97)");
  EXPECT_EQ(st.message().find("46"), std::string::npos);  // the right key
  EXPECT_EQ(st.message().find("47"), std::string::npos);  // the given key
}

TEST(NirTest, CorsicaCountsAs19And18) {
  // 2A -> 19: the key is computed on 2 69 05 19 ... and 2B -> 18.
  const std::string corse_a = "269052A123456";
  uint64_t n = std::stoull("2690519123456");
  char expected[3];
  std::snprintf(expected, sizeof expected, "%02u", unsigned(97 - n % 97));
  EXPECT_EQ(*NirKey(corse_a), expected);
  uint64_t nb = std::stoull("2690518123456");
  std::snprintf(expected, sizeof expected, "%02u", unsigned(97 - nb % 97));
  EXPECT_EQ(*NirKey("269052B123456"), expected);
  EXPECT_NE(*NirKey("269052A123456"), *NirKey("269052B123456"));
  EXPECT_TRUE(ValidateNir(*AddNirKey("269052A123456")).ok());
}

TEST(NirTest, MalformedNumbers) {
  EXPECT_FALSE(ValidateNir("").ok());
  EXPECT_FALSE(ValidateNir("18412764510894").ok());   // 14 characters
  EXPECT_FALSE(ValidateNir("1841276X5108946").ok());  // letter
  EXPECT_FALSE(ValidateNir("584127645108946").ok());  // first digit 5
  EXPECT_FALSE(NirKey("269052C123456").ok());         // 2C is not Corsica
}

TEST(NirTest, AddAndStripKey) {
  EXPECT_EQ(*AddNirKey("1841276451089"), "184127645108946");
  EXPECT_EQ(*StripNirKey("184127645108946"), "1841276451089");
  EXPECT_FALSE(StripNirKey("184127645108900").ok());
}

TEST(FiscalNumberTest, ValidAndInvalid) {
  // 0123456789 mod 511 = 211.
  EXPECT_TRUE(ValidateFiscalNumber("0123456789211").ok());
  const uint64_t base = 2999999999ULL;
  char spi[14];
  std::snprintf(spi, sizeof spi, "%010llu%03llu", (unsigned long long)base,
                (unsigned long long)(base % 511));
  EXPECT_TRUE(ValidateFiscalNumber(spi).ok()) << spi;
  Status bad = ValidateFiscalNumber("0123456789212");
  ASSERT_FALSE(bad.ok());
  // Neither the right nor the given check digits are repeated.
  EXPECT_EQ(bad.message(),
            "numéro fiscal check digits do not match the first 10 digits (they "
            "must be their number modulo 511)");
  EXPECT_FALSE(ValidateFiscalNumber("4123456789211").ok());  // first digit 4
  EXPECT_FALSE(ValidateFiscalNumber("012345678921").ok());   // 12 digits
  EXPECT_FALSE(ValidateFiscalNumber("01234567892a1").ok());
}

TEST(IdsTest, ParticipantIds) {
  EXPECT_TRUE(IsValidParticipantId("caf"));
  EXPECT_TRUE(IsValidParticipantId("france-travail"));
  EXPECT_TRUE(IsValidParticipantId("france-services/paris-15"));
  EXPECT_FALSE(IsValidParticipantId(""));
  EXPECT_FALSE(IsValidParticipantId("CAF"));
  EXPECT_FALSE(IsValidParticipantId("-caf"));
  EXPECT_FALSE(IsValidParticipantId("a/b/c"));
  EXPECT_FALSE(IsValidParticipantId("france-services/"));
  EXPECT_FALSE(IsValidParticipantId(std::string(65, 'a')));
}

TEST(IdsTest, CaseIds) {
  auto id = NewCaseId(1795435200000);  // 2026-11-23
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->substr(0, 11), "c-20261123-");
  EXPECT_TRUE(IsValidCaseId(*id));
  EXPECT_FALSE(IsValidCaseId("case with space"));
  EXPECT_FALSE(IsValidCaseId(""));
  EXPECT_NE(*NewCaseId(0), *NewCaseId(0));
  EXPECT_EQ(CaseIdProblem("case with space"),
            "must be 1 to 64 characters of A-Z a-z 0-9 . _ : -");
}

// A case id is logged and shown to every party: a new one holding a NIR
// is refused, and the reason does not repeat it. Its syntax stays valid:
// a case journaled before the rule can still be named.
TEST(IdsTest, ACaseIdHoldingANirIsRefused) {
  const std::string corse = "269052A123456" + *NirKey("269052A123456");
  const std::string corse_lower = "269052a123456" + *NirKey("269052A123456");
  for (const std::string& id :
       {std::string("184127645108946"), std::string("dossier-184127645108946"),
        std::string("184127645108946.2026"), "x_" + corse,
        "x_" + corse_lower}) {
    EXPECT_TRUE(HoldsNir(id)) << id;
    EXPECT_TRUE(IsValidCaseId(id)) << id;
    const std::string why = CaseIdProblem(id);
    EXPECT_NE(why.find("holds a NIR"), std::string::npos) << why;
    EXPECT_EQ(why.find("184127645108946"), std::string::npos) << why;
  }
  // Not a NIR: a wrong key, 14 or 16 digits, a NIR inside a longer run,
  // the millisecond times that ids often carry.
  for (const std::string_view id :
       {"184127645108947", "18412764510894", "1841276451089460",
        "c-1795435200000", "A184127645108946", "184127645108946b",
        "c-20261123-0123456789ab"}) {
    EXPECT_FALSE(HoldsNir(id)) << id;
    EXPECT_EQ(CaseIdProblem(id), "") << id;
  }
}

}  // namespace
TEST(IdentifiersTest, IdentityPivotMustAgreeWithTheNir) {
  EXPECT_TRUE(NirAgreesWithSex("284057512345672", true).ok());
  EXPECT_TRUE(NirAgreesWithSex("188063306304586", false).ok());
  EXPECT_TRUE(NirAgreesWithSex("7880633063045", false).ok());  // temporary
  // The messages name no value: neither the NIR's digits nor the date.
  EXPECT_EQ(NirAgreesWithSex("284057512345672", false).message(),
            "does not agree with the NIR's first digit (1, 3 or 7: male; 2, 4 "
            "or 8: female)");
  EXPECT_TRUE(NirAgreesWithBirthDate("284057512345672", "1984-05-12").ok());
  EXPECT_EQ(NirAgreesWithBirthDate("284057512345672", "1985-05-12").message(),
            "the year does not agree with the NIR (its 2nd and 3rd digits)");
  EXPECT_EQ(NirAgreesWithBirthDate("284057512345672", "1984-06-12").message(),
            "the month does not agree with the NIR (its 4th and 5th digits)");
  // Month 20 or above: unknown, only the year is compared.
  EXPECT_TRUE(NirAgreesWithBirthDate("2842099123456", "1984-11-30").ok());
  EXPECT_TRUE(NirAgreesWithBirthDate("", "1984-11-30").ok());
}

}  // namespace relais
