// Integration: relaisd and the four agency adapters as real processes. An
// address_change from France services reaches every agency's outbox in its
// native format, each adapter acknowledges it, and the case status says so.

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/case_render.h"
#include "core/bytes.h"
#include "core/cases.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "deploy/lib/provision.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr char kDesk[] = "france-services/paris-15";

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.front() != '.') out.push_back(e.path().string());
  }
  return out;
}

// The parsed JSON of an agency's outbox file (a test failure and a discarded
// value if it is not JSON).
nlohmann::json ParseJson(const std::string& agency, const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << agency << ": not JSON: " << text;
  return doc;
}

// The string at `pointer` (e.g. "/assure/nir") in `j`; "(none)" if there
// is none.
std::string Str(const nlohmann::json& j, const std::string& pointer) {
  const nlohmann::json::json_pointer at(pointer);
  return j.is_object() && j.contains(at) && j[at].is_string()
             ? j[at].get<std::string>()
             : "(none)";
}

// True if `j` has the key `key` at any depth.
bool HasKey(const nlohmann::json& j, const std::string& key) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == key || HasKey(v, key)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (HasKey(v, key)) return true;
    }
  }
  return false;
}

// True if the native file `text` of `agency` has the field `name` at any
// depth: an element of the CAF's XML, a key of the others' JSON.
bool HasField(const std::string& agency, const std::string& text,
              const std::string& name) {
  if (agency == "caf") {
    return text.find("<" + name + ">") != std::string::npos ||
           text.find("<" + name + " ") != std::string::npos;
  }
  return HasKey(ParseJson(agency, text), name);
}

// Drops a file into an inbox the way a partner system must: write, then
// rename.
void Drop(const std::string& inbox, const std::string& name,
          const std::string& bytes) {
  ASSERT_TRUE(WriteFileAtomic(inbox + "/" + name, bytes).ok());
}

class DemoFlowTest : public ::testing::Test {
 protected:
  // Whatever the test sent or dropped, no log holds a citizen's data.
  void TearDown() override {
    EXPECT_EQ(stack_.PersonalDataInLogs(), std::vector<std::string>{});
  }

  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
    for (const auto& a : deploy::kAgencies)
      ASSERT_TRUE(stack_.StartAdapter(a).ok());
    auto desk = stack_.Connect(kDesk);
    ASSERT_TRUE(desk.ok());
    desk_ = std::move(*desk);
  }

  std::string StateOf(const std::string& case_id) {
    auto state = desk_->QueryCase(case_id);
    if (!state.ok()) return "";
    return cli::CaseStateToJson(*ParseCaseState(*state)).dump();
  }

  TestStack stack_;
  std::unique_ptr<sdk::Client> desk_;
};

TEST_F(DemoFlowTest, AddressChangeReachesTheFourAgenciesInTheirFormats) {
  auto sample = ReadFile(
      SourcePath("deploy/samples/france_services/address_change.json"));
  ASSERT_TRUE(sample.ok());
  auto doc = nlohmann::json::parse(*sample);
  EnvelopeDraft d;
  d.case_id = "c-demo-flow-1";
  d.recipients = doc["recipients"].get<std::vector<std::string>>();
  d.case_type = wire::CaseType::AddressChange;
  d.payload = *CaseEventFromJson(doc["event"].dump());
  auto sealed = desk_->Seal(d);
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(desk_->Submit(*sealed, seconds(10)).ok());

  std::map<std::string, std::string> native;  // by agency
  for (const auto& a : deploy::kAgencies) {
    ASSERT_TRUE(WaitUntil([&] {
      return FilesIn(stack_.layout().Outbox(a)).size() == 1;
    })) << a
        << " received nothing";
    const std::string file = FilesIn(stack_.layout().Outbox(a))[0];
    EXPECT_NE(file.find("c-demo-flow-1"), std::string::npos) << file;
    EXPECT_EQ(fs::path(file).extension(), a == "caf" ? ".xml" : ".json");
    native[a] = *ReadFile(file);
  }
  // The CAF's partner system reads ISO-8859-1 XML in its own vocabulary:
  // "Marché" is one byte 0xE9, the NIR loses its key.
  const std::string& caf = native["caf"];
  EXPECT_EQ(caf.rfind("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
                      "<changementAdresse dossier=\"c-demo-flow-1\"",
                      0),
            0u)
      << caf;
  EXPECT_NE(caf.find("March\xE9"), std::string::npos) << caf;
  EXPECT_EQ(caf.find("March\xC3\xA9"), std::string::npos) << "UTF-8: " << caf;
  EXPECT_NE(caf.find("<nir>2840575123456</nir>"), std::string::npos) << caf;
  EXPECT_NE(caf.find("<codePostal>69003</codePostal>"), std::string::npos);
  EXPECT_NE(caf.find("<commune>Lyon</commune>"), std::string::npos);
  EXPECT_NE(caf.find("<numeroAllocataire>1234567</numeroAllocataire>"),
            std::string::npos);
  // The others read UTF-8 JSON, each with its own names.
  const auto cpam = ParseJson("cpam", native["cpam"]);
  EXPECT_EQ(Str(cpam, "/type"), "changement_adresse") << cpam;
  EXPECT_EQ(Str(cpam, "/dossier"), "c-demo-flow-1");
  EXPECT_EQ(Str(cpam, "/assure/nir"), "284057512345672") << cpam;
  EXPECT_EQ(Str(cpam, "/assure/nom_naissance"), "MARTIN") << cpam;
  EXPECT_EQ(Str(cpam, "/nouvelle_adresse/code_postal"), "69003");
  EXPECT_EQ(Str(cpam, "/nouvelle_adresse/commune"), "Lyon");
  EXPECT_EQ(Str(cpam, "/nouvelle_adresse/lignes/0"), "4 place du Marché");
  EXPECT_EQ(Str(cpam, "/numero_assure"), "284057512345672") << cpam;
  // The DGFiP's short codes: the taxpayer at the top, the new address as
  // the adresse fiscale de taxation (aft: adr, cp, ville), its SPI.
  const auto dgfip = ParseJson("dgfip", native["dgfip"]);
  EXPECT_EQ(Str(dgfip, "/typeEvt"), "CHGT_ADR") << dgfip;
  EXPECT_EQ(Str(dgfip, "/nir"), "284057512345672") << dgfip;
  EXPECT_EQ(Str(dgfip, "/nom"), "MARTIN") << dgfip;
  EXPECT_EQ(Str(dgfip, "/dateEffet"), "2026-12-01") << dgfip;
  EXPECT_EQ(Str(dgfip, "/aft/cp"), "69003") << dgfip;
  EXPECT_EQ(Str(dgfip, "/aft/ville"), "Lyon") << dgfip;
  EXPECT_EQ(Str(dgfip, "/aft/adr/0"), "4 place du Marché") << dgfip;
  EXPECT_EQ(Str(dgfip, "/spi"), "0123456789211") << dgfip;
  const auto ft = ParseJson("france-travail", native["france-travail"]);
  EXPECT_EQ(Str(ft, "/evenement"), "CHANGEMENT_ADRESSE") << ft;
  EXPECT_EQ(Str(ft, "/demandeur/nir"), "284057512345672") << ft;
  EXPECT_EQ(Str(ft, "/nouvelle_adresse/code_postal"), "69003") << ft;
  EXPECT_EQ(Str(ft, "/nouvelle_adresse/commune"), "Lyon") << ft;
  EXPECT_EQ(Str(ft, "/identifiant"), "1234567A") << ft;

  ASSERT_TRUE(WaitUntil([&] {
    const std::string s = StateOf("c-demo-flow-1");
    size_t n = 0;
    for (size_t p = s.find("\"delivered\""); p != std::string::npos;
         p = s.find("\"delivered\"", p + 1)) {
      ++n;
    }
    return n >= 8;  // four statuses and four trail entries
  })) << StateOf("c-demo-flow-1");
}

TEST_F(DemoFlowTest,
       CafInboxFileBecomesAnRsaApplicationForCpamAndFranceTravail) {
  auto csv = ReadFile(SourcePath("deploy/samples/caf/rsa_application.csv"));
  ASSERT_TRUE(csv.ok());
  Drop(stack_.layout().Inbox("caf"), "rsa_application.csv", *csv);
  const std::string receipt =
      stack_.layout().Done("caf") + "/rsa_application.csv.receipt.json";
  // The adapter takes the file out of inbox/ (a hidden name) at once, then
  // writes the receipt, then moves the file to done/: wait for all three.
  const std::string inbox_file =
      stack_.layout().Inbox("caf") + "/rsa_application.csv";
  const std::string done_file =
      stack_.layout().Done("caf") + "/rsa_application.csv";
  ASSERT_TRUE(WaitUntil([&] {
    return fs::exists(receipt) && !fs::exists(inbox_file) &&
           fs::exists(done_file);
  })) << "not accepted; rejected/: "
      << FilesIn(stack_.layout().Rejected("caf")).size();
  auto doc = nlohmann::json::parse(*ReadFile(receipt));
  ASSERT_GE(doc["cases"].size(), 1u);
  EXPECT_FALSE(doc["cases"][0]["duplicate"].get<bool>());
  // Every recipient acknowledged it (its adapter wrote it to its outbox).
  auto caf = stack_.Connect("caf");
  ASSERT_TRUE(caf.ok());
  const std::string case_id = doc["cases"][0]["case_id"];
  ASSERT_TRUE(WaitUntil([&] {
    auto state = (*caf)->QueryCase(case_id);
    if (!state.ok()) return false;
    const auto* s = ParseCaseState(*state);
    for (const auto* r : *s->recipients()) {
      if (r->state() != wire::RecipientState::Delivered) return false;
    }
    return s->recipients()->size() == 2;
  }));
}

// France services hands a case to the CAF's instructing agent: it arrives
// as the CAF's XML with the mandate and the agent.
TEST_F(DemoFlowTest, AssistedCaseReachesTheCafAsXml) {
  auto doc = nlohmann::json::parse(*ReadFile(
      SourcePath("deploy/samples/france_services/assisted_case.json")));
  EnvelopeDraft d = SampleDraft(kDesk, {"caf"});
  d.case_type = wire::CaseType::AssistedCase;
  d.payload = *CaseEventFromJson(doc["event"].dump());
  auto sealed = desk_->Seal(d);
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(desk_->Submit(*sealed, seconds(10)).ok());
  ASSERT_TRUE(WaitUntil(
      [&] { return FilesIn(stack_.layout().Outbox("caf")).size() == 1; }));
  const std::string xml = *ReadFile(FilesIn(stack_.layout().Outbox("caf"))[0]);
  EXPECT_NE(xml.find("<demandeAccompagnee dossier="), std::string::npos) << xml;
  EXPECT_NE(
      xml.find("<mandat>\n    <type>ECRIT</type>\n    <date>23/11/2026</date>"),
      std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<agent>paris-15/agent-07</agent>"), std::string::npos);
  EXPECT_NE(xml.find("Prime d'activit\xE9"), std::string::npos);
}

// The CAF's partner system says how it is getting on with a delivered
// case (a status file): the broker records it, and the case shows it.
TEST_F(DemoFlowTest, PartnerStatusFilesReachTheCase) {
  auto sealed = desk_->Seal(SampleDraft(kDesk, {"caf"}));
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(desk_->Submit(*sealed, seconds(10)).ok());
  const std::string case_id(ParseEnvelope(sealed->bytes)->case_id);
  ASSERT_TRUE(WaitUntil([&] {
    return StateOf(case_id).find("\"delivered\"") != std::string::npos;
  })) << StateOf(case_id);
  const std::string status_dir = stack_.layout().StatusIn("caf");
  const std::string id = HexEncode(sealed->message_id);
  Drop(status_dir, "bad-status.json",
       "{\"message_id\": \"" + id + "\", \"status\": \"finished\"}");
  Drop(status_dir, "done.json",
       "{\"message_id\": \"" + id +
           "\", \"status\": \"done\", \"reason\": \"dossier mis à jour\"}");
  ASSERT_TRUE(WaitUntil(
      [&] { return fs::exists(stack_.layout().Done("caf") + "/done.json"); }));
  const std::string state = StateOf(case_id);
  EXPECT_NE(state.find("\"done\""), std::string::npos) << state;
  EXPECT_NE(state.find("dossier mis à jour"), std::string::npos) << state;
  ASSERT_TRUE(WaitUntil([&] {
    return fs::exists(stack_.layout().Rejected("caf") +
                      "/bad-status.json.error");
  }));
  const std::string why =
      *ReadFile(stack_.layout().Rejected("caf") + "/bad-status.json.error");
  EXPECT_NE(why.find("field status"), std::string::npos) << why;
  // Going back is refused by the broker, with its reason (the message
  // named by its case this time).
  Drop(status_dir, "late.json",
       "{\"case_id\": \"" + case_id + "\", \"status\": \"received\"}");
  ASSERT_TRUE(WaitUntil([&] {
    return fs::exists(stack_.layout().Rejected("caf") + "/late.json.error");
  }));
  EXPECT_NE(ReadFile(stack_.layout().Rejected("caf") + "/late.json.error")
                ->find("StatusNotAllowed"),
            std::string::npos);
}

// The case ids of an accepted inbox file, from its receipt (the adapter
// writes the receipt, then moves the file out of inbox/).
std::vector<std::string> AcceptedCases(const deploy::StackLayout& layout,
                                       const std::string& agency,
                                       const std::string& name) {
  const std::string receipt =
      layout.Done(agency) + "/" + name + ".receipt.json";
  const std::string error = layout.Rejected(agency) + "/" + name + ".error";
  EXPECT_TRUE(WaitUntil([&] {
    return (fs::exists(receipt) &&
            !fs::exists(layout.Inbox(agency) + "/" + name)) ||
           fs::exists(error);
  }));
  EXPECT_FALSE(fs::exists(error)) << *ReadFile(error);
  std::vector<std::string> ids;
  auto text = ReadFile(receipt);
  if (!text.ok()) return ids;
  const auto doc = nlohmann::json::parse(*text);
  for (const auto& c : doc["cases"]) ids.push_back(c["case_id"]);
  return ids;
}

// Each case type an agency originates, from its sample in that agency's
// native format (the inbox), reaches exactly its recipients in their own
// formats; each recipient's partner system reports it done (status/), and
// the originator sees done everywhere and gets the status reports back.
TEST_F(DemoFlowTest, EveryAgencySampleIsDoneAtExactlyItsRecipients) {
  // (recipient, field): a field by its name in the recipient's own format
  // (adapters/<agency>/mapping.toml), at any depth of its native file.
  using Fields = std::vector<std::pair<std::string, std::string>>;
  struct Flow {
    std::string sample, origin;
    std::vector<std::string> recipients;  // of the file's first case
    // Each recipient gets the fields it needs only (data minimisation,
    // docs/CASES.md "Who gets which fields", core/minimise.cc): what must
    // be in its native file, and what must not although its format has a
    // name for it.
    Fields present, absent;
    // The same for the file's second case, if it has one to check.
    Fields second_present = {}, second_absent = {};
  };
  const std::vector<Flow> flows = {
      // Agency references: the recipient's own only (the CAF's number
      // reaches the CAF, not the DGFiP, whose format could carry it).
      {"deploy/samples/cpam/birth.json",
       "cpam",
       {"caf", "dgfip"},
       {{"caf", "enfant"},
        {"caf", "parents"},
        {"caf", "nir"},
        {"caf", "numeroAllocataire"},
        {"dgfip", "enfant"},
        {"dgfip", "parents"},
        {"dgfip", "nir"}},
       {{"dgfip", "numeroAllocataire"}}},
      // The couple's numéros fiscaux are for the DGFiP only.
      {"deploy/samples/dgfip/household_change.json",
       "dgfip",
       {"caf"},
       {{"caf", "evenement"},
        {"caf", "declarant"},
        {"caf", "conjoint"},
        {"caf", "pac"},
        {"caf", "nir"},
        {"caf", "numeroAllocataire"}},
       {{"caf", "numeroFiscalDeclarant"}, {"caf", "numeroFiscalConjoint"}}},
      // The household's resources and the CSS opposition for the CPAM
      // only; France Travail gets the applicant, dates and contact. (The
      // first applicant did not object: false is the default, which JSON
      // leaves out; the second objected, so her case reaches France
      // Travail only, where the opposition must not show either.)
      {"deploy/samples/caf/rsa_application.csv",
       "caf",
       {"cpam", "france-travail"},
       {{"cpam", "demandeur"},
        {"cpam", "nir"},
        {"cpam", "date_demande"},
        {"cpam", "ressources_mensuelles"},
        {"cpam", "courriel"},
        {"france-travail", "demandeur"},
        {"france-travail", "nir"},
        {"france-travail", "date_demande"},
        {"france-travail", "courriel"}},
       {{"cpam", "numero_allocataire_caf"},
        {"france-travail", "ressources_mensuelles"},
        {"france-travail", "numero_allocataire_caf"}},
       {{"france-travail", "demandeur"}, {"france-travail", "date_demande"}},
       {{"france-travail", "opposition_css"},
        {"france-travail", "ressources_mensuelles"},
        {"france-travail", "numero_allocataire_caf"}}},
      // Benefit payments for the CAF only; the CPAM gets the registration.
      {"deploy/samples/france_travail/job_seeker_status.json",
       "france-travail",
       {"caf", "cpam"},
       {{"caf", "nir"},
        {"caf", "debutInscription"},
        {"caf", "categorie"},
        {"caf", "paiements"},
        {"caf", "allocation"},
        {"cpam", "nir"},
        {"cpam", "debut_inscription"},
        {"cpam", "categorie"}},
       {{"cpam", "paiements"}, {"cpam", "allocation"}, {"cpam", "montant"}}},
      // Nothing of a resources update is cut for the CAF (the DGFiP's own
      // reference has no name in the CAF's format).
      {"deploy/samples/dgfip/resources_update.json",
       "dgfip",
       {"caf"},
       {{"caf", "nir"},
        {"caf", "anneeRevenus"},
        {"caf", "revenuFiscalReference"},
        {"caf", "nombreParts"},
        {"caf", "situationFamiliale"},
        {"caf", "pac"},
        {"caf", "adresseFiscale"},
        {"caf", "numeroAllocataire"}},
       {}},
      {"deploy/samples/caf/birth.xml",
       "caf",
       {"cpam", "dgfip"},
       {{"cpam", "enfant"},
        {"cpam", "parents"},
        {"cpam", "nir"},
        {"dgfip", "enfant"},
        {"dgfip", "parents"},
        {"dgfip", "nir"}},
       {{"cpam", "numero_allocataire_caf"}, {"dgfip", "numeroAllocataire"}}},
      // By subscription: the agencies that registered the deceased.
      {"deploy/samples/cpam/death_notification.json",
       "cpam",
       {"caf", "dgfip"},
       {{"caf", "defunt"},
        {"caf", "nir"},
        {"caf", "dateDeces"},
        {"caf", "numeroActeDeces"},
        {"caf", "numeroAllocataire"},
        {"dgfip", "nir"},
        {"dgfip", "dateDeces"},
        {"dgfip", "numeroActeDeces"}},
       {{"dgfip", "numeroAllocataire"}}},
  };
  // The CAF and the DGFiP hold a file on Jeanne LEROY, France Travail does
  // not (their partner systems register her through subjects/).
  for (const char* a : {"caf", "dgfip"}) {
    Drop(stack_.layout().Subjects(a), "files.json",
         "{\"register\": [\"241034410908787\"]}");
    ASSERT_TRUE(WaitUntil([&] {
      return fs::exists(stack_.layout().Done(a) + "/files.json.receipt.json");
    })) << a;
  }
  for (const Flow& f : flows) {
    SCOPED_TRACE(f.sample);
    const std::string name = fs::path(f.sample).filename().string();
    Drop(stack_.layout().Inbox(f.origin), name,
         *ReadFile(SourcePath(f.sample)));
    const auto ids = AcceptedCases(stack_.layout(), f.origin, name);
    ASSERT_FALSE(ids.empty()) << stack_.BrokerLog();
    const std::string id = ids[0];
    // Waits for case `case_id` in `r`'s outbox and checks its fields.
    const auto check = [&](const std::string& case_id, const std::string& r,
                           const Fields& present, const Fields& absent) {
      std::string file;
      ASSERT_TRUE(WaitUntil([&] {
        for (const auto& p : FilesIn(stack_.layout().Outbox(r))) {
          if (fs::path(p).filename().string().starts_with(case_id)) file = p;
        }
        return !file.empty();
      })) << r
          << " did not receive " << case_id;
      EXPECT_EQ(fs::path(file).extension(), r == "caf" ? ".xml" : ".json");
      const std::string native = *ReadFile(file);
      EXPECT_NE(native.find(case_id), std::string::npos);
      for (const auto& [who, field] : present) {
        if (who == r) {
          EXPECT_TRUE(HasField(r, native, field))
              << r << " lacks " << field << ":\n"
              << native;
        }
      }
      for (const auto& [who, field] : absent) {
        if (who == r) {
          EXPECT_FALSE(HasField(r, native, field))
              << r << " got " << field << ":\n"
              << native;
        }
      }
    };
    for (const auto& r : f.recipients) {
      check(id, r, f.present, f.absent);
      Drop(stack_.layout().StatusIn(r), id + ".json",
           "{\"case_id\": \"" + id + "\", \"status\": \"done\"}");
    }
    if (!f.second_present.empty() || !f.second_absent.empty()) {
      ASSERT_GE(ids.size(), 2u);
      std::set<std::string> to;
      for (const auto& [who, field] : f.second_present) to.insert(who);
      for (const auto& [who, field] : f.second_absent) to.insert(who);
      for (const auto& r : to) {
        check(ids[1], r, f.second_present, f.second_absent);
      }
    }
    auto origin = stack_.Connect(f.origin);
    ASSERT_TRUE(origin.ok());
    std::vector<std::string> done;
    ASSERT_TRUE(WaitUntil([&] {
      auto state = (*origin)->QueryCase(id);
      if (!state.ok()) return false;
      done.clear();
      for (const auto* r : *ParseCaseState(*state)->recipients()) {
        if (r->state() != wire::RecipientState::Done) return false;
        done.push_back(r->recipient()->str());
      }
      return true;
    }));
    std::sort(done.begin(), done.end());
    EXPECT_EQ(done, f.recipients);
    // The status reports reach the originating adapter's done/ folder.
    for (const auto& r : f.recipients) {
      EXPECT_TRUE(WaitUntil([&] {
        for (const auto& p : FilesIn(stack_.layout().Done(f.origin))) {
          const std::string n = fs::path(p).filename().string();
          if (n.starts_with(id + "-" + r + "-") &&
              n.ends_with(".status.json")) {
            return true;
          }
        }
        return false;
      })) << "no status report from "
          << r << " for " << id;
    }
  }
}

// The recipients of case `case_id` as the broker records them, sorted
// (empty if `client` may not see the case).
std::vector<std::string> CaseRecipients(sdk::Client& client,
                                        const std::string& case_id) {
  std::vector<std::string> out;
  auto state = client.QueryCase(case_id);
  EXPECT_TRUE(state.ok()) << case_id << ": " << state.status().ToString();
  if (!state.ok()) return out;
  for (const auto* r : *ParseCaseState(*state)->recipients()) {
    out.push_back(r->recipient()->str());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Subject registrations: a bad NIR is refused naming it; a death about a
// citizen no agency registered is refused (nothing sent); once France
// Travail registers her, the death reaches France Travail only, and after it
// unregisters nobody.
TEST_F(DemoFlowTest, SubjectFilesDecideWhoHearsOfADeath) {
  Drop(stack_.layout().Subjects("france-travail"), "bad.json",
       "{\"register\": [\"241034410908700\"]}");
  const std::string bad =
      stack_.layout().Rejected("france-travail") + "/bad.json.error";
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(bad); }));
  EXPECT_NE(
      ReadFile(bad)->find(
          "field register[0]: NIR key does not match the first 13 characters"),
      std::string::npos)
      << *ReadFile(bad);
  const std::string death =
      *ReadFile(SourcePath("deploy/samples/cpam/death_notification.json"));
  Drop(stack_.layout().Inbox("cpam"), "nobody.json", death);
  const std::string nobody =
      stack_.layout().Rejected("cpam") + "/nobody.json.error";
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(nobody); }));
  EXPECT_NE(ReadFile(nobody)->find("no agency holds a file on this citizen"),
            std::string::npos)
      << *ReadFile(nobody);

  Drop(stack_.layout().Subjects("france-travail"), "jeanne.json",
       "{\"register\": [\"241034410908787\"]}");
  ASSERT_TRUE(WaitUntil([&] {
    return fs::exists(stack_.layout().Done("france-travail") +
                      "/jeanne.json.receipt.json");
  }));
  const auto receipt = nlohmann::json::parse(*ReadFile(
      stack_.layout().Done("france-travail") + "/jeanne.json.receipt.json"));
  EXPECT_EQ(receipt["register"]["changed"], 1);
  Drop(stack_.layout().Inbox("cpam"), "death.json", death);
  const auto ids = AcceptedCases(stack_.layout(), "cpam", "death.json");
  ASSERT_EQ(ids.size(), 1u);
  ASSERT_TRUE(WaitUntil([&] {
    return FilesIn(stack_.layout().Outbox("france-travail")).size() == 1;
  }));
  // The broker's record of the case: France Travail is its only recipient,
  // so nothing of it can reach the others.
  auto cpam = stack_.Connect("cpam");
  ASSERT_TRUE(cpam.ok());
  EXPECT_EQ(CaseRecipients(**cpam, ids[0]),
            std::vector<std::string>{"france-travail"});
  EXPECT_TRUE(FilesIn(stack_.layout().Outbox("caf")).empty());
  EXPECT_TRUE(FilesIn(stack_.layout().Outbox("dgfip")).empty());

  Drop(stack_.layout().Subjects("france-travail"), "gone.json",
       "{\"unregister\": [\"241034410908787\"]}");
  ASSERT_TRUE(WaitUntil([&] {
    return fs::exists(stack_.layout().Done("france-travail") +
                      "/gone.json.receipt.json");
  }));
  Drop(stack_.layout().Inbox("cpam"), "again.json", death);
  ASSERT_TRUE(WaitUntil([&] {
    return fs::exists(stack_.layout().Rejected("cpam") + "/again.json.error");
  }));
}

// France services opens an address change "to whoever knows the citizen"
// (relais case open, "recipients": "subscribers"): it reaches the CPAM and
// France Travail, which registered Claire MARTIN, and nobody else; for a
// citizen nobody registered, the CLI refuses and sends nothing.
TEST_F(DemoFlowTest, CliOpensAnAddressChangeBySubscription) {
  for (const char* a : {"cpam", "france-travail"}) {
    Drop(stack_.layout().Subjects(a), "claire.json",
         "{\"register\": [\"284057512345672\"]}");
    ASSERT_TRUE(WaitUntil([&] {
      return fs::exists(stack_.layout().Done(a) + "/claire.json.receipt.json");
    }));
  }
  auto doc = nlohmann::json::parse(*ReadFile(
      SourcePath("deploy/samples/france_services/address_change.json")));
  doc["recipients"] = "subscribers";
  const std::string file = stack_.dir() + "/by_subscription.json";
  ASSERT_TRUE(WriteFileAtomic(file, doc.dump()).ok());
  const std::string config = stack_.layout().ClientConfig(kDesk);
  auto [code, out] =
      RunCli(stack_, {"case", "open", "--config", config, file, "--json"});
  ASSERT_EQ(code, 0) << out;
  const auto receipt = nlohmann::json::parse(out);
  std::vector<std::string> to;
  for (const auto& m : receipt["messages"]) {
    for (const auto& r : m["recipients"]) to.push_back(r);
  }
  std::sort(to.begin(), to.end());
  EXPECT_EQ(to, (std::vector<std::string>{"cpam", "france-travail"}));
  for (const char* a : {"cpam", "france-travail"}) {
    ASSERT_TRUE(WaitUntil([&] {
      return FilesIn(stack_.layout().Outbox(a)).size() == 1;
    })) << a;
  }
  // The broker's record of the case names those two and nobody else.
  EXPECT_EQ(CaseRecipients(*desk_, receipt.value("case_id", "")),
            (std::vector<std::string>{"cpam", "france-travail"}));
  EXPECT_TRUE(FilesIn(stack_.layout().Outbox("caf")).empty());
  EXPECT_TRUE(FilesIn(stack_.layout().Outbox("dgfip")).empty());

  doc["event"]["body"]["citizen"]["nir"] = "241034410908787";  // nobody's
  doc["event"]["body"]["citizen"]["identity"]["birth_date"] = "1941-03-08";
  ASSERT_TRUE(WriteFileAtomic(file, doc.dump()).ok());
  std::tie(code, out) =
      RunCli(stack_, {"case", "open", "--config", config, file, "--json"});
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("no agency holds a file on this citizen"),
            std::string::npos)
      << out;
}

// The CPAM's partner system over HTTP: a posted declaration is answered
// with its receipt, a bad one with its reason; the delivered cases are
// listed, reported done and taken.
TEST_F(DemoFlowTest, CpamHttpEndpointTakesCasesAndStatuses) {
  std::string endpoint;
  ASSERT_TRUE(WaitUntil([&] {
    auto e = ReadFile(stack_.layout().HttpEndpoint("cpam"));
    if (e.ok()) endpoint = *e;
    return !endpoint.empty();
  }));
  while (endpoint.back() == '\n') endpoint.pop_back();
  ASSERT_EQ(endpoint.rfind("http://127.0.0.1:", 0), 0u) << endpoint;
  httplib::Client http(endpoint);
  http.set_read_timeout(30, 0);

  auto birth = http.Post(
      "/cases", *ReadFile(SourcePath("deploy/samples/cpam/birth.json")),
      "application/json");
  ASSERT_TRUE(birth);
  ASSERT_EQ(birth->status, 201) << birth->body;
  const auto receipt = nlohmann::json::parse(birth->body);
  ASSERT_GE(receipt["cases"].size(), 1u);
  EXPECT_FALSE(receipt["cases"][0]["case_id"].get<std::string>().empty());

  auto bad =
      http.Post("/cases", "{\"type\": \"naissance\"}", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 422);
  EXPECT_NE(bad->body.find("field assure: missing"), std::string::npos)
      << bad->body;

  // A case for the CPAM: listed by GET /cases, reported done, then taken.
  auto sealed = desk_->Seal(SampleDraft(kDesk, {"cpam"}));
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(desk_->Submit(*sealed, seconds(10)).ok());
  const std::string case_id(ParseEnvelope(sealed->bytes)->case_id);
  nlohmann::json cases;
  ASSERT_TRUE(WaitUntil([&] {
    auto list = http.Get("/cases");
    if (!list || list->status != 200) return false;
    cases = nlohmann::json::parse(list->body);
    return cases.size() == 1;
  }));
  EXPECT_EQ(cases[0]["document"]["dossier"], case_id);
  EXPECT_EQ(cases[0]["document"]["type"], "changement_adresse");
  ASSERT_TRUE(WaitUntil([&] {
    return StateOf(case_id).find("\"delivered\"") != std::string::npos;
  }));
  auto done = http.Post(
      "/status", "{\"case_id\": \"" + case_id + "\", \"status\": \"done\"}",
      "application/json");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200) << done->body;
  EXPECT_NE(StateOf(case_id).find("\"done\""), std::string::npos);
  auto late = http.Post(
      "/status", "{\"case_id\": \"" + case_id + "\", \"status\": \"received\"}",
      "application/json");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 422);
  EXPECT_NE(late->body.find("StatusNotAllowed"), std::string::npos)
      << late->body;
  const std::string file = cases[0]["file"];
  auto taken = http.Delete("/cases/" + file);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->status, 204);
  EXPECT_TRUE(FilesIn(stack_.layout().Outbox("cpam")).empty());
  EXPECT_EQ(http.Delete("/cases/" + file)->status, 404);
  EXPECT_EQ(http.Delete("/cases/..%2Fcaf")->status, 404);
}

// A bad native file goes to rejected/ with a reason naming the field, and
// nothing is sent: no receipt, nothing in any outbox.
TEST_F(DemoFlowTest, BadNativeFilesAreRejectedAndNothingIsSent) {
  struct Bad {
    std::string agency, name, contents, reason;
  };
  auto edit = [](const std::string& sample, const std::string& from,
                 const std::string& to) {
    std::string text = *ReadFile(SourcePath(sample));
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
  };
  const std::vector<Bad> bad = {
      {"caf", "bad-nir.csv",
       edit("deploy/samples/caf/rsa_application.csv", "1920769123456",
            "192076912345699"),
       "line 2, field nir: NIR key does not match the first 13 characters"},
      {"cpam", "bad-date.json",
       edit("deploy/samples/cpam/death_notification.json", "2026-11-15",
            "2026-02-30"),
       "field date_deces: not a date YYYY-MM-DD"},
      {"dgfip", "bad-spi.json",
       edit("deploy/samples/dgfip/household_change.json", "\"2987654321330\"",
            "\"2987654321331\""),
       "field spiConjoint"},
      {"france-travail", "unknown-type.json",
       edit("deploy/samples/france_travail/job_seeker_status.json", "{",
            "{\"evenement\": \"RADIATION\", "),
       "field evenement: unknown case type (expected INSCRIPTION)"},
  };
  for (const Bad& b : bad) {
    Drop(stack_.layout().Inbox(b.agency), b.name, b.contents);
  }
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.name);
    const std::string error =
        stack_.layout().Rejected(b.agency) + "/" + b.name + ".error";
    ASSERT_TRUE(WaitUntil([&] { return fs::exists(error); }));
    EXPECT_NE(ReadFile(error)->find(b.reason), std::string::npos)
        << *ReadFile(error);
    EXPECT_TRUE(fs::exists(stack_.layout().Rejected(b.agency) + "/" + b.name));
    EXPECT_TRUE(FilesIn(stack_.layout().Done(b.agency)).empty());
  }
  // The broker accepted nothing at all (its own count), so no outbox can
  // fill later.
  auto [code, out] =
      RunCli(stack_, {"stats", "--config",
                      stack_.layout().ClientConfig("operator"), "--json"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["journal_submits"].get<int>(), 0) << out;
  for (const auto& a : deploy::kAgencies) {
    EXPECT_TRUE(FilesIn(stack_.layout().Outbox(a)).empty()) << a;
  }
}

// Names in done/ and rejected/ never overwrite (adapters/README.md): one
// name dropped good then bad, bad again, a type the CPAM does not read
// twice; then, once the partner took the accepted file and left its
// receipt, a subjects file and a status file of that name.
TEST_F(DemoFlowTest, NamesInDoneAndRejectedAreNeverOverwritten) {
  const std::string inbox = stack_.layout().Inbox("cpam");
  const std::string done = stack_.layout().Done("cpam");
  const std::string rejected = stack_.layout().Rejected("cpam");
  const auto there = [](const std::string& path) {
    return WaitUntil([&] { return fs::exists(path); });
  };
  Drop(inbox, "same.json",
       *ReadFile(SourcePath("deploy/samples/cpam/birth.json")));
  ASSERT_TRUE(there(done + "/same.json"));
  Drop(inbox, "same.json", "{\"type\": \"naissance\"}");
  ASSERT_TRUE(there(rejected + "/same.json.error"));
  Drop(inbox, "same.json", "not json");
  ASSERT_TRUE(there(rejected + "/same.2.json.error"));
  Drop(inbox, "same.txt", "notes");
  ASSERT_TRUE(there(rejected + "/same.txt.error"));
  Drop(inbox, "same.txt", "more notes");
  ASSERT_TRUE(there(rejected + "/same.2.txt.error"));
  EXPECT_EQ(*ReadFile(rejected + "/same.json"), "{\"type\": \"naissance\"}");
  EXPECT_EQ(*ReadFile(rejected + "/same.json.error"),
            "field assure: missing\n");
  EXPECT_EQ(*ReadFile(rejected + "/same.2.json"), "not json");
  EXPECT_EQ(*ReadFile(rejected + "/same.2.json.error"),
            "not valid JSON: syntax error at line 1, column 2 (byte offset "
            "1)\n");
  EXPECT_EQ(*ReadFile(rejected + "/same.txt"), "notes");
  EXPECT_EQ(*ReadFile(rejected + "/same.2.txt"), "more notes");
  for (const char* error : {"/same.txt.error", "/same.2.txt.error"}) {
    EXPECT_EQ(*ReadFile(rejected + error),
              "not a file this adapter reads (it reads *.json)\n");
  }

  const std::string first = *ReadFile(done + "/same.json.receipt.json");
  ASSERT_TRUE(fs::remove(done + "/same.json"));  // the partner took it
  Drop(stack_.layout().Subjects("cpam"), "same.json",
       "{\"register\": [\"284057512345672\"]}");
  ASSERT_TRUE(there(done + "/same.2.json"));
  EXPECT_EQ(*ReadFile(done + "/same.json.receipt.json"), first);
  const auto subjects =
      nlohmann::json::parse(*ReadFile(done + "/same.2.json.receipt.json"));
  EXPECT_EQ(subjects["file"], "same.json");
  EXPECT_EQ(subjects["as"], "same.2.json");
  EXPECT_EQ(subjects["register"]["count"], 1);
  // A status file of that name, with a misspelt key: refused naming it.
  Drop(stack_.layout().StatusIn("cpam"), "same.json",
       "{\"case_id\": \"c-1\", \"statut\": \"done\"}");
  ASSERT_TRUE(there(rejected + "/same.3.json.error"));
  EXPECT_EQ(*ReadFile(rejected + "/same.3.json.error"),
            "the document: member 2 is not a known field (did you mean "
            "'status'? known here: case_id, message_id, status, reason)\n");
  EXPECT_EQ(*ReadFile(rejected + "/same.json.error"),
            "field assure: missing\n");
}

TEST_F(DemoFlowTest, MalformedInboxFileGoesToRejectedWithItsReason) {
  Drop(stack_.layout().Inbox("dgfip"), "broken.json", "{\"spi\": \"12\"");
  const std::string error =
      stack_.layout().Rejected("dgfip") + "/broken.json.error";
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(error); }));
  EXPECT_TRUE(fs::exists(stack_.layout().Rejected("dgfip") + "/broken.json"));
  EXPECT_FALSE(ReadFile(error)->empty());
  EXPECT_TRUE(FilesIn(stack_.layout().Done("dgfip")).empty());
}

}  // namespace
}  // namespace relais::testing
