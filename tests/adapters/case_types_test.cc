// All eight case types across the four agencies' native formats: each
// sample of deploy/samples/ (in its originating partner's format) is read
// as its case type with its recipients, every agency writes every case type
// in its own format, and the JSON formats read back exactly what they wrote.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/caf/translator.h"
#include "adapters/cpam/translator.h"
#include "adapters/dgfip/translator.h"
#include "adapters/france_travail/translator.h"
#include "core/cases.h"
#include "core/text.h"
#include "tests/adapters/translator_fixtures.h"

namespace relais::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::ordered_json;

struct Sample {
  const char* path;
  const char* origin;  // the agency whose translator reads it, or ""
  wire::CaseType type;
  std::vector<std::string> recipients;  // none: routed by subscription
};

const std::vector<Sample>& Samples() {
  static const auto* samples = new std::vector<Sample>{
      {"deploy/samples/france_services/address_change.json",
       "",
       wire::CaseType::AddressChange,
       {"caf", "cpam", "dgfip", "france-travail"}},
      {"deploy/samples/cpam/birth.json",
       "cpam",
       wire::CaseType::Birth,
       {"caf", "dgfip"}},
      {"deploy/samples/dgfip/household_change.json",
       "dgfip",
       wire::CaseType::HouseholdChange,
       {"caf"}},
      {"deploy/samples/caf/rsa_application.csv",
       "caf",
       wire::CaseType::RsaApplication,
       {"cpam", "france-travail"}},
      {"deploy/samples/france_travail/job_seeker_status.json",
       "france-travail",
       wire::CaseType::JobSeekerStatus,
       {"caf", "cpam"}},
      {"deploy/samples/dgfip/resources_update.json",
       "dgfip",
       wire::CaseType::ResourcesUpdate,
       {"caf"}},
      {"deploy/samples/cpam/death_notification.json",
       "cpam",
       wire::CaseType::DeathNotification,
       {}},
      {"deploy/samples/france_services/assisted_case.json",
       "",
       wire::CaseType::AssistedCase,
       {"caf"}},
      // Beyond one per type: the CAF's XML batch format.
      {"deploy/samples/caf/birth.xml",
       "caf",
       wire::CaseType::Birth,
       {"cpam", "dgfip"}},
  };
  return *samples;
}

std::unique_ptr<translation::MappedTranslator> TranslatorOf(
    const std::string& agency) {
  if (agency == "caf") return std::make_unique<adapters::caf::CafTranslator>();
  if (agency == "cpam") {
    return std::make_unique<adapters::cpam::CpamTranslator>();
  }
  if (agency == "dgfip") {
    return std::make_unique<adapters::dgfip::DgfipTranslator>();
  }
  return std::make_unique<adapters::france_travail::FranceTravailTranslator>();
}

// `agency`'s mapping; a test failure and nullptr if it does not load (the
// caller ASSERTs it is there).
translation::MappingPtr MappingOf(const std::string& agency) {
  const Result<translation::MappingPtr> m = TranslatorOf(agency)->mapping();
  EXPECT_TRUE(m.ok()) << agency
                      << "'s mapping does not load: " << m.status().ToString();
  return m.ok() ? *m : nullptr;
}

// The first case of a sample: read by its agency's translator, or for
// France services (the console's JSON) by CaseEventFromJson.
translation::OutgoingCase Read(const Sample& s) {
  const std::string text = ReadSample(s.path);
  if (std::string(s.origin).empty()) {
    const Json doc = Json::parse(text);
    translation::OutgoingCase c;
    c.case_type = s.type;
    c.recipients = doc["recipients"].get<std::vector<std::string>>();
    c.payload = *CaseEventFromJson(doc["event"].dump());
    return c;
  }
  auto cases = TranslatorOf(s.origin)->ReadInbox(s.path, text);
  EXPECT_TRUE(cases.ok()) << s.path << ": " << cases.status().message();
  return cases.ok() && !cases->empty() ? (*cases)[0]
                                       : translation::OutgoingCase{};
}

// The canonical JSON of a case event without its references (a native
// format keeps only the references it has a name for).
Json WithoutReferences(const std::string& payload) {
  Json j = Json::parse(*CaseEventToJson(payload));
  j["body"].erase("references");
  return j;
}

constexpr const char* kAgencies[] = {"caf", "cpam", "dgfip", "france-travail"};

TEST(CaseTypesTest, EachSampleIsReadAsItsCaseTypeForItsRecipients) {
  ASSERT_EQ(Samples().size(), 9u);
  for (const Sample& s : Samples()) {
    SCOPED_TRACE(s.path);
    const translation::OutgoingCase c = Read(s);
    EXPECT_EQ(c.case_type, s.type);
    EXPECT_THAT(c.recipients, ElementsAreArray(s.recipients));
    EXPECT_EQ(c.by_subscription, s.recipients.empty());
    ASSERT_FALSE(c.payload.empty());
    EXPECT_EQ(static_cast<wire::CaseType>(EventOf(c).body_type()), s.type);
    EXPECT_NE(PrimaryCitizen(EventOf(c)), nullptr);
  }
}

TEST(CaseTypesTest, EveryAgencyWritesEveryCaseTypeInItsFormat) {
  for (const Sample& s : Samples()) {
    const translation::OutgoingCase c = Read(s);
    ASSERT_FALSE(c.payload.empty()) << s.path;
    const wire::Citizen* citizen = PrimaryCitizen(EventOf(c));
    ASSERT_NE(citizen, nullptr);
    ASSERT_NE(citizen->nir(), nullptr) << s.path;
    const std::string nir = citizen->nir()->str();
    for (const char* agency : kAgencies) {
      SCOPED_TRACE(std::string(s.path) + " -> " + agency);
      Delivery d(agency, c.payload, s.type);
      const translation::MappingPtr mapping = MappingOf(agency);
      ASSERT_NE(mapping, nullptr);
      auto file = TranslatorOf(agency)->WriteOutbox(d.view(), d.event());
      ASSERT_TRUE(file.ok()) << file.status().message();
      const std::string type = mapping->TypeName(s.type);
      ASSERT_FALSE(type.empty());
      if (std::string(agency) == "caf") {
        // ISO-8859-1 XML, the type as root element, the NIR without key.
        EXPECT_EQ(file->name, std::string(kCaseId) + "-0123456789abcdef.xml");
        EXPECT_THAT(file->contents,
                    HasSubstr("encoding=\"ISO-8859-1\"?>\n<" + type +
                              " dossier=\"" + kCaseId + "\""));
        EXPECT_THAT(file->contents,
                    HasSubstr("<nir>" + nir.substr(0, 13) + "</nir>"));
        EXPECT_THAT(file->contents, Not(HasSubstr(nir)));
        continue;
      }
      EXPECT_EQ(file->name, std::string(kCaseId) + "-0123456789abcdef.json");
      const Json doc = Json::parse(file->contents);
      const auto& m = *mapping;
      EXPECT_EQ(doc[m.type_key()], type);
      EXPECT_EQ(doc[m.case_key()], kCaseId);
      EXPECT_EQ(doc[m.message_key()], "0123456789abcdef1032547698badcfe");
      EXPECT_EQ(doc[m.sender_key()], "france-services/paris-15");
      EXPECT_THAT(file->contents, HasSubstr("\"" + nir + "\""));
    }
  }
}

TEST(CaseTypesTest, JsonFormatsReadBackWhatTheyWrite) {
  for (const Sample& s : Samples()) {
    const translation::OutgoingCase c = Read(s);
    ASSERT_FALSE(c.payload.empty()) << s.path;
    for (const char* agency : {"cpam", "dgfip", "france-travail"}) {
      SCOPED_TRACE(std::string(s.path) + " -> " + agency);
      const translation::MappingPtr mapping = MappingOf(agency);
      ASSERT_NE(mapping, nullptr);
      Delivery d(agency, c.payload, s.type);
      auto file = TranslatorOf(agency)->WriteOutbox(d.view(), d.event());
      ASSERT_TRUE(file.ok()) << file.status().message();
      const auto& m = *mapping;
      auto back = m.ReadEvent(Json::parse(file->contents),
                              {m.case_key(), m.message_key(), m.sender_key()});
      ASSERT_TRUE(back.ok()) << back.status().message();
      EXPECT_EQ(WithoutReferences(*back), WithoutReferences(c.payload));
    }
  }
}

TEST(CaseTypesTest, CafXmlWritesFrenchDatesAmountsAndFlags) {
  const translation::OutgoingCase rsa = Read(Samples()[3]);
  ASSERT_FALSE(rsa.payload.empty());
  Delivery d("caf", rsa.payload, wire::CaseType::RsaApplication);
  auto file = adapters::caf::CafTranslator().WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_THAT(file->contents,
              HasSubstr("<dateDemande>02/11/2026</dateDemande>"));
  EXPECT_THAT(file->contents,
              HasSubstr("<dateNaissance>14/07/1992</dateNaissance>"));
  EXPECT_THAT(
      file->contents,
      HasSubstr("<ressourcesMensuelles>0000412.50</ressourcesMensuelles>"));
  // "Lefèvre" in ISO-8859-1: è is the single byte E8.
  EXPECT_THAT(file->contents, HasSubstr("LEF\xC8VRE"));
  const translation::OutgoingCase household = Read(Samples()[2]);
  ASSERT_FALSE(household.payload.empty());
  Delivery h("caf", household.payload, wire::CaseType::HouseholdChange);
  auto xml = adapters::caf::CafTranslator().WriteOutbox(h.view(), h.event());
  ASSERT_TRUE(xml.ok()) << xml.status().message();
  EXPECT_THAT(xml->contents, HasSubstr("<evenement>PACS</evenement>"));
  EXPECT_THAT(xml->contents, HasSubstr("<pac>\n    <personneACharge>\n"));
  EXPECT_THAT(xml->contents, HasSubstr("<gardeAlternee>O</gardeAlternee>"));
  EXPECT_THAT(xml->contents,
              HasSubstr("<numeroAllocataire>7654321</numeroAllocataire>"));
}

// `sample` with the first `from` replaced by `to`.
std::string Edited(const std::string& sample, const std::string& from,
                   const std::string& to) {
  std::string text = ReadSample(sample);
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << sample << ": " << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

// Each agency refuses a wrongly encoded file, a missing field, a bad NIR
// key, an impossible date and an unknown case type, naming the place.
TEST(CaseTypesTest, BadNativeInputNamesTheField) {
  struct Bad {
    std::string agency, contents, reason;
  };
  const std::string csv = "deploy/samples/caf/rsa_application.csv";
  const std::string xml = "deploy/samples/caf/birth.xml";
  std::string mariage = Edited(xml, "<naissance>", "<mariage>");
  mariage.replace(mariage.find("</naissance>"), 12, "</mariage>");
  const std::string birth = "deploy/samples/cpam/birth.json";
  const std::string death = "deploy/samples/cpam/death_notification.json";
  const std::string household = "deploy/samples/dgfip/household_change.json";
  const std::string resources = "deploy/samples/dgfip/resources_update.json";
  const std::string job =
      "deploy/samples/france_travail/job_seeker_status.json";
  const std::vector<Bad> bad = {
      // CAF: ISO-8859-1 CSV.
      {"caf", Edited(csv, "LEF\xC8VRE", "LEF\xC3\xA8VRE"),
       "line 2: file is UTF-8, expected ISO-8859-1"},
      {"caf", Edited(csv, "14/07/1992;M", "14/07/1992;"), "line 2, field sexe"},
      {"caf", Edited(csv, "1920769123456", "192076912345699"),
       "line 2, field nir: NIR key does not match the first 13 characters"},
      {"caf", Edited(csv, "02/11/2026", "31/11/2026"),
       "line 2, field date_demande"},
      {"caf", Edited(csv, "nir;nom_naissance", "nir;nom_deces"), "line 1"},
      // CAF: ISO-8859-1 XML, read by the mapping.
      {"caf", Edited(xml, "No\xE9", "No\xC3\xA9"),
       "file is UTF-8, expected ISO-8859-1"},
      {"caf", Edited(xml, "<etape>NAISSANCE</etape>", ""),
       "field etape: missing"},
      {"caf", Edited(xml, "2930459350042", "293045935004299"),
       "field parents[0].nir: NIR key does not match the first 13 characters"},
      {"caf", Edited(xml, "20/11/2026", "31/11/2026"),
       "field enfant.dateNaissance: not a date DD/MM/YYYY"},
      {"caf", mariage,
       "unknown case type: the root element is not one the CAF sends"},
      {"caf", Edited(xml, "<naissance>", "<!DOCTYPE x><naissance>"),
       "a DOCTYPE is not allowed"},
      {"caf",
       Edited(xml, "<etape>NAISSANCE</etape>",
              "<etape>NAISSANCE</etape><etape>NAISSANCE</etape>"),
       "line 3: an element given twice"},
      // CPAM: JSON.
      {"cpam", Edited(death, "LEROY", "LER\xD4Y"), "not valid JSON"},
      // A number too large for a double (found by native_fuzz).
      {"cpam", "{\"type\": \"deces\", \"defunt\": 410e44109087}",
       "not valid JSON"},
      {"cpam", Edited(death, "\"numero_acte_deces\": \"2026-1187\",", ""),
       "field numero_acte_deces: missing"},
      {"cpam", Edited(birth, "290023306312387", "290023306312300"),
       "field assure.nir: NIR key does not match the first 13 characters"},
      {"cpam", Edited(death, "1941-03-08", "1941-02-29"),
       "field defunt.date_naissance: not a date YYYY-MM-DD"},
      {"cpam", Edited(death, "\"sexe\": \"F\"", "\"sexe\": \"M\""),
       "field defunt.sexe: does not agree with the NIR's first digit"},
      {"dgfip", Edited(household, "1989-12-05", "1988-12-05"),
       "field conjoint.dateNaissance: the year does not agree with the NIR "
       "(its 2nd and 3rd digits)"},
      {"caf", Edited(csv, "14/07/1992", "14/08/1992"),
       "line 2, field date_naissance: the month does not agree with the NIR "
       "(its 4th and 5th digits)"},
      {"cpam", Edited(death, "\"deces\"", "\"mariage\""),
       "field type: unknown case type (expected declaration_grossesse, "
       "naissance or deces)"},
      // DGFiP: JSON with short codes.
      {"dgfip",
       Edited(household, "GARCIA",
              "GARC\xCD"
              "A"),
       "not valid JSON"},
      {"dgfip", Edited(household, "\"evt\": \"PACS\",", ""),
       "field evt: missing"},
      {"dgfip", Edited(household, "189126912304577", "189126912304500"),
       "field conjoint.nir: NIR key does not match the first 13 characters"},
      {"dgfip", Edited(resources, "2012-09-01", "2012-13-01"),
       "field pac[0].dateNaissance"},
      {"dgfip", Edited(household, "CHGT_SITFAM", "CHGT_NOM"),
       "field typeEvt: unknown case type (expected MAJ_RESSOURCES or "
       "CHGT_SITFAM)"},
      // France Travail: JSON.
      {"france-travail",
       Edited(job, "MOREAU",
              "MOR\xC9"
              "AU"),
       "not valid JSON"},
      {"france-travail", Edited(job, "\"categorie\": 1", "\"categorie\": null"),
       "field inscription.categorie: must be an integer from 1 to 5"},
      {"france-travail", Edited(job, "\"categorie\": 1", "\"x\": 1"),
       "field inscription: member 3 is not a known field (known here: debut, "
       "fin, "
       "categorie)"},
      {"france-travail", Edited(job, "188091305512360", "188091305512399"),
       "field demandeur.nir: NIR key does not match the first 13 characters"},
      {"france-travail", Edited(job, "2026-10-31", "2026-10-32"),
       "field paiements[0].fin"},
      {"france-travail", Edited(job, "{", "{\"evenement\": \"RADIATION\", "),
       "field evenement: unknown case type (expected INSCRIPTION)"},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i) + ", " + bad[i].agency);
    const bool xml_file = bad[i].contents.rfind("<?xml", 0) == 0;
    auto read = TranslatorOf(bad[i].agency)
                    ->ReadInbox(xml_file ? "f.xml" : "f.csv", bad[i].contents);
    EXPECT_THAT(ErrorOf(read), HasSubstr(bad[i].reason));
    // The reason goes into the intake's JSON manifest and the HTTP answer:
    // it must be UTF-8 even where the file is not (partner_files_fuzz).
    EXPECT_EQ(InvalidUtf8At(ErrorOf(read)), ErrorOf(read).size());
  }
}

// Errors name the place, never what is there: a NIR, a name, a date or an
// address never appears in a reason (it ends in the adapter's log). JSON
// that does not parse says where, not the bytes nlohmann last read.
TEST(CaseTypesTest, ErrorsNameThePlaceNeverTheValue) {
  struct Bad {
    std::string agency, contents, reason, value;
  };
  const std::string csv = "deploy/samples/caf/rsa_application.csv";
  const std::string xml = "deploy/samples/caf/birth.xml";
  const std::string death = "deploy/samples/cpam/death_notification.json";
  const std::string household = "deploy/samples/dgfip/household_change.json";
  const std::string job =
      "deploy/samples/france_travail/job_seeker_status.json";
  const std::vector<Bad> bad = {
      {"cpam", Edited(death, "LEROY", "LER\xD4Y"),
       "not valid JSON: the text is not UTF-8 at line 3, column 61 (byte "
       "offset 81)",
       "LER"},
      {"dgfip",
       Edited(household, "GARCIA",
              "GARC\xCD"
              "A"),
       "not valid JSON: the text is not UTF-8 at line 5, column 41 (byte "
       "offset 114)",
       "GARC"},
      {"france-travail",
       Edited(job, "MOREAU",
              "MOR\xC9"
              "AU"),
       "not valid JSON: the text is not UTF-8 at line 5, column 26 (byte "
       "offset 103)",
       "MOR"},
      {"cpam",
       "{\"type\": \"deces\",\n \"defunt\": {\"nir\": 241034410908787x}}",
       "not valid JSON: syntax error at line 2, column 35 (byte offset 52)",
       "241034410908787"},
      {"cpam", "{\"type\": \"deces\", \"defunt\": {\"nom_naissance\": \"LEROY",
       "not valid JSON: the text ends too early at line 1, column 53 (byte "
       "offset 52)",
       "LEROY"},
      {"cpam", Edited(death, "1941-03-08", "1941-02-29"),
       "field defunt.date_naissance: not a date YYYY-MM-DD", "1941-02-29"},
      {"dgfip", Edited(household, "1989-12-05", "1988-12-05"),
       "field conjoint.dateNaissance: the year does not agree with the NIR "
       "(its 2nd and 3rd digits)",
       "1988-12-05"},
      {"caf", Edited(xml, "20/11/2026", "31/11/2026"),
       "field enfant.dateNaissance: not a date DD/MM/YYYY", "31/11/2026"},
      {"caf", Edited(csv, "jerome.lefevre@example.org", "jerome.lefevre@@x"),
       "line 2, field courriel: not an e-mail address", "jerome.lefevre"},
      {"caf", Edited(csv, "02/11/2026", "2026-11-02"),
       "line 2, field date_demande: not a date DD/MM/YYYY", "2026-11-02"},
      {"cpam", Edited(death, "\"deces\"", "\"LEROY\""),
       "field type: unknown case type (expected declaration_grossesse, "
       "naissance or deces)",
       "LEROY"},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i) + ", " + bad[i].agency);
    const bool xml_file = bad[i].contents.rfind("<?xml", 0) == 0;
    const std::string error =
        ErrorOf(TranslatorOf(bad[i].agency)
                    ->ReadInbox(xml_file ? "f.xml" : "f.csv", bad[i].contents));
    EXPECT_EQ(error, bad[i].reason);
    EXPECT_THAT(error, Not(HasSubstr(bad[i].value)));
  }
}

// The CAF's XML is read through its mapping file: an element it does not
// name is refused by its path, whatever it holds.
TEST(CaseTypesTest, UnknownXmlElementsAreRefusedByPath) {
  const std::string xml = "deploy/samples/caf/birth.xml";
  const auto caf = TranslatorOf("caf");
  EXPECT_THAT(
      ErrorOf(caf->ReadInbox(
          "f.xml",
          Edited(xml, "<sexe>M</sexe>", "<sexe>M</sexe><poids>3200</poids>"))),
      HasSubstr("field enfant: member 5 is not a known field (known here: "));
  EXPECT_THAT(
      ErrorOf(caf->ReadInbox(
          "f.xml", Edited(xml, "<numeroAllocataire>",
                          "<numeroAlocataire>3141592</numeroAlocataire>"
                          "<numeroAllocataire>"))),
      HasSubstr("the document: member 5 is not a known field (did you mean "
                "'numeroAllocataire'? known here: "));
  EXPECT_THAT(
      ErrorOf(caf->ReadInbox("f.xml", Edited(xml, "<parent>\n      <nir>",
                                             "<parent>\n      <nirr/><nir>"))),
      HasSubstr("field parents[0]: member 1 is not a known field (did you mean "
                "'nir'? known here: "));
}

TEST(CaseTypesTest, MappingFilesNameEveryFieldOnce) {
  for (const char* agency : kAgencies) {
    SCOPED_TRACE(agency);
    ASSERT_NE(MappingOf(agency), nullptr);
  }
  // A field without a native name, or a name used twice, is refused.
  const std::string base = ReadSample("adapters/cpam/mapping.toml");
  std::string missing = base;
  missing.replace(missing.find("death_record_number = "), 2, "#d");
  EXPECT_THAT(translation::Mapping::Parse(missing, "m").status().message(),
              HasSubstr("no native name for DeathNotification."
                        "death_record_number"));
  std::string twice = base;
  twice.replace(twice.find("death_date = \"date_deces\""), 25,
                "death_date = \"commune_deces\"");
  EXPECT_THAT(translation::Mapping::Parse(twice, "m").status().message(),
              HasSubstr("\"commune_deces\" used twice in DeathNotification"));
}

}  // namespace
}  // namespace relais::testing
