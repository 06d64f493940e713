// Unit tests of the four agencies' native formats (adapters/README.md).

#include <gtest/gtest.h>

#include "adapters/caf/latin1.h"
#include "adapters/caf/translator.h"
#include "adapters/cpam/translator.h"
#include "adapters/dgfip/translator.h"
#include "adapters/france_travail/translator.h"
#include "adapters/sdk/native.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "tests/support/fixtures.h"

namespace relais::adapters {
namespace {

using testing::MakeIdentity;

std::string Sample(const std::string& rel) {
  const char* src = std::getenv("RELAIS_SOURCE_DIR");
  auto bytes = ReadFile(std::string(src ? src : ".") + "/deploy/samples/" + rel);
  EXPECT_TRUE(bytes.ok()) << rel;
  return bytes.ok() ? *bytes : std::string();
}

const wire::CaseEvent& Event(const sdk::OutgoingCase& c) {
  return *flatbuffers::GetRoot<wire::CaseEvent>(c.payload.data());
}

// A sealed address_change as the adapters receive it.
class Delivered {
 public:
  Delivered() : id_(MakeIdentity("france-services/paris-15")) {
    sealed_ = *SealEnvelope(testing::SampleDraft(id_.participant, {"caf"}), id_.signing);
    view_ = *ParseEnvelope(sealed_.bytes);
  }
  const EnvelopeView& view() const { return view_; }
  const wire::CaseEvent& event() const {
    return *flatbuffers::GetRoot<wire::CaseEvent>(view_.payload.data());
  }

 private:
  Identity id_;
  SealedEnvelope sealed_;
  EnvelopeView view_;
};

std::string OtherEventBytes() {
  wire::CaseEventT e;
  wire::DeathNotificationT d;
  d.death_date = "2026-11-01";
  e.body.Set(std::move(d));
  return sdk::native::PackEvent(e);
}

// --- CAF ---------------------------------------------------------------------

TEST(CafTest, CsvSampleBecomesRsaApplications) {
  caf::CafTranslator t;
  EXPECT_TRUE(t.Accepts("batch.csv"));
  EXPECT_FALSE(t.Accepts("batch.xml"));
  auto cases = t.ReadInbox("rsa_application.csv", Sample("caf/rsa_application.csv"));
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  ASSERT_EQ(cases->size(), 2u);
  const auto& first = (*cases)[0];
  EXPECT_EQ(first.case_type, wire::CaseType::RsaApplication);
  EXPECT_EQ(first.recipients, (std::vector<std::string>{"cpam", "france-travail"}));
  const auto* app = Event(first).body_as_RsaApplication();
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(StringView(app->applicant()->nir()), "192076912345621");  // key added
  EXPECT_EQ(StringView(app->applicant()->identity()->birth_name()), "LEFÈVRE");  // UTF-8
  EXPECT_EQ(app->applicant()->identity()->given_names()->size(), 2u);
  EXPECT_EQ(StringView(app->applicant()->identity()->birth_date()), "1992-07-14");
  EXPECT_EQ(app->monthly_resources_cents(), 41250);
  EXPECT_FALSE(app->css_opposition());
  // The second applicant objected to the CSS: France Travail only.
  EXPECT_EQ((*cases)[1].recipients, (std::vector<std::string>{"france-travail"}));
  EXPECT_EQ(Event((*cases)[1]).body_as_RsaApplication()->monthly_resources_cents(), 167500);
}

TEST(CafTest, BadLinesNameTheLineAndField) {
  caf::CafTranslator t;
  const std::string header = std::string(caf::kRsaColumns[0]) +
      ";nom_naissance;prenoms;date_naissance;sexe;commune_naissance;pays_naissance;"
      "date_demande;opposition_css;ressources_mensuelles;numero_allocataire;organisme;courriel\n";
  const std::string good =
      "1920769123456;DURAND;Paul;14/07/1992;M;69123;99100;02/11/2026;N;0000412.50;7654321;691;\n";
  ASSERT_TRUE(t.ReadInbox("f.csv", header + good).ok());
  const auto error = [&](std::string line) {
    auto r = t.ReadInbox("f.csv", header + good + line);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(error("19207691234;DURAND;Paul;14/07/1992;M;69123;99100;02/11/2026;N;0000412.50;7654321;691;\n")
                .find("line 3, field nir"), std::string::npos);
  EXPECT_NE(error("1920769123456;DURAND;Paul;31/02/1992;M;69123;99100;02/11/2026;N;0000412.50;7654321;691;\n")
                .find("field date_naissance"), std::string::npos);
  EXPECT_NE(error("1920769123456;DURAND;Paul;14/07/1992;X;69123;99100;02/11/2026;N;0000412.50;7654321;691;\n")
                .find("field sexe"), std::string::npos);
  EXPECT_NE(error("1920769123456;DURAND;Paul;14/07/1992;M;69123;99100;02/11/2026;N;412,50;7654321;691;\n")
                .find("field ressources_mensuelles"), std::string::npos);
  EXPECT_NE(error("1920769123456;;Paul;14/07/1992;M;69123;99100;02/11/2026;N;0000412.50;7654321;691;\n")
                .find("field nom_naissance: missing"), std::string::npos);
  EXPECT_NE(error("1920769123456;DURAND;Paul\n").find("fields, expected 13"), std::string::npos);
}

TEST(CafTest, Utf8FilesAreRefused) {
  caf::CafTranslator t;
  auto utf8 = t.ReadInbox("f.csv", "nir;nom\n1;LEF\xC3\x88VRE\n");
  ASSERT_FALSE(utf8.ok());
  EXPECT_NE(utf8.status().message().find("UTF-8"), std::string::npos);
  EXPECT_FALSE(t.ReadInbox("f.csv", "\xEF\xBB\xBFnir;nom\n").ok());
  EXPECT_FALSE(t.ReadInbox("f.csv", "nir;nom\n1;A\x01\n").ok());
}

TEST(CafTest, AddressChangeIsLatin1XmlWithoutNirKey) {
  caf::CafTranslator t;
  Delivered d;
  auto file = t.WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_TRUE(file->name.ends_with(".xml"));
  EXPECT_EQ(file->name.rfind(std::string(d.view().case_id), 0), 0u);
  EXPECT_NE(file->contents.find("encoding=\"ISO-8859-1\""), std::string::npos);
  EXPECT_NE(file->contents.find("<nir>2840575123456</nir>"), std::string::npos);
  EXPECT_NE(file->contents.find("March\xE9"), std::string::npos);  // é is one byte
  EXPECT_EQ(file->contents.find("\xC3\xA9"), std::string::npos);
  EXPECT_NE(file->contents.find("dateNaissance=\"12/05/1984\""), std::string::npos);
  EXPECT_NE(file->contents.find("numero=\"1234567\" organisme=\"751\""), std::string::npos);
  EXPECT_TRUE(caf::CheckLatin1Text(file->contents).ok());
}

TEST(CafTest, OtherCaseTypesAreNotTakenYet) {
  caf::CafTranslator t;
  Delivered d;
  const std::string other = OtherEventBytes();
  auto file = t.WriteOutbox(d.view(), *flatbuffers::GetRoot<wire::CaseEvent>(other.data()));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Status::Code::kNotFound);
  EXPECT_NE(file.status().message().find("death_notification"), std::string::npos);
}

TEST(CafTest, Latin1RoundTrip) {
  EXPECT_EQ(caf::Latin1ToUtf8("Marie-Th\xE9r\xE8se"), "Marie-Thérèse");
  EXPECT_EQ(*caf::Utf8ToLatin1("Marie-Thérèse", "x"), "Marie-Th\xE9r\xE8se");
  EXPECT_FALSE(caf::Utf8ToLatin1("5 €", "montant").ok());
}

// --- CPAM --------------------------------------------------------------------

TEST(CpamTest, BirthSampleGoesToCafAndDgfip) {
  cpam::CpamTranslator t;
  auto cases = t.ReadInbox("birth.json", Sample("cpam/birth.json"));
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_EQ((*cases)[0].recipients, (std::vector<std::string>{"caf", "dgfip"}));
  const auto* birth = Event((*cases)[0]).body_as_Birth();
  ASSERT_NE(birth, nullptr);
  EXPECT_EQ(birth->stage(), wire::BirthStage::Birth);
  EXPECT_EQ(birth->parents()->size(), 2u);
  EXPECT_EQ(StringView(birth->child()->given_names()->Get(0)), "Léa");
  EXPECT_EQ(StringView(sdk::native::ReferenceFor(birth->references(), "caf")->identifier()),
            "2468135");
}

TEST(CpamTest, BadInputNamesTheField) {
  cpam::CpamTranslator t;
  auto doc = nlohmann::json::parse(Sample("cpam/birth.json"));
  doc["assure"]["nir"] = "290023306312300";
  auto r = t.ReadInbox("b.json", doc.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("field assure.nir"), std::string::npos) << r.status().message();
  doc = nlohmann::json::parse(Sample("cpam/birth.json"));
  doc["type"] = "mariage";
  EXPECT_NE(t.ReadInbox("b.json", doc.dump()).status().message().find("field type"),
            std::string::npos);
  doc = nlohmann::json::parse(Sample("cpam/birth.json"));
  doc["type"] = "declaration_grossesse";
  EXPECT_NE(t.ReadInbox("b.json", doc.dump()).status().message().find("date_prevue_accouchement"),
            std::string::npos);
  EXPECT_FALSE(t.ReadInbox("b.json", "{not json").ok());
}

TEST(CpamTest, AddressChangeIsJsonWithTheFullNir) {
  cpam::CpamTranslator t;
  Delivered d;
  auto file = t.WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok());
  auto doc = nlohmann::json::parse(file->contents);
  EXPECT_EQ(doc["type"], "changement_adresse");
  EXPECT_EQ(doc["assure"]["nir"], "284057512345672");
  EXPECT_EQ(doc["nouvelle_adresse"]["commune"], "Lyon");
  EXPECT_EQ(doc["dossier"], std::string(d.view().case_id));
}

// --- DGFiP -------------------------------------------------------------------

TEST(DgfipTest, ResourcesSampleUsesShortCodes) {
  dgfip::DgfipTranslator t;
  auto cases = t.ReadInbox("r.json", Sample("dgfip/resources_update.json"));
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  EXPECT_EQ((*cases)[0].recipients, (std::vector<std::string>{"caf"}));
  const auto* r = Event((*cases)[0]).body_as_ResourcesUpdate();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(StringView(r->tax_number()), "1234567890066");
  EXPECT_EQ(r->reference_tax_income_eur(), 23456);
  EXPECT_DOUBLE_EQ(r->tax_parts(), 2.5);
  EXPECT_EQ(r->family_situation(), wire::FamilySituation::Married);
  EXPECT_EQ(r->dependants()->size(), 1u);
  EXPECT_EQ(StringView(r->tax_address()->city()), "Lille");
}

TEST(DgfipTest, BadInputNamesTheDgfipField) {
  dgfip::DgfipTranslator t;
  const auto error = [&](const char* key, nlohmann::json value) {
    auto doc = nlohmann::json::parse(Sample("dgfip/resources_update.json"));
    doc[key] = value;
    auto r = t.ReadInbox("r.json", doc.dump());
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(error("spi", "1234567890067").find("field spi"), std::string::npos);
  EXPECT_NE(error("sitFam", "X").find("field sitFam"), std::string::npos);
  EXPECT_NE(error("nbPart", 2.3).find("field nbPart"), std::string::npos);
  EXPECT_NE(error("dateNaissance", "1975-13-01").find("dateNaissance"), std::string::npos);
  EXPECT_NE(error("aft", nlohmann::json{{"adr", {"x"}}}).find("aft.cp"), std::string::npos);
}

TEST(DgfipTest, AddressChangePutsTheNewAddressInAft) {
  dgfip::DgfipTranslator t;
  Delivered d;
  auto file = t.WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok());
  auto doc = nlohmann::json::parse(file->contents);
  EXPECT_EQ(doc["typeEvt"], "CHGT_ADR");
  EXPECT_EQ(doc["aft"]["cp"], "69003");
  EXPECT_EQ(doc["ancienneAdresse"]["ville"], "Paris");
}

// --- France Travail ------------------------------------------------------------

TEST(FranceTravailTest, RegistrationSampleGoesToCafAndCpam) {
  france_travail::FranceTravailTranslator t;
  auto cases = t.ReadInbox("j.json", Sample("france_travail/job_seeker_status.json"));
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  EXPECT_EQ((*cases)[0].recipients, (std::vector<std::string>{"caf", "cpam"}));
  const auto* s = Event((*cases)[0]).body_as_JobSeekerStatus();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->category(), 1);
  EXPECT_EQ(s->registration_end(), nullptr);
  ASSERT_EQ(s->payments()->size(), 1u);
  EXPECT_EQ(s->payments()->Get(0)->amount_cents(), 123456);
}

TEST(FranceTravailTest, CategoryAndPaymentsAreChecked) {
  france_travail::FranceTravailTranslator t;
  auto doc = nlohmann::json::parse(Sample("france_travail/job_seeker_status.json"));
  doc["inscription"]["categorie"] = 6;
  EXPECT_NE(t.ReadInbox("j.json", doc.dump()).status().message().find("inscription.categorie"),
            std::string::npos);
  doc = nlohmann::json::parse(Sample("france_travail/job_seeker_status.json"));
  doc["paiements"][0]["montant"] = "12,30";
  EXPECT_NE(t.ReadInbox("j.json", doc.dump()).status().message().find("paiements[0].montant"),
            std::string::npos);
}

TEST(FranceTravailTest, AddressChangeCarriesTheJobSeekerId) {
  france_travail::FranceTravailTranslator t;
  Delivered d;
  auto file = t.WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok());
  auto doc = nlohmann::json::parse(file->contents);
  EXPECT_EQ(doc["evenement"], "CHANGEMENT_ADRESSE");
  EXPECT_EQ(doc["demandeur"]["nom_naissance"], "MARTIN");
}

}  // namespace
}  // namespace relais::adapters
