// Unit tests of the CPAM's native formats (adapters/README.md, "CPAM"):
// pregnancy declarations and births in, address changes out, JSON.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/cpam/translator.h"
#include "adapters/translation/native.h"
#include "core/envelope.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "tests/adapters/translator_fixtures.h"
#include "tests/support/fixtures.h"

namespace relais::adapters::cpam {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

using relais::testing::AddressChangeEvent;
using relais::testing::EventOf;
using relais::testing::kCaseId;
using relais::testing::ReadSample;

Json Sample() {
  return Json::parse(ReadSample("deploy/samples/cpam/birth.json"));
}

// A sealed delivery to cpam (tests/adapters/translator_fixtures.h).
struct Delivered : relais::testing::Delivery {
  explicit Delivered(std::string payload = AddressChangeEvent(),
                     wire::CaseType type = wire::CaseType::AddressChange)
      : Delivery("cpam", std::move(payload), type) {}
};

std::string ErrorOf(const Json& doc) {
  return relais::testing::ErrorOf(
      CpamTranslator().ReadInbox("f.json", doc.dump()));
}

TEST(CpamTranslatorTest, AcceptsJsonFilesOnly) {
  CpamTranslator t;
  EXPECT_TRUE(t.Accepts("naissance-2026-11-18.json"));
  EXPECT_FALSE(t.Accepts("naissance.xml"));
}

TEST(CpamTranslatorTest, BirthSampleGoesToCafAndDgfip) {
  auto cases = CpamTranslator().ReadInbox("birth.json", Sample().dump());
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  ASSERT_EQ(cases->size(), 1u);
  const translation::OutgoingCase& c = (*cases)[0];
  EXPECT_EQ(c.case_type, wire::CaseType::Birth);
  EXPECT_TRUE(c.case_id.empty());
  EXPECT_EQ(c.recipients, (std::vector<std::string>{"caf", "dgfip"}));
  const auto* birth = EventOf(c).body_as_Birth();
  ASSERT_NE(birth, nullptr);
  EXPECT_EQ(birth->stage(), wire::BirthStage::Birth);
  EXPECT_EQ(birth->expected_date(), nullptr);
  ASSERT_EQ(birth->parents()->size(), 2u);
  EXPECT_EQ(StringView(birth->parents()->Get(0)->nir()), "290023306312387");
  EXPECT_EQ(StringView(birth->parents()->Get(0)->identity()->birth_name()),
            "DUBOIS");
  EXPECT_EQ(StringView(birth->parents()->Get(1)->nir()), "188063306304586");
  EXPECT_EQ(
      StringView(birth->parents()->Get(1)->identity()->given_names()->Get(1)),
      "\u00c9lie");
  const auto* child = birth->child();
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(StringView(child->birth_name()), "ROUSSEAU");
  EXPECT_EQ(StringView(child->given_names()->Get(0)), "L\u00e9a");
  EXPECT_EQ(StringView(child->birth_date()), "2026-11-18");
  EXPECT_EQ(child->sex(), wire::Sex::Female);
  EXPECT_EQ(StringView(child->birthplace_cog()), "33063");
  const auto* ref =
      translation::native::ReferenceFor(birth->references(), "caf");
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(StringView(ref->identifier()), "2468135");
}

TEST(CpamTranslatorTest, PregnancyDeclarationGoesToCafOnly) {
  Json doc = Sample();
  doc["type"] = "declaration_grossesse";
  doc.erase("enfant");
  doc.erase("conjoint");
  doc["date_prevue_accouchement"] = "2027-04-20";
  doc["organisme_caf"] = "331";
  doc["dossier"] = "cpam-33-2026-000142";
  auto cases = CpamTranslator().ReadInbox("g.json", doc.dump());
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  const translation::OutgoingCase& c = (*cases)[0];
  EXPECT_EQ(c.recipients, (std::vector<std::string>{"caf"}));
  EXPECT_EQ(c.case_id, "cpam-33-2026-000142");
  const auto* birth = EventOf(c).body_as_Birth();
  ASSERT_NE(birth, nullptr);
  EXPECT_EQ(birth->stage(), wire::BirthStage::Pregnancy);
  EXPECT_EQ(StringView(birth->expected_date()), "2027-04-20");
  EXPECT_EQ(birth->child(), nullptr);
  EXPECT_EQ(birth->parents()->size(), 1u);
  EXPECT_EQ(
      StringView(translation::native::ReferenceFor(birth->references(), "caf")
                     ->scope()),
      "331");
}

TEST(CpamTranslatorTest, BadInputNamesTheField) {
  struct Case {
    std::function<void(Json&)> edit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](Json& d) { d["assure"]["nir"] = "290023306312300"; },
       "field assure.nir: NIR key does not match the first 13 characters"},
      {[](Json& d) { d["assure"].erase("nir"); }, "field assure.nir: missing"},
      {[](Json& d) { d["assure"]["nir"] = 290023306312387; },
       "field assure.nir: must be a string"},
      {[](Json& d) { d.erase("assure"); }, "field assure: missing"},
      {[](Json& d) { d["type"] = "mariage"; },
       "field type: unknown case type (expected declaration_grossesse, "
       "naissance or deces)"},
      {[](Json& d) { d.erase("type"); }, "field type: missing"},
      {[](Json& d) { d["enfant"]["date_naissance"] = "2026-02-30"; },
       "field enfant.date_naissance: not a date YYYY-MM-DD"},
      {[](Json& d) { d["enfant"]["date_naissance"] = "18/11/2026"; },
       "field enfant.date_naissance"},
      // Control characters: a recipient's format could not carry them, or
      // would carry a forged line (PROTOCOL.md 11).
      {[](Json& d) { d["enfant"]["nom_naissance"] = "ROUSSEAU\n2026 forged"; },
       "field enfant.nom_naissance: holds a control character"},
      {[](Json& d) { d["enfant"]["nom_naissance"] = "\x1b[31mROUSSEAU"; },
       "field enfant.nom_naissance: holds a control character"},
      {[](Json& d) {
         d["enfant"]["nom_naissance"] = std::string("ROUS\0SEAU", 9);
       },
       "field enfant.nom_naissance: holds a control character"},
      {[](Json& d) {
         d["enfant"]["prenoms"][0] =
             "L\xC2\x9B"
             "a";
       },
       "field enfant.prenoms[0]: holds a control character"},
      // A birth after today.
      {[](Json& d) { d["enfant"]["date_naissance"] = "2999-11-18"; },
       "field enfant.date_naissance: after today: a birth cannot be in the "
       "future"},
      {[](Json& d) { d.erase("enfant"); }, "field enfant: missing"},
      {[](Json& d) { d["enfant"]["nir"] = "226113306312345"; },
       "field enfant.nir"},
      {[](Json& d) { d["enfant"]["sexe"] = "X"; },
       "field enfant.sexe: must be M or F"},
      {[](Json& d) { d["conjoint"]["prenoms"] = Json::array(); },
       "field conjoint.prenoms"},
      {[](Json& d) {
         d["type"] = "declaration_grossesse";
         d.erase("enfant");
       },
       "field date_prevue_accouchement: missing"},
      {[](Json& d) { d["numero_allocataire_caf"] = "24681357X"; },
       "field numero_allocataire_caf: must be 1 to 7 digits"},
      {[](Json& d) { d["organisme_caf"] = "33"; },
       "field organisme_caf: must be 3 digits"},
      {[](Json& d) { d["dossier"] = "dossier n\u00b01"; }, "field dossier"},
      {[](Json& d) { d["dossier"] = "cpam-184127645108946"; },
       "field dossier: holds a NIR (15 characters with a valid key)"},
      {[](Json& d) { d = Json::array({d}); },
       "the document must be a JSON object"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Json doc = Sample();
    cases[i].edit(doc);
    EXPECT_THAT(ErrorOf(doc), HasSubstr(cases[i].expected)) << "case " << i;
  }
  auto not_json = CpamTranslator().ReadInbox("f.json", "{\"type\": ");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(not_json.status().message(),
            "not valid JSON: the text ends too early at line 1, column 10 "
            "(byte offset 9)");
}

// A misspelt or unknown key is refused, naming its object and its place
// there (it would otherwise drop its field without a word), never the key
// itself (it may be anything: a NIR, a name) nor its value; a known key
// close to it is suggested.
TEST(CpamTranslatorTest, UnknownKeysAreRefusedByPlace) {
  const std::string known_top =
      "known here: type, dossier, assure, conjoint, enfant, "
      "numero_allocataire_caf, organisme_caf)";
  const std::string known_person =
      "known here: nir, nom_naissance, prenoms, date_naissance, sexe, "
      "commune_naissance, pays_naissance, nom_usage)";
  struct Case {
    std::function<void(Json&)> edit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](Json& d) {
         d["numero_alocataire_caf"] = d["numero_allocataire_caf"];
         d.erase("numero_allocataire_caf");
       },
       "the document: member 4 is not a known field (did you mean "
       "'numero_allocataire_caf'? " +
           known_top},
      {[](Json& d) { d["commentaire"] = nullptr; },
       "the document: member 2 is not a known field (" + known_top},
      {[](Json& d) {
         d["assure"]["prenom"] = "Camille";
         d["assure"].erase("prenoms");
       },
       "field assure: member 6 is not a known field (did you mean 'prenoms'? " +
           known_person},
      {[](Json& d) { d["conjoint"]["age"] = 38; },
       "field conjoint: member 1 is not a known field (" + known_person},
      {[](Json& d) { d["enfant"]["nom_usage "] = "ROUSSEAU"; },
       "field enfant: member 4 is not a known field (did you mean "
       "'nom_usage'? " +
           known_person},
      // A birth has no expected date, a pregnancy no child.
      {[](Json& d) { d["date_prevue_accouchement"] = "2026-11-20"; },
       "the document: member 3 is not a known field (" + known_top},
      {[](Json& d) {
         d["type"] = "declaration_grossesse";
         d["date_prevue_accouchement"] = "2027-04-20";
       },
       "the document: member 4 is not a known field (known here: type, "
       "dossier, assure, "
       "conjoint, date_prevue_accouchement, numero_allocataire_caf, "
       "organisme_caf)"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Json doc = Sample();
    cases[i].edit(doc);
    const std::string error = ErrorOf(doc);
    EXPECT_EQ(error, cases[i].expected) << "case " << i;
    EXPECT_THAT(error, Not(HasSubstr("2468135"))) << "case " << i;
    EXPECT_THAT(error, Not(HasSubstr("Camille"))) << "case " << i;
  }
  // A key that is a NIR, or a name and an address, is not repeated.
  for (const char* key :
       {"290023306312387", "DUBOIS Camille 12 rue des Lilas 75015 Paris"}) {
    Json doc = Sample();
    doc["assure"][key] = "x";
    const std::string error = ErrorOf(doc);
    EXPECT_EQ(error,
              "field assure: member 1 is not a known field (" + known_person)
        << key;
  }
  // The deces document, read through the mapping file: a key holding null
  // is refused too.
  Json death =
      Json::parse(ReadSample("deploy/samples/cpam/death_notification.json"));
  death["defunt"]["age"] = nullptr;
  EXPECT_THAT(
      ErrorOf(death),
      HasSubstr("field defunt: member 1 is not a known field (known here: "));
  death["defunt"].erase("age");
  death["numero_acte_deces "] = death["numero_acte_deces"];
  death.erase("numero_acte_deces");
  EXPECT_THAT(
      ErrorOf(death),
      HasSubstr("the document: member 4 is not a known field (did you mean "
                "'numero_acte_deces'? known here: "));
}

// A key given twice would let the second win without a word: refused,
// saying where, not which key (the value stays out too).
TEST(CpamTranslatorTest, AKeyGivenTwiceIsRefusedByItsPlace) {
  const std::string text =
      "{\"type\": \"naissance\",\n \"nir\": \"290023306312387\",\n"
      " \"nir\": \"190023306312387\"}";
  const std::string error =
      relais::testing::ErrorOf(CpamTranslator().ReadInbox("f.json", text));
  EXPECT_EQ(error,
            "not valid here: a key appears twice in the same object (line 3, "
            "column 9)");
  Json doc = Sample();
  std::string twice = doc.dump();
  twice.insert(twice.rfind('}'), ", \"organisme_caf\": \"131\"");
  twice.insert(twice.rfind('}'), ", \"organisme_caf\": \"132\"");
  EXPECT_THAT(
      relais::testing::ErrorOf(CpamTranslator().ReadInbox("f.json", twice)),
      HasSubstr("a key appears twice in the same object"));
}

TEST(CpamTranslatorTest, AddressChangeIsJsonWithTheFullNir) {
  Delivered d(AddressChangeEvent([](wire::AddressChangeT& c) {
    auto ref = std::make_unique<wire::AgencyReferenceT>();
    ref->agency = "cpam";
    ref->identifier = "284057512345672";
    c.references.push_back(std::move(ref));
  }));
  auto file = CpamTranslator().WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, std::string(kCaseId) + "-0123456789abcdef.json");
  const Json doc = Json::parse(file->contents);
  EXPECT_EQ(doc["type"], "changement_adresse");
  EXPECT_EQ(doc["dossier"], kCaseId);
  EXPECT_EQ(doc["message"], "0123456789abcdef1032547698badcfe");
  EXPECT_EQ(doc["emetteur"], "france-services/paris-15");
  EXPECT_EQ(doc["numero_assure"], "284057512345672");
  const Json& insured = doc["assure"];
  EXPECT_EQ(insured["nir"], "284057512345672");  // 15 characters, with key
  EXPECT_EQ(insured["nom_naissance"], "MARTIN");
  EXPECT_EQ(insured["prenoms"], Json::array({"Claire", "Anne"}));
  EXPECT_EQ(insured["date_naissance"], "1984-05-12");
  EXPECT_EQ(insured["sexe"], "F");
  EXPECT_EQ(doc["date_effet"], "2026-12-01");
  EXPECT_EQ(doc["ancienne_adresse"]["lignes"],
            Json::array({"12 rue des Lilas"}));
  EXPECT_EQ(doc["ancienne_adresse"]["commune"], "Paris");
  EXPECT_EQ(doc["nouvelle_adresse"]["lignes"],
            Json::array({"4 place du March\u00e9"}));
  EXPECT_EQ(doc["nouvelle_adresse"]["code_postal"], "69003");
  EXPECT_EQ(doc["nouvelle_adresse"]["commune"], "Lyon");
  EXPECT_EQ(doc["nouvelle_adresse"]["code_commune"], "69383");
  EXPECT_EQ(doc["contact"], (Json{{"courriel", "claire.martin@example.org"}}));
}

TEST(CpamTranslatorTest, AddressChangeWithABadNirIsRefused) {
  Delivered d(AddressChangeEvent(
      [](wire::AddressChangeT& c) { c.citizen->nir = "284057512345600"; }));
  auto file = CpamTranslator().WriteOutbox(d.view(), d.event());
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(
      file.status().message(),
      HasSubstr(
          "field assure.nir: NIR key does not match the first 13 characters"));
}

}  // namespace
}  // namespace relais::adapters::cpam
