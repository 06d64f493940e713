// Unit tests of the CAF's native formats (adapters/README.md, "CAF"): the
// ISO-8859-1 rsa_application CSV in, the ISO-8859-1 address_change XML out.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/caf/latin1.h"
#include "adapters/caf/translator.h"
#include "adapters/translation/native.h"
#include "core/bytes.h"
#include "core/envelope.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "tests/adapters/translator_fixtures.h"
#include "tests/support/fixtures.h"

namespace relais::adapters::caf {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using relais::testing::AddressChangeEvent;
using relais::testing::ErrorOf;
using relais::testing::EventOf;
using relais::testing::kCaseId;
using relais::testing::ReadSample;

constexpr char kHeader[] =
    "nir;nom_naissance;prenoms;date_naissance;sexe;commune_naissance;"
    "pays_naissance;date_demande;opposition_css;ressources_mensuelles;"
    "numero_allocataire;organisme;courriel";

std::string Sample() {
  return ReadSample("deploy/samples/caf/rsa_application.csv");
}

// The verified CaseEvent of a case read from the inbox.
// The sample address_change of tests/support, changed by `edit`.
// A sealed envelope as the adapter receives it, with a fixed case and
// A sealed delivery to caf (tests/adapters/translator_fixtures.h).
struct Delivered : relais::testing::Delivery {
  explicit Delivered(std::string payload = AddressChangeEvent(),
                     wire::CaseType type = wire::CaseType::AddressChange)
      : Delivery("caf", std::move(payload), type) {}
};

// A CSV (LF line ends) with the header and `rows`, in ISO-8859-1.
std::string Csv(const std::vector<std::vector<std::string>>& rows) {
  std::string text;
  for (const char* name : kRsaColumns)
    text += std::string(text.empty() ? "" : ";") + name;
  text += "\n";
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) line += (i ? ";" : "") + row[i];
    text += line + "\n";
  }
  return text;
}

// A valid row: MOREL Éloïse, born in Marseille, no objection to the CSS.
std::vector<std::string> GoodRow() {
  return {"2950813055123",
          "MOREL",
          "\xC9lo\xEFse Marie",
          "19/08/1995",
          "F",
          "13055",
          "99100",
          "05/11/2026",
          "N",
          "0000380.00",
          "3456789",
          "131",
          "eloise.morel@example.org"};
}

TEST(CafTranslatorTest, AcceptsCsvAndXmlFilesOnly) {
  CafTranslator t;
  EXPECT_TRUE(t.Accepts("rsa_2026-11-05.csv"));
  EXPECT_TRUE(t.Accepts("naissances_2026-11-05.xml"));
  EXPECT_FALSE(t.Accepts("rsa_2026-11-05.json"));
  EXPECT_FALSE(t.Accepts("rsa.csv.bak"));
}

TEST(CafTranslatorTest, SampleLinesBecomeRsaApplications) {
  auto cases = CafTranslator().ReadInbox("rsa_application.csv", Sample());
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  ASSERT_EQ(cases->size(), 2u);

  const translation::OutgoingCase& first = (*cases)[0];
  EXPECT_EQ(first.case_type, wire::CaseType::RsaApplication);
  EXPECT_TRUE(first.case_id.empty());
  EXPECT_EQ(first.recipients,
            (std::vector<std::string>{"cpam", "france-travail"}));
  const auto* app = EventOf(first).body_as_RsaApplication();
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(StringView(app->applicant()->nir()),
            "192076912345621");  // key added
  const auto* id = app->applicant()->identity();
  EXPECT_EQ(StringView(id->birth_name()), "LEF\u00c8VRE");  // UTF-8 now
  ASSERT_EQ(id->given_names()->size(), 2u);
  EXPECT_EQ(StringView(id->given_names()->Get(0)), "J\u00e9r\u00f4me");
  EXPECT_EQ(StringView(id->given_names()->Get(1)), "Andr\u00e9");
  EXPECT_EQ(StringView(id->birth_date()), "1992-07-14");
  EXPECT_EQ(id->sex(), wire::Sex::Male);
  EXPECT_EQ(StringView(id->birthplace_cog()), "69123");
  EXPECT_EQ(StringView(id->birth_country_cog()), "99100");
  EXPECT_EQ(StringView(app->application_date()), "2026-11-02");
  EXPECT_FALSE(app->css_opposition());
  EXPECT_EQ(app->monthly_resources_cents(), 41250);
  const auto* ref = translation::native::ReferenceFor(app->references(), "caf");
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(StringView(ref->identifier()), "7654321");
  EXPECT_EQ(StringView(ref->scope()), "691");
  ASSERT_NE(app->contact(), nullptr);
  EXPECT_EQ(StringView(app->contact()->email()), "jerome.lefevre@example.org");

  // The second applicant objected to the CSS: France Travail only.
  const translation::OutgoingCase& second = (*cases)[1];
  EXPECT_EQ(second.recipients, (std::vector<std::string>{"france-travail"}));
  const auto* app2 = EventOf(second).body_as_RsaApplication();
  ASSERT_NE(app2, nullptr);
  EXPECT_TRUE(app2->css_opposition());
  EXPECT_EQ(app2->monthly_resources_cents(), 167500);
  EXPECT_EQ(StringView(app2->applicant()->nir()), "285037505601220");
  EXPECT_EQ(app2->applicant()->identity()->sex(), wire::Sex::Female);
  EXPECT_EQ(app2->contact(), nullptr);  // empty courriel
}

TEST(CafTranslatorTest, LineEndsBlankLinesAndOptionalColumns) {
  CafTranslator t;
  auto abroad = GoodRow();
  abroad[0] = "2950899350123";  // born abroad: department 99
  abroad[5] = "";               // no commune
  abroad[6] = "99350";          // Maroc
  abroad[12] = "";
  std::string crlf = Csv({GoodRow(), abroad});
  for (size_t p = crlf.find('\n'); p != std::string::npos;
       p = crlf.find('\n', p + 2)) {
    crlf.insert(p, "\r");
  }
  auto cases = t.ReadInbox("f.csv", crlf + "\r\n");
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  ASSERT_EQ(cases->size(), 2u);
  const auto* id =
      EventOf((*cases)[0]).body_as_RsaApplication()->applicant()->identity();
  EXPECT_EQ(StringView(id->given_names()->Get(0)), "\u00c9lo\u00efse");
  const auto* abroad_id =
      EventOf((*cases)[1]).body_as_RsaApplication()->applicant()->identity();
  EXPECT_EQ(StringView(abroad_id->birth_country_cog()), "99350");
  EXPECT_EQ(abroad_id->birthplace_cog(), nullptr);

  auto with_key = GoodRow();
  with_key[0] = "295081305512339";  // 15 characters with a right key
  auto keyed = t.ReadInbox("f.csv", Csv({with_key}));
  ASSERT_TRUE(keyed.ok()) << keyed.status().ToString();
  EXPECT_EQ(
      StringView(
          EventOf((*keyed)[0]).body_as_RsaApplication()->applicant()->nir()),
      "295081305512339");
  auto header_only = t.ReadInbox("f.csv", Csv({}));
  ASSERT_TRUE(header_only.ok());
  EXPECT_TRUE(header_only->empty());
}

TEST(CafTranslatorTest, BadValuesNameTheLineAndField) {
  struct Case {
    size_t column;
    std::string value;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {0, "295081305512", "line 3, field nir: NIR must have 13 characters"},
      {0, "295081305512399",
       "line 3, field nir: NIR key does not match the first 13 characters"},
      {0, "5950813055123", "line 3, field nir: NIR must start with"},
      {1, "", "line 3, field nom_naissance: missing"},
      {2, " ", "line 3, field prenoms: missing"},
      {3, "31/02/1995", "line 3, field date_naissance: not a date DD/MM/YYYY"},
      {3, "1995-08-19", "line 3, field date_naissance"},
      {4, "X", "line 3, field sexe: must be M or F"},
      {4, "M",
       "line 3, field sexe: does not agree with the NIR's first digit (1, 3 "
       "or 7: male; 2, 4 or 8: female)"},
      {5, "1305", "line 3, field commune_naissance: not a commune COG code"},
      {5, "", "line 3, field commune_naissance: missing"},
      {6, "FR", "line 3, field pays_naissance: not a country COG code"},
      {7, "05/13/2026", "line 3, field date_demande"},
      {7, "01/01/1990", "line 3, field date_demande: before date_naissance"},
      {8, "Y", "line 3, field opposition_css: must be O or N"},
      {9, "380,00",
       "line 3, field ressources_mensuelles: not an amount like 0001675.00"},
      {9, "", "line 3, field ressources_mensuelles: missing"},
      {10, "12345678",
       "line 3, field numero_allocataire: must be 1 to 7 digits"},
      {11, "13", "line 3, field organisme: must be 3 digits"},
      {12, "eloise.morel", "line 3, field courriel: not an e-mail address"},
  };
  CafTranslator t;
  for (const Case& c : cases) {
    auto bad = GoodRow();
    bad[c.column] = c.value;
    const std::string error =
        ErrorOf(t.ReadInbox("f.csv", Csv({GoodRow(), bad})));
    EXPECT_THAT(error, HasSubstr(c.expected))
        << kRsaColumns[c.column] << " = '" << c.value << "'";
    // The place, never the value (a NIR, a name, an e-mail address).
    if (c.value.size() > 1) {
      EXPECT_THAT(error, Not(HasSubstr(c.value))) << kRsaColumns[c.column];
    }
  }
}

TEST(CafTranslatorTest, BadLayoutNamesTheLine) {
  CafTranslator t;
  EXPECT_THAT(ErrorOf(t.ReadInbox(
                  "f.csv", Csv({GoodRow(), {"2950813055123", "MOREL"}}))),
              HasSubstr("line 3: 2 fields, expected 13"));
  EXPECT_THAT(ErrorOf(t.ReadInbox("f.csv", "")),
              HasSubstr("line 1, column 1: empty, expected a column name"));
  // A file without its header line: the NIR in its place is not repeated.
  const std::string no_header = Csv({GoodRow()}).substr(Csv({}).size());
  EXPECT_EQ(ErrorOf(t.ReadInbox("f.csv", no_header)),
            "line 1, column 1: not a column name: is the header line missing? "
            "(the header line is " +
                std::string(kHeader) + ")");
}

// A misspelt, unknown, misplaced or missing column is refused, naming it
// and its position.
TEST(CafTranslatorTest, TheHeaderNamesEveryColumnExactly) {
  CafTranslator t;
  const std::string header(kHeader);
  const std::string end = " (the header line is " + header + ")";
  const auto with_header = [](std::string line) {
    return line + "\n" + Csv({GoodRow()}).substr(Csv({}).size());
  };
  const auto edited = [&](const std::string& from, const std::string& to) {
    std::string line = header;
    return line.replace(line.find(from), from.size(), to);
  };
  EXPECT_EQ(
      ErrorOf(t.ReadInbox("f.csv", with_header(edited("prenoms", "prenom")))),
      "line 1, column 3: unknown column, expected 'prenoms'" + end);
  EXPECT_EQ(ErrorOf(t.ReadInbox("f.csv", with_header(header + ";telephone"))),
            "line 1, column 14: unknown column, and there are only "
            "13 columns" +
                end);
  EXPECT_EQ(ErrorOf(t.ReadInbox("f.csv",
                                with_header(edited("nom_naissance;prenoms",
                                                   "prenoms;nom_naissance")))),
            "line 1, column 2: column 'prenoms' out of place, expected "
            "'nom_naissance'" +
                end);
  EXPECT_EQ(ErrorOf(t.ReadInbox("f.csv", with_header(edited(";courriel", "")))),
            "line 1, column 13: column 'courriel' is missing" + end);
  EXPECT_EQ(ErrorOf(t.ReadInbox("f.csv", "nir;nom;prenoms\n")),
            "line 1, column 2: unknown column, expected 'nom_naissance'" + end);
}

TEST(CafTranslatorTest, FilesThatAreNotLatin1AreRefused) {
  CafTranslator t;
  // The sample saved as UTF-8: "LEFÈVRE" is C3 88 on line 2.
  EXPECT_THAT(ErrorOf(t.ReadInbox("f.csv", Latin1ToUtf8(Sample()))),
              HasSubstr("line 2: file is UTF-8, expected ISO-8859-1"));
  EXPECT_THAT(ErrorOf(t.ReadInbox("f.csv", "\xEF\xBB\xBF" + Sample())),
              HasSubstr("byte order mark"));
  EXPECT_THAT(ErrorOf(t.ReadInbox("f.csv", Csv({GoodRow()}) + "\x01\n")),
              HasSubstr("line 3: control character 0x01"));
  auto cp1252 = GoodRow();
  cp1252[1] = "C\x9Cur";  // Windows-1252 "Cœur"
  EXPECT_THAT(
      ErrorOf(t.ReadInbox("f.csv", Csv({cp1252}))),
      HasSubstr("line 2: control character 0x9C (a Windows-1252 file?)"));
  // Latin-1 capitals followed by ASCII are not mistaken for UTF-8.
  auto capitals = GoodRow();
  capitals[1] = "\xC9MILE-\xC8VE";
  EXPECT_TRUE(t.ReadInbox("f.csv", Csv({capitals})).ok());
}

TEST(CafTranslatorTest, Latin1Helpers) {
  EXPECT_EQ(Latin1ToUtf8("Marie-Th\xE9r\xE8se"), "Marie-Th\u00e9r\u00e8se");
  EXPECT_EQ(*Utf8ToLatin1("Marie-Th\u00e9r\u00e8se", "x"),
            "Marie-Th\xE9r\xE8se");
  auto euro = Utf8ToLatin1("5 \u20ac", "montant");
  ASSERT_FALSE(euro.ok());
  EXPECT_EQ(euro.status().message(),
            "field montant: character U+20AC cannot be written in ISO-8859-1");
  EXPECT_THAT(Utf8ToLatin1("\xE9t\xE9", "ville").status().message(),
              HasSubstr("field ville: not valid UTF-8"));
  uint32_t cp = 0;
  size_t n = 0;
  EXPECT_TRUE(DecodeUtf8("\xE2\x82\xAC", 0, &cp, &n));
  EXPECT_EQ(cp, 0x20ACu);
  EXPECT_EQ(n, 3u);
  EXPECT_FALSE(DecodeUtf8("\xC0\x80", 0, &cp, &n));          // overlong
  EXPECT_FALSE(DecodeUtf8("\xED\xA0\x80", 0, &cp, &n));      // surrogate
  EXPECT_FALSE(DecodeUtf8("\xE9\xA0", 0, &cp, &n));          // truncated
  EXPECT_FALSE(DecodeUtf8("\xF4\x90\x80\x80", 0, &cp, &n));  // above U+10FFFF
}

TEST(CafTranslatorTest, AddressChangeIsLatin1XmlWithoutNirKey) {
  Delivered d;
  auto file = CafTranslator().WriteOutbox(d.view(), d.event());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, std::string(kCaseId) + "-0123456789abcdef.xml");
  const std::string expected =
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
      "<changementAdresse dossier=\"c-20261123-9f2c41d07ab3\""
      " message=\"0123456789abcdef1032547698badcfe\" "
      "emetteur=\"france-services/paris-15\">\n"
      "  <allocataire>\n"
      "    <nir>2840575123456</nir>\n"
      "    <identite>\n"
      "      <nomNaissance>MARTIN</nomNaissance>\n"
      "      <prenoms>\n"
      "        <prenom>Claire</prenom>\n"
      "        <prenom>Anne</prenom>\n"
      "      </prenoms>\n"
      "      <dateNaissance>12/05/1984</dateNaissance>\n"
      "      <sexe>F</sexe>\n"
      "      <communeNaissance>75115</communeNaissance>\n"
      "      <paysNaissance>99100</paysNaissance>\n"
      "    </identite>\n"
      "  </allocataire>\n"
      "  <dateEffet>01/12/2026</dateEffet>\n"
      "  <ancienneAdresse>\n"
      "    <lignes>\n"
      "      <ligne>12 rue des Lilas</ligne>\n"
      "    </lignes>\n"
      "    <codePostal>75015</codePostal>\n"
      "    <commune>Paris</commune>\n"
      "    <codeInsee>75115</codeInsee>\n"
      "    <pays>99100</pays>\n"
      "  </ancienneAdresse>\n"
      "  <nouvelleAdresse>\n"
      "    <lignes>\n"
      "      <ligne>4 place du March\xE9</ligne>\n"  // "é" is the byte E9
      "    </lignes>\n"
      "    <codePostal>69003</codePostal>\n"
      "    <commune>Lyon</commune>\n"
      "    <codeInsee>69383</codeInsee>\n"
      "    <pays>99100</pays>\n"
      "  </nouvelleAdresse>\n"
      "  <contact>\n"
      "    <courriel>claire.martin@example.org</courriel>\n"
      "  </contact>\n"
      "  <numeroAllocataire>1234567</numeroAllocataire>\n"
      "  <organisme>751</organisme>\n"
      "</changementAdresse>\n";
  EXPECT_EQ(file->contents, expected);
  EXPECT_EQ(file->contents.find("284057512345672"), std::string::npos);
  EXPECT_TRUE(CheckLatin1Text(file->contents).ok());
}

TEST(CafTranslatorTest, XmlIsEscapedAndOnlyLatin1CanBeWritten) {
  CafTranslator t;
  Delivered escaped(AddressChangeEvent([](wire::AddressChangeT& c) {
    c.new_address->lines = {"B\u00e2t. A & B <rdc>", "\"Les Ormes\""};
  }));
  auto file = t.WriteOutbox(escaped.view(), escaped.event());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_THAT(file->contents,
              HasSubstr("<ligne>B\xE2t. A &amp; B &lt;rdc&gt;</ligne>\n"
                        "      <ligne>&quot;Les Ormes&quot;</ligne>"));

  Delivered polish(AddressChangeEvent([](wire::AddressChangeT& c) {
    c.citizen->identity->given_names = {"\u0141ucja"};  // Ł is not in Latin-1
  }));
  auto refused = t.WriteOutbox(polish.view(), polish.event());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "field allocataire.identite.prenoms[0]: character U+0141 cannot be "
            "written in ISO-8859-1");

  Delivered euro(AddressChangeEvent(
      [](wire::AddressChangeT& c) { c.new_address->city = "Lyon \u20ac"; }));
  EXPECT_THAT(t.WriteOutbox(euro.view(), euro.event()).status().message(),
              HasSubstr("field nouvelleAdresse.commune: character U+20AC"));

  Delivered not_utf8(AddressChangeEvent([](wire::AddressChangeT& c) {
    c.citizen->identity->birth_name = "MARTIN\xFF";
  }));
  EXPECT_THAT(
      t.WriteOutbox(not_utf8.view(), not_utf8.event()).status().message(),
      HasSubstr("not UTF-8"));

  Delivered bad_nir(AddressChangeEvent(
      [](wire::AddressChangeT& c) { c.citizen->nir = "284057512345600"; }));
  EXPECT_THAT(t.WriteOutbox(bad_nir.view(), bad_nir.event()).status().message(),
              HasSubstr("field allocataire.nir: NIR key does not match the "
                        "first 13 characters"));
}

}  // namespace
}  // namespace relais::adapters::caf
