// Unit tests of France Travail's native formats (adapters/README.md,
// "France Travail"): job seeker status in, address changes out, JSON.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/france_travail/translator.h"
#include "adapters/translation/native.h"
#include "core/envelope.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "tests/adapters/translator_fixtures.h"
#include "tests/support/fixtures.h"

namespace relais::adapters::france_travail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

using relais::testing::AddressChangeEvent;
using relais::testing::EventOf;
using relais::testing::kCaseId;
using relais::testing::ReadSample;

Json Sample() {
  return Json::parse(
      ReadSample("deploy/samples/france_travail/job_seeker_status.json"));
}

// A sealed delivery to france-travail (tests/adapters/translator_fixtures.h).
struct Delivered : relais::testing::Delivery {
  explicit Delivered(std::string payload,
                     wire::CaseType type = wire::CaseType::AddressChange)
      : Delivery("france-travail", std::move(payload), type) {}
};

std::string ErrorOf(const Json& doc) {
  return relais::testing::ErrorOf(
      FranceTravailTranslator().ReadInbox("f.json", doc.dump()));
}

TEST(FranceTravailTranslatorTest, AcceptsJsonFilesOnly) {
  FranceTravailTranslator t;
  EXPECT_TRUE(t.Accepts("inscription-1234567A.json"));
  EXPECT_FALSE(t.Accepts("inscription.txt"));
}

TEST(FranceTravailTranslatorTest, RegistrationSampleGoesToCafAndCpam) {
  auto cases = FranceTravailTranslator().ReadInbox("j.json", Sample().dump());
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  ASSERT_EQ(cases->size(), 1u);
  const translation::OutgoingCase& c = (*cases)[0];
  EXPECT_EQ(c.case_type, wire::CaseType::JobSeekerStatus);
  EXPECT_EQ(c.recipients, (std::vector<std::string>{"caf", "cpam"}));
  const auto* s = EventOf(c).body_as_JobSeekerStatus();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(StringView(s->job_seeker_id()), "1234567A");
  EXPECT_EQ(StringView(s->citizen()->nir()), "188091305512360");
  EXPECT_EQ(StringView(s->citizen()->identity()->birth_name()), "MOREAU");
  EXPECT_EQ(StringView(s->citizen()->identity()->birthplace_cog()), "13055");
  EXPECT_EQ(StringView(s->registration_start()), "2026-10-01");
  EXPECT_EQ(s->registration_end(), nullptr);  // still registered
  EXPECT_EQ(s->category(), 1);
  ASSERT_EQ(s->payments()->size(), 1u);
  const auto* p = s->payments()->Get(0);
  EXPECT_EQ(StringView(p->benefit()), "ARE");
  EXPECT_EQ(StringView(p->period_start()), "2026-10-01");
  EXPECT_EQ(StringView(p->period_end()), "2026-10-31");
  EXPECT_EQ(p->amount_cents(), 123456);
  const auto* ref =
      translation::native::ReferenceFor(s->references(), "france-travail");
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(StringView(ref->identifier()), "1234567A");
}

TEST(FranceTravailTranslatorTest, EndedRegistrationWithoutPayments) {
  Json doc = Sample();
  doc["inscription"]["fin"] = "2027-01-31";
  doc["inscription"]["categorie"] = 5;
  doc.erase("paiements");
  auto cases = FranceTravailTranslator().ReadInbox("j.json", doc.dump());
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  const auto* s = EventOf((*cases)[0]).body_as_JobSeekerStatus();
  EXPECT_EQ(StringView(s->registration_end()), "2027-01-31");
  EXPECT_EQ(s->category(), 5);
  EXPECT_TRUE(s->payments() == nullptr || s->payments()->size() == 0);
}

TEST(FranceTravailTranslatorTest, BadInputNamesTheField) {
  struct Case {
    std::function<void(Json&)> edit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](Json& d) { d.erase("identifiant"); }, "field identifiant: missing"},
      {[](Json& d) { d["identifiant"] = "12 34"; },
       "field identifiant: must be"},
      {[](Json& d) { d.erase("demandeur"); }, "field demandeur: missing"},
      {[](Json& d) { d["demandeur"]["nir"] = "188091305512399"; },
       "field demandeur.nir: NIR key does not match the first 13 characters"},
      {[](Json& d) { d["demandeur"]["date_naissance"] = "1988-09-31"; },
       "field demandeur.date_naissance"},
      {[](Json& d) { d.erase("inscription"); }, "field inscription: missing"},
      {[](Json& d) { d["inscription"]["debut"] = "2026-10-32"; },
       "field inscription.debut: not a date YYYY-MM-DD"},
      {[](Json& d) { d["inscription"]["fin"] = "2026-09-30"; },
       "field inscription.fin: before inscription.debut"},
      {[](Json& d) { d["inscription"]["categorie"] = 6; },
       "field inscription.categorie: must be an integer from 1 to 5"},
      {[](Json& d) { d["inscription"]["categorie"] = "A"; },
       "field inscription.categorie"},
      {[](Json& d) { d["inscription"].erase("categorie"); },
       "field inscription.categorie: missing"},
      {[](Json& d) { d["paiements"] = Json::object(); },
       "field paiements: must be an array"},
      {[](Json& d) { d["paiements"][0]["montant"] = "12,30"; },
       "field paiements[0].montant: not an amount like \"1234.56\""},
      // One cent above the largest amount held (2^63 - 1 cents): never
      // read as a negative one.
      {[](Json& d) { d["paiements"][0]["montant"] = "92233720368547758.08"; },
       "field paiements[0].montant: not an amount like \"1234.56\""},
      {[](Json& d) { d["paiements"][0]["montant"] = "-5.00"; },
       "field paiements[0].montant: not an amount like \"1234.56\""},
      {[](Json& d) { d["paiements"][0]["montant"] = "1234.5"; },
       "field paiements[0].montant: not an amount like \"1234.56\""},
      {[](Json& d) { d["paiements"][0]["montant"] = 1234.56; },
       "field paiements[0].montant: must be a string"},
      {[](Json& d) { d["paiements"][0]["allocation"] = "allocation chomage"; },
       "field paiements[0].allocation"},
      {[](Json& d) { d["paiements"][0]["fin"] = "2026-09-01"; },
       "field paiements[0].fin: before debut"},
      {[](Json& d) { d["paiements"][0].erase("debut"); },
       "field paiements[0].debut: missing"},
      {[](Json& d) { d = "1234567A"; }, "the document must be a JSON object"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Json doc = Sample();
    cases[i].edit(doc);
    EXPECT_THAT(ErrorOf(doc), HasSubstr(cases[i].expected)) << "case " << i;
  }
  EXPECT_EQ(
      FranceTravailTranslator().ReadInbox("f.json", "").status().message(),
      "not valid JSON: the text ends too early at line 1, column 1 (byte "
      "offset 0)");
}

// A misspelt or unknown key is refused, naming it and its path, never its
// value.
TEST(FranceTravailTranslatorTest, UnknownKeysAreRefusedByName) {
  struct Case {
    std::function<void(Json&)> edit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](Json& d) {
         d["identifant"] = d["identifiant"];
         d.erase("identifiant");
       },
       "the document: member 2 is not a known field (did you mean "
       "'identifiant'? known here: identifiant, demandeur, "
       "inscription, paiements)"},
      {[](Json& d) { d["inscription"]["categori"] = 1; },
       "field inscription: member 1 is not a known field (did you mean "
       "'categorie'? known here: debut, fin, "
       "categorie)"},
      {[](Json& d) { d["paiements"][0]["montant_brut"] = "1234.56"; },
       "field paiements[0]: member 5 is not a known field (known here: "
       "allocation, debut, fin, montant)"},
      {[](Json& d) { d["demandeur"]["nom"] = "MOREAU"; },
       "field demandeur: member 4 is not a known field (known here: nir, "
       "nom_naissance, "
       "prenoms, date_naissance, sexe, commune_naissance, pays_naissance, "
       "nom_usage)"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Json doc = Sample();
    cases[i].edit(doc);
    const std::string error = ErrorOf(doc);
    EXPECT_EQ(error, cases[i].expected) << "case " << i;
    EXPECT_THAT(error, Not(HasSubstr("1234567A"))) << "case " << i;
    EXPECT_THAT(error, Not(HasSubstr("MOREAU"))) << "case " << i;
  }
}

TEST(FranceTravailTranslatorTest, AddressChangeCarriesTheJobSeekerId) {
  Delivered d(AddressChangeEvent([](wire::AddressChangeT& c) {
    auto ref = std::make_unique<wire::AgencyReferenceT>();
    ref->agency = "france-travail";
    ref->identifier = "7654321B";
    c.references.push_back(std::move(ref));
    c.contact->phone = "+33612345678";
  }));
  auto file = FranceTravailTranslator().WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, std::string(kCaseId) + "-0123456789abcdef.json");
  const Json doc = Json::parse(file->contents);
  EXPECT_EQ(doc["evenement"], "CHANGEMENT_ADRESSE");
  EXPECT_EQ(doc["dossier"], kCaseId);
  EXPECT_EQ(doc["message"], "0123456789abcdef1032547698badcfe");
  EXPECT_EQ(doc["emetteur"], "france-services/paris-15");
  EXPECT_EQ(doc["identifiant"], "7654321B");
  EXPECT_EQ(doc["demandeur"]["nir"], "284057512345672");
  EXPECT_EQ(doc["demandeur"]["nom_naissance"], "MARTIN");
  EXPECT_EQ(doc["demandeur"]["prenoms"], Json::array({"Claire", "Anne"}));
  EXPECT_EQ(doc["date_effet"], "2026-12-01");
  EXPECT_EQ(doc["ancienne_adresse"]["code_postal"], "75015");
  EXPECT_EQ(doc["nouvelle_adresse"]["lignes"],
            Json::array({"4 place du March\u00e9"}));
  EXPECT_EQ(doc["nouvelle_adresse"]["commune"], "Lyon");
  EXPECT_EQ(doc["contact"], (Json{{"courriel", "claire.martin@example.org"},
                                  {"telephone", "+33612345678"}}));
}

TEST(FranceTravailTranslatorTest, AddressChangeWithoutReference) {
  Delivered d(AddressChangeEvent());
  auto file = FranceTravailTranslator().WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_FALSE(Json::parse(file->contents).contains("identifiant"));
}

TEST(FranceTravailTranslatorTest, StringsThatAreNotUtf8AreRefused) {
  Delivered d(AddressChangeEvent([](wire::AddressChangeT& c) {
    c.citizen->identity->birth_name = "MARTIN\xFF";
  }));
  auto file = FranceTravailTranslator().WriteOutbox(d.view(), d.event());
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(file.status().message(), HasSubstr("not UTF-8"));
}

}  // namespace
}  // namespace relais::adapters::france_travail
