// Data minimisation: each recipient's view of a case event.
#include "core/minimise.h"

#include <flatbuffers/idl.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/cases.h"
#include "core/files.h"

namespace relais {
namespace {

using Json = nlohmann::ordered_json;

std::string Payload(const Json& event) {
  return *CaseEventFromJson(event.dump());
}

Json Body(const std::string& payload) {
  return Json::parse(*CaseEventToJson(payload))["body"];
}

const Json kCitizen = {{"nir", "284057512345672"},
                       {"identity",
                        {{"birth_name", "MARTIN"},
                         {"given_names", {"Claire"}},
                         {"birth_date", "1984-05-12"},
                         {"sex", "Female"}}}};

Json Refs() {
  return Json::array(
      {{{"agency", "caf"}, {"identifier", "1234567"}},
       {{"agency", "cpam"}, {"identifier", "284057512345672"}},
       {{"agency", "dgfip"}, {"identifier", "0123456789211"}},
       {{"agency", "france-travail"}, {"identifier", "1234567A"}}});
}

// A JSON tree of `table` with every table-typed field filled (down to
// `depth`) and every Citizen set to kCitizen; `citizens` counts them.
Json Filled(const flatbuffers::StructDef& table, int& citizens, int depth) {
  if (table.name == "Citizen") {
    ++citizens;
    return kCitizen;
  }
  Json out = Json::object();
  if (depth == 0) return out;
  for (const flatbuffers::FieldDef* f : table.fields.vec) {
    const flatbuffers::Type& t = f->value.type;
    if (t.struct_def == nullptr || t.struct_def->fixed) continue;
    if (t.base_type == flatbuffers::BASE_TYPE_STRUCT) {
      out[f->name] = Filled(*t.struct_def, citizens, depth - 1);
    } else if (t.base_type == flatbuffers::BASE_TYPE_VECTOR) {
      out[f->name] = Json::array({Filled(*t.struct_def, citizens, depth - 1),
                                  Filled(*t.struct_def, citizens, depth - 1)});
    }
  }
  return out;
}

// The number of "nir" keys at any depth of `j`.
int Nirs(const Json& j) {
  int n = 0;
  if (j.is_object()) {
    n += j.contains("nir") ? 1 : 0;
    for (const auto& [k, v] : j.items()) n += Nirs(v);
  } else if (j.is_array()) {
    for (const auto& v : j) n += Nirs(v);
  }
  return n;
}

// Wherever the schema puts a citizen, in every case type, the view of a
// recipient not entitled to the NIR has none: a Citizen field added to
// cases.fbs without its line in minimise.cc fails here.
TEST(MinimiseTest, NoNirReachesARecipientNotEntitledToIt) {
  auto schema = CasesSchemaParser();
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  for (int i = 1; i <= static_cast<int>(wire::CaseType::AssistedCase); ++i) {
    const std::string body =
        wire::EnumNameCaseType(static_cast<wire::CaseType>(i));
    const auto* table = (*schema)->LookupStruct("relais.wire." + body);
    ASSERT_NE(table, nullptr) << body;
    int citizens = 0;
    const Json filled = Filled(*table, citizens, 3);
    ASSERT_GT(citizens, 0) << body << " has no citizen";
    const std::string payload =
        Payload({{"body_type", body}, {"body", filled}});
    EXPECT_EQ(Nirs(Body(payload)), citizens) << body;
    // The CPAM is entitled and sees every citizen (an RSA applicant's
    // household is for it alone).
    auto cpam = MinimisedPayload(payload, "cpam");
    ASSERT_TRUE(cpam.ok()) << body;
    EXPECT_EQ(Nirs(Body(*cpam)), citizens) << body << ": cpam is entitled";
    auto desk = MinimisedPayload(payload, "france-services/paris-15");
    ASSERT_TRUE(desk.ok()) << body;
    EXPECT_EQ(Nirs(Body(*desk)), 0) << body << ": a NIR left for the desk";
  }
}

TEST(MinimiseTest, EachRecipientKeepsOnlyItsOwnReference) {
  const std::string payload = Payload(
      {{"body_type", "AddressChange"},
       {"body",
        {{"citizen", kCitizen},
         {"effective_date", "2026-12-01"},
         {"new_address",
          {{"lines", {"1 rue A"}}, {"postcode", "69003"}, {"city", "Lyon"}}},
         {"references", Refs()}}}});
  const std::vector<std::string> all = {"caf", "cpam", "dgfip",
                                        "france-travail"};
  auto views = ViewsFor(payload, all);
  ASSERT_TRUE(views.ok());
  ASSERT_EQ(views->size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_EQ((*views)[i].recipients, std::vector<std::string>{all[i]});
    const Json body = Body((*views)[i].payload);
    ASSERT_EQ(body["references"].size(), 1u);
    EXPECT_EQ(body["references"][0]["agency"], all[i]);
    EXPECT_EQ(body["citizen"]["nir"], "284057512345672");  // all entitled
    EXPECT_EQ(body["new_address"]["city"], "Lyon");
  }
}

TEST(MinimiseTest, FieldsGoOnlyToTheAgenciesThatNeedThem) {
  const std::string rsa = Payload(
      {{"body_type", "RsaApplication"},
       {"body",
        {{"applicant", kCitizen},
         {"household", {{{"person", kCitizen}, {"relationship", "Spouse"}}}},
         {"application_date", "2026-11-02"},
         {"css_opposition", false},
         {"monthly_resources_cents", 41250}}}});
  auto views = ViewsFor(rsa, {"cpam", "france-travail"});
  ASSERT_TRUE(views.ok());
  ASSERT_EQ(views->size(), 2u);
  const Json cpam = Body((*views)[0].payload);
  const Json ft = Body((*views)[1].payload);
  EXPECT_EQ(cpam["monthly_resources_cents"], 41250);
  EXPECT_EQ(cpam["household"].size(), 1u);
  EXPECT_FALSE(ft.contains("monthly_resources_cents"));
  EXPECT_FALSE(ft.contains("household"));
  EXPECT_EQ(ft["application_date"], "2026-11-02");

  const std::string household =
      Payload({{"body_type", "HouseholdChange"},
               {"body",
                {{"event", "Pacs"},
                 {"event_date", "2026-10-17"},
                 {"declarant", kCitizen},
                 {"declarant_tax_number", "1456789012063"},
                 {"partner_tax_number", "2987654321330"}}}});
  EXPECT_FALSE(Body(*MinimisedPayload(household, "caf"))
                   .contains("declarant_tax_number"));
  EXPECT_FALSE(
      Body(*MinimisedPayload(household, "caf")).contains("partner_tax_number"));
  EXPECT_EQ(Body(*MinimisedPayload(household, "dgfip"))["partner_tax_number"],
            "2987654321330");

  const std::string job = Payload({{"body_type", "JobSeekerStatus"},
                                   {"body",
                                    {{"citizen", kCitizen},
                                     {"registration_start", "2026-10-01"},
                                     {"category", 1},
                                     {"payments",
                                      {{{"benefit", "ARE"},
                                        {"period_start", "2026-10-01"},
                                        {"period_end", "2026-10-31"},
                                        {"amount_cents", 123456}}}}}}});
  EXPECT_FALSE(Body(*MinimisedPayload(job, "cpam")).contains("payments"));
  EXPECT_EQ(Body(*MinimisedPayload(job, "caf"))["payments"].size(), 1u);
}

TEST(MinimiseTest, TheNirGoesOnlyToEntitledRecipients) {
  const std::string death = Payload({{"body_type", "DeathNotification"},
                                     {"body",
                                      {{"deceased", kCitizen},
                                       {"death_date", "2026-11-15"},
                                       {"death_record_number", "2026-1187"}}}});
  EXPECT_TRUE(NirEntitled("caf"));
  EXPECT_FALSE(NirEntitled("france-services/paris-15"));
  const Json seen = Body(*MinimisedPayload(death, "france-services/paris-15"));
  EXPECT_FALSE(seen["deceased"].contains("nir"));
  EXPECT_EQ(seen["deceased"]["identity"]["birth_name"], "MARTIN");
  // Nothing to cut: the very same bytes (no re-encoding).
  EXPECT_EQ(*MinimisedPayload(death, "dgfip"), death);
  EXPECT_FALSE(MinimisedPayload("not a case event", "caf").ok());
}

}  // namespace
}  // namespace relais
