// The rules of a case event (core/case_check.h) and the positions of JSON
// values (core/json_positions.h).

#include "core/case_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/files.h"
#include "core/json_positions.h"
#include "tests/support/fixtures.h"

namespace relais {
namespace {

using json = nlohmann::json;
using testing::SourcePath;

json Sample(const std::string& path) {
  auto text = ReadFile(SourcePath(path));
  EXPECT_TRUE(text.ok()) << path;
  return json::parse(*text);
}

// "path: what" for each problem.
std::vector<std::string> Problems(const json& event) {
  auto found = CheckCaseEventJson(event);
  EXPECT_TRUE(found.ok()) << found.status().ToString();
  std::vector<std::string> out;
  for (const auto& p : *found) out.push_back(p.Path() + ": " + p.what);
  return out;
}

json AddressChange() {
  return Sample("deploy/samples/france_services/address_change.json")["event"];
}

TEST(CaseCheckTest, TheSamplesPass) {
  for (const char* file :
       {"deploy/samples/france_services/address_change.json",
        "deploy/samples/france_services/assisted_case.json"}) {
    EXPECT_TRUE(Problems(Sample(file)["event"]).empty()) << file;
  }
}

TEST(CaseCheckTest, EachRuleNamesTheFieldAndNeverTheValue) {
  struct Case {
    const char* pointer;
    json value;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"/body/effective_date", "2026-02-30",
       "body.effective_date: not a date YYYY-MM-DD"},
      // An effective date may come later (a birth cannot: below).
      {"/body/effective_date", "2999-02-01", nullptr},
      {"/body/effective_date", 20260201,
       "body.effective_date: must be a string"},
      {"/body/citizen/identity/sex", "F",
       "body.citizen.identity.sex: must be one of Unspecified, Male, Female"},
      {"/body/new_address/postcode", "7501",
       "body.new_address.postcode: not a postcode (5 digits)"},
      {"/body/new_address/city_cog", "7A056",
       "body.new_address.city_cog: not a COG code (5 digits, or 2A/2B and 3 "
       "digits)"},
      {"/body/new_address/lines", json::array(),
       "body.new_address.lines: must not be empty (leave it out)"},
      {"/body/new_address/city", "Paris\x01",
       "body.new_address.city: holds a control character"},
      {"/body/new_address/city", "",
       "body.new_address.city: must not be empty (leave it out)"},
      {"/body/contact/emial", "a@b.fr",
       "body.contact.emial: unknown field; Contact has email, phone"},
      {"/body/citizen/nir", nullptr,
       "body.citizen.nir: must not be null (leave it out)"},
  };
  for (const Case& c : cases) {
    json event = AddressChange();
    event[json::json_pointer(c.pointer)] = c.value;
    EXPECT_EQ(Problems(event), c.expected == nullptr
                                   ? std::vector<std::string>{}
                                   : std::vector<std::string>{c.expected})
        << c.pointer;
  }
  json event = AddressChange();
  event["body"]["citizen"]["identity"]["birth_date"] = "2999-02-01";
  EXPECT_THAT(Problems(event),
              ::testing::Contains(
                  "body.citizen.identity.birth_date: after today: a birth "
                  "cannot be in the future"));
}

// Each problem carries its rule, for callers that word it themselves
// (the console, in French).
TEST(CaseCheckTest, EachProblemCarriesItsRule) {
  struct Case {
    const char* pointer;
    json value;
    CaseRule rule;
  };
  const std::vector<Case> cases = {
      {"/body/effective_date", "2026-02-30", CaseRule::kDate},
      {"/body/effective_date", 20260201, CaseRule::kNotString},
      {"/body/citizen/identity/sex", "F", CaseRule::kNotOneOf},
      {"/body/new_address/postcode", "7501", CaseRule::kPostcode},
      {"/body/new_address/city_cog", "7A056", CaseRule::kCog},
      {"/body/new_address/lines", json::array(), CaseRule::kEmpty},
      {"/body/new_address/city", "Paris\x01", CaseRule::kControlCharacter},
      {"/body/new_address/city", "\xff", CaseRule::kNotUtf8},
      {"/body/contact/emial", "a@b.fr", CaseRule::kUnknownField},
      {"/body/citizen/nir", nullptr, CaseRule::kNull},
      {"/body/citizen/nir", "1234", CaseRule::kNir},
      {"/body/citizen", "x", CaseRule::kNotObject},
  };
  for (const Case& c : cases) {
    json event = AddressChange();
    event[json::json_pointer(c.pointer)] = c.value;
    auto found = CheckCaseEventJson(event);
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u) << c.pointer;
    EXPECT_EQ((*found)[0].rule, c.rule) << c.pointer;
  }
  json jobs = {{"body_type", "JobSeekerStatus"},
               {"body",
                {{"citizen", AddressChange()["body"]["citizen"]},
                 {"registration_start", "2026-01-05"},
                 {"category", 9}}}};
  auto found = CheckCaseEventJson(jobs);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].rule, CaseRule::kOutOfRange);
  EXPECT_EQ((*found)[0].min, 1);
  EXPECT_EQ((*found)[0].max, 5);
}

TEST(CaseCheckTest, RequiredFieldsAndTheNirAgainstTheIdentity) {
  json event = AddressChange();
  event["body"].erase("effective_date");
  event["body"]["citizen"]["identity"]["sex"] =
      event["body"]["citizen"]["identity"]["sex"] == "Female" ? "Male"
                                                              : "Female";
  const auto found = Problems(event);
  EXPECT_EQ(found,
            (std::vector<std::string>{
                "body.citizen.identity.sex: does not agree with the NIR's "
                "first digit",
                "body.effective_date: missing (AddressChange needs it)"}));
  for (const std::string& p : found) {
    EXPECT_EQ(p.find(event["body"]["citizen"]["nir"].get<std::string>()),
              std::string::npos);
  }
}

TEST(CaseCheckTest, BodyTypeAndReferences) {
  json event = AddressChange();
  event["body_type"] = "Adress";
  EXPECT_EQ(Problems(event),
            std::vector<std::string>{
                "body_type: must be one of AddressChange, Birth, "
                "HouseholdChange, RsaApplication, JobSeekerStatus, "
                "ResourcesUpdate, DeathNotification, AssistedCase"});
  event = AddressChange();
  event["body"]["references"] =
      json::array({{{"agency", "caf"}, {"identifier", "12345678"}},
                   {{"agency", "caf"}, {"identifier", "1234567"}},
                   {{"agency", "dgfip"}, {"identifier", "1"}, {"scpoe", "x"}}});
  EXPECT_EQ(Problems(event),
            (std::vector<std::string>{
                "body.references[0].identifier: must be 1 to 7 digits",
                "body.references[1].agency: a second reference for the same "
                "agency",
                "body.references[2].scpoe: unknown field; AgencyReference "
                "has agency, identifier, scope"}));
}

TEST(CaseCheckTest, ABirthNeedsWhatItsStageNeeds) {
  json event = {{"body_type", "Birth"},
                {"body", {{"stage", "Pregnancy"}, {"parents", json::array()}}}};
  EXPECT_EQ(Problems(event),
            (std::vector<std::string>{
                "body.parents: must not be empty (leave it out)",
                "body.expected_date: missing (a pregnancy needs the expected "
                "date of birth)"}));
}

TEST(JsonPositionsTest, PointsAtEachValueAndFindsRepeatedKeys) {
  const std::string text =
      "{\n  \"a\": {\"b\": [1, {\"c\": \"x\"}]},\n  \"d\": 2,\n  \"d\": 3\n}";
  auto p = JsonPositions::Scan(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto at = [&](const char* ptr) {
    const TextPosition t = p->Of(json::json_pointer(ptr));
    return std::to_string(t.line) + ":" + std::to_string(t.column);
  };
  EXPECT_EQ(at("/a"), "2:8");
  EXPECT_EQ(at("/a/b/1/c"), "2:24");
  EXPECT_EQ(at("/a/b/1/missing"), "2:18");  // its object
  EXPECT_EQ(at("/d"), "4:8");               // the occurrence kept
  ASSERT_EQ(p->repeated().size(), 1u);
  EXPECT_EQ(p->repeated()[0].to_string(), "/d");
}

TEST(JsonPositionsTest, SyntaxErrorsSayWhereNotWhat) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{\"nir\": \"1841276451089\n", "line 1, column 23: a control character"},
      {"{\"a\": 1,}", "line 1, column 9: expected a string"},
      {"[1 2]", "line 1, column 4: expected ',' or ']'"},
      {"{\"a\": 01}", "line 1, column 9: a number with a leading zero"},
      {"{} x", "line 1, column 4: more text after the JSON value"},
      {std::string(300, '['), "nested too deeply"},
  };
  for (const auto& [text, expected] : bad) {
    auto p = JsonPositions::Scan(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_NE(p.status().message().find(expected), std::string::npos)
        << p.status().message();
    EXPECT_EQ(p.status().message().find("1841276"), std::string::npos);
  }
}

}  // namespace
}  // namespace relais
