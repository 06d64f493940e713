// Unit tests of the DGFiP's native formats (adapters/README.md, "DGFiP"):
// tax resources in, address changes out, JSON with DGFiP short codes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/dgfip/translator.h"
#include "adapters/translation/native.h"
#include "core/envelope.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "tests/adapters/translator_fixtures.h"
#include "tests/support/fixtures.h"

namespace relais::adapters::dgfip {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

using relais::testing::AddressChangeEvent;
using relais::testing::EventOf;
using relais::testing::kCaseId;
using relais::testing::ReadSample;

Json Sample() {
  return Json::parse(ReadSample("deploy/samples/dgfip/resources_update.json"));
}

// The sample address change with the DGFiP's reference `spi`.
std::string AddressChangeWithSpi(const std::string& spi) {
  return AddressChangeEvent([&](wire::AddressChangeT& c) {
    auto ref = std::make_unique<wire::AgencyReferenceT>();
    ref->agency = "dgfip";
    ref->identifier = spi;
    c.references.push_back(std::move(ref));
  });
}

// A sealed delivery to dgfip (tests/adapters/translator_fixtures.h).
struct Delivered : relais::testing::Delivery {
  explicit Delivered(std::string payload,
                     wire::CaseType type = wire::CaseType::AddressChange)
      : Delivery("dgfip", std::move(payload), type) {}
};

std::string ErrorOf(const Json& doc) {
  return relais::testing::ErrorOf(
      DgfipTranslator().ReadInbox("f.json", doc.dump()));
}

TEST(DgfipTranslatorTest, AcceptsJsonFilesOnly) {
  DgfipTranslator t;
  EXPECT_TRUE(t.Accepts("rfr-2025-1234567890066.json"));
  EXPECT_FALSE(t.Accepts("rfr.csv"));
}

TEST(DgfipTranslatorTest, ResourcesSampleGoesToCaf) {
  auto cases = DgfipTranslator().ReadInbox("r.json", Sample().dump());
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  ASSERT_EQ(cases->size(), 1u);
  const translation::OutgoingCase& c = (*cases)[0];
  EXPECT_EQ(c.case_type, wire::CaseType::ResourcesUpdate);
  EXPECT_EQ(c.recipients, (std::vector<std::string>{"caf"}));
  const auto* r = EventOf(c).body_as_ResourcesUpdate();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(StringView(r->tax_number()), "1234567890066");
  EXPECT_EQ(StringView(r->citizen()->nir()), "175055935012347");
  EXPECT_EQ(StringView(r->citizen()->identity()->birth_name()), "BERNARD");
  EXPECT_EQ(StringView(r->citizen()->identity()->birth_date()), "1975-05-30");
  EXPECT_EQ(r->citizen()->identity()->sex(), wire::Sex::Male);
  EXPECT_EQ(r->income_year(), 2025);
  EXPECT_EQ(r->reference_tax_income_eur(), 23456);
  EXPECT_DOUBLE_EQ(r->tax_parts(), 2.5);
  EXPECT_EQ(r->family_situation(), wire::FamilySituation::Married);
  ASSERT_EQ(r->dependants()->size(), 1u);
  const auto* pac = r->dependants()->Get(0);
  EXPECT_EQ(StringView(pac->person()->identity()->given_names()->Get(0)),
            "In\u00e8s");
  EXPECT_EQ(StringView(pac->person()->identity()->birth_date()), "2012-09-01");
  EXPECT_EQ(pac->person()->nir(), nullptr);
  EXPECT_FALSE(pac->shared_custody());
  ASSERT_NE(r->tax_address(), nullptr);
  EXPECT_EQ(StringView(r->tax_address()->lines()->Get(0)), "8 rue Nationale");
  EXPECT_EQ(StringView(r->tax_address()->postcode()), "59000");
  EXPECT_EQ(StringView(r->tax_address()->city()), "Lille");
  EXPECT_EQ(StringView(r->tax_address()->city_cog()), "59350");
  const auto* spi = translation::native::ReferenceFor(r->references(), "dgfip");
  ASSERT_NE(spi, nullptr);
  EXPECT_EQ(StringView(spi->identifier()), "1234567890066");
  const auto* caf = translation::native::ReferenceFor(r->references(), "caf");
  ASSERT_NE(caf, nullptr);
  EXPECT_EQ(StringView(caf->identifier()), "5551234");
}

TEST(DgfipTranslatorTest, OptionalCodes) {
  Json doc = Sample();
  doc["sitFam"] = "O";
  doc["nbPart"] = 1.25;
  doc["pac"][0]["gardeAlternee"] = true;
  doc["pac"][0]["invalidite"] = true;
  doc.erase("numeroAllocataire");
  auto cases = DgfipTranslator().ReadInbox("r.json", doc.dump());
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  const auto* r = EventOf((*cases)[0]).body_as_ResourcesUpdate();
  EXPECT_EQ(r->family_situation(), wire::FamilySituation::Pacsed);
  EXPECT_DOUBLE_EQ(r->tax_parts(), 1.25);
  EXPECT_TRUE(r->dependants()->Get(0)->shared_custody());
  EXPECT_TRUE(r->dependants()->Get(0)->disabled());
  EXPECT_EQ(translation::native::ReferenceFor(r->references(), "caf"), nullptr);
}

TEST(DgfipTranslatorTest, BadInputNamesTheDgfipField) {
  struct Case {
    std::function<void(Json&)> edit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](Json& d) { d["spi"] = "1234567890067"; }, "field spi: "},
      {[](Json& d) { d["spi"] = "4234567890066"; }, "field spi: "},
      {[](Json& d) { d["spi"] = "12345678900"; }, "field spi: "},
      {[](Json& d) { d.erase("spi"); }, "field spi: missing"},
      {[](Json& d) { d["nir"] = "175055935012300"; },
       "field nir: NIR key does not match the first 13 characters"},
      {[](Json& d) { d.erase("nom"); }, "field nom: missing"},
      {[](Json& d) { d["dateNaissance"] = "1975-13-01"; },
       "field dateNaissance: not a date YYYY-MM-DD"},
      {[](Json& d) { d["sexe"] = "H"; }, "field sexe: must be M or F"},
      {[](Json& d) { d["rfr"] = "23456"; }, "field rfr: must be an integer"},
      {[](Json& d) { d["rfr"] = -1; }, "field rfr: must be an integer"},
      {[](Json& d) { d["anneeRevenus"] = 1999; }, "field anneeRevenus"},
      {[](Json& d) { d["nbPart"] = 2.3; },
       "field nbPart: must be a number of parts"},
      {[](Json& d) { d["nbPart"] = "2.5"; }, "field nbPart"},
      {[](Json& d) { d.erase("nbPart"); }, "field nbPart: missing"},
      {[](Json& d) { d["sitFam"] = "X"; },
       "field sitFam: must be M, O, C, D or V"},
      {[](Json& d) { d["pac"] = "Ines"; }, "field pac: must be an array"},
      {[](Json& d) { d["pac"][0]["dateNaissance"] = "01/09/2012"; },
       "field pac[0].dateNaissance"},
      {[](Json& d) { d["pac"][0]["gardeAlternee"] = "non"; },
       "field pac[0].gardeAlternee: must be true or false"},
      {[](Json& d) { d["pac"][0]["nir"] = "212095935012300"; },
       "field pac[0].nir"},
      {[](Json& d) { d.erase("aft"); }, "field aft: must be an object"},
      {[](Json& d) { d["aft"].erase("cp"); }, "field aft.cp: missing"},
      {[](Json& d) { d["aft"]["cp"] = "5900"; },
       "field aft.cp: must be 5 digits"},
      {[](Json& d) { d["aft"]["adr"] = Json::array(); }, "field aft.adr"},
      {[](Json& d) { d["aft"].erase("ville"); }, "field aft.ville: missing"},
      {[](Json& d) { d["numeroAllocataire"] = "CAF5551234"; },
       "field numeroAllocataire"},
      {[](Json& d) { d = Json::array(); },
       "the document must be a JSON object"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Json doc = Sample();
    cases[i].edit(doc);
    EXPECT_THAT(ErrorOf(doc), HasSubstr(cases[i].expected)) << "case " << i;
  }
  EXPECT_EQ(DgfipTranslator()
                .ReadInbox("f.json", "spi=1234567890066")
                .status()
                .message(),
            "not valid JSON: syntax error at line 1, column 1 (byte offset 0)");
}

// A misspelt or unknown key is refused, naming it and its path, never its
// value.
TEST(DgfipTranslatorTest, UnknownKeysAreRefusedByName) {
  struct Case {
    std::function<void(Json&)> edit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](Json& d) {
         d["numeroAlocataire"] = d["numeroAllocataire"];
         d.erase("numeroAllocataire");
       },
       "the document: member 7 is not a known field (did you mean "
       "'numeroAllocataire'? known here: spi, nir, nom, "
       "prenoms, dateNaissance, sexe, anneeRevenus, rfr, nbPart, sitFam, pac, "
       "aft, numeroAllocataire)"},
      {[](Json& d) { d["pac"][0]["gardeAlternée"] = false; },
       "field pac[0]: member 3 is not a known field (did you mean "
       "'gardeAlternee'? known here: nir, nom, "
       "prenoms, dateNaissance, sexe, gardeAlternee, invalidite)"},
      {[](Json& d) {
         d["aft"]["codePostal"] = d["aft"]["cp"];
         d["aft"].erase("cp");
       },
       "field aft: member 2 is not a known field (known here: adr, cp, ville, "
       "cog, "
       "pays)"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Json doc = Sample();
    cases[i].edit(doc);
    const std::string error = ErrorOf(doc);
    EXPECT_EQ(error, cases[i].expected) << "case " << i;
    EXPECT_THAT(error, Not(HasSubstr("5551234"))) << "case " << i;
    EXPECT_THAT(error, Not(HasSubstr("59000"))) << "case " << i;
  }
  // A CHGT_SITFAM, read through the mapping file.
  Json household =
      Json::parse(ReadSample("deploy/samples/dgfip/household_change.json"));
  household["spiConjoin"] = household["spiConjoint"];
  household.erase("spiConjoint");
  EXPECT_THAT(ErrorOf(household),
              HasSubstr("the document: member 14 is not a known field (did you "
                        "mean 'spiConjoint'? known here: "));
}

TEST(DgfipTranslatorTest, AddressChangePutsTheNewAddressInAft) {
  Delivered d(AddressChangeWithSpi("3021459876169"));
  auto file = DgfipTranslator().WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, std::string(kCaseId) + "-0123456789abcdef.json");
  const Json doc = Json::parse(file->contents);
  EXPECT_EQ(doc["typeEvt"], "CHGT_ADR");
  EXPECT_EQ(doc["dossier"], kCaseId);
  EXPECT_EQ(doc["message"], "0123456789abcdef1032547698badcfe");
  EXPECT_EQ(doc["emetteur"], "france-services/paris-15");
  EXPECT_EQ(doc["spi"], "3021459876169");
  EXPECT_EQ(doc["nir"], "284057512345672");
  EXPECT_EQ(doc["nom"], "MARTIN");
  EXPECT_EQ(doc["prenoms"], Json::array({"Claire", "Anne"}));
  EXPECT_EQ(doc["dateNaissance"], "1984-05-12");
  EXPECT_EQ(doc["sexe"], "F");
  EXPECT_EQ(doc["dateEffet"], "2026-12-01");
  const Json aft = {{"adr", {"4 place du March\u00e9"}},
                    {"cp", "69003"},
                    {"ville", "Lyon"},
                    {"cog", "69383"},
                    {"pays", "99100"}};
  EXPECT_EQ(doc["aft"], aft);
  EXPECT_EQ(doc["ancienneAdresse"]["ville"], "Paris");
  EXPECT_EQ(doc["ancienneAdresse"]["cp"], "75015");
  EXPECT_EQ(doc["contact"]["courriel"], "claire.martin@example.org");
}

TEST(DgfipTranslatorTest, AddressChangeWithoutOrWithABadSpi) {
  Delivered without(AddressChangeEvent());
  auto file = DgfipTranslator().WriteOutbox(without.view(), without.event());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_FALSE(Json::parse(file->contents).contains("spi"));

  Delivered bad(AddressChangeWithSpi("3021459876168"));
  auto refused = DgfipTranslator().WriteOutbox(bad.view(), bad.event());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("field spi"));
}

}  // namespace
}  // namespace relais::adapters::dgfip
