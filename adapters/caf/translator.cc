#include "adapters/caf/translator.h"

#include "adapters/caf/latin1.h"
#include "adapters/sdk/native.h"
#include "core/bytes.h"
#include "core/flatbuf.h"
#include "core/identifiers.h"

namespace relais::adapters::caf {
namespace {

namespace native = sdk::native;
constexpr size_t kColumns = std::size(kRsaColumns);

std::vector<std::string> SplitLine(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t semi = line.find(';', start);
    out.emplace_back(line.substr(start, semi - start));
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  return out;
}

Status Bad(size_t line, std::string_view column, const std::string& what) {
  return Status::InvalidArgument("line " + std::to_string(line) + ", field " +
                                 std::string(column) + ": " + what);
}

Result<std::string> IsoDate(size_t line, std::string_view column, const std::string& v) {
  auto iso = native::FrenchToIsoDate(v);
  if (!iso) return Bad(line, column, "'" + v + "' is not a date DD/MM/YYYY");
  return *iso;
}

// One CSV line (fields already UTF-8) -> one rsa_application.
Result<sdk::OutgoingCase> ReadApplication(size_t line, const std::vector<std::string>& f) {
  if (f.size() != kColumns) {
    return Status::InvalidArgument("line " + std::to_string(line) + ": " +
                                   std::to_string(f.size()) + " fields, expected " +
                                   std::to_string(kColumns));
  }
  for (size_t i = 0; i < 12; ++i) {  // every column but courriel is required
    if (f[i].empty()) return Bad(line, kRsaColumns[i], "missing");
  }
  wire::RsaApplicationT app;
  app.applicant = std::make_unique<wire::CitizenT>();
  auto nir = AddNirKey(f[0]);
  if (!nir.ok()) return Bad(line, "nir", nir.status().message());
  app.applicant->nir = *nir;
  auto id = std::make_unique<wire::IdentityPivotT>();
  id->birth_name = f[1];
  size_t start = 0;  // prenoms are space-separated
  while (start < f[2].size()) {
    size_t sp = f[2].find(' ', start);
    if (sp == std::string::npos) sp = f[2].size();
    if (sp > start) id->given_names.push_back(f[2].substr(start, sp - start));
    start = sp + 1;
  }
  RELAIS_ASSIGN_OR_RETURN(id->birth_date, IsoDate(line, "date_naissance", f[3]));
  if (f[4] != "M" && f[4] != "F") return Bad(line, "sexe", "must be M or F");
  id->sex = f[4] == "F" ? wire::Sex::Female : wire::Sex::Male;
  id->birthplace_cog = f[5];
  id->birth_country_cog = f[6];
  app.applicant->identity = std::move(id);
  RELAIS_ASSIGN_OR_RETURN(app.application_date, IsoDate(line, "date_demande", f[7]));
  if (f[8] != "O" && f[8] != "N") return Bad(line, "opposition_css", "must be O or N");
  app.css_opposition = f[8] == "O";
  auto cents = native::ParseAmount(f[9]);
  if (!cents) return Bad(line, "ressources_mensuelles", "must be an amount like 0001675.00");
  app.monthly_resources_cents = *cents;
  auto ref = std::make_unique<wire::AgencyReferenceT>();
  ref->agency = "caf";
  ref->identifier = f[10];
  ref->scope = f[11];
  app.references.push_back(std::move(ref));
  if (!f[12].empty()) {
    app.contact = std::make_unique<wire::ContactT>();
    app.contact->email = f[12];
  }
  sdk::OutgoingCase out;
  out.case_type = wire::CaseType::RsaApplication;
  // France Travail registers every RSA applicant; the complémentaire santé
  // solidaire is granted unless the citizen objected.
  out.recipients = {"france-travail"};
  if (!app.css_opposition) out.recipients.insert(out.recipients.begin(), "cpam");
  wire::CaseEventT event;
  event.body.Set(std::move(app));
  out.payload = native::PackEvent(event);
  return out;
}

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string AddressXml(const char* tag, const wire::PostalAddress* a) {
  std::string x = std::string("  <") + tag + ">\n";
  if (a != nullptr) {
    if (a->lines()) {
      for (const auto* l : *a->lines()) x += "    <ligne>" + Escape(StringView(l)) + "</ligne>\n";
    }
    x += "    <codePostal>" + Escape(StringView(a->postcode())) + "</codePostal>\n";
    x += "    <commune codeInsee=\"" + Escape(StringView(a->city_cog())) + "\">" +
         Escape(StringView(a->city())) + "</commune>\n";
  }
  return x + "  </" + tag + ">\n";
}

}  // namespace

bool CafTranslator::Accepts(std::string_view name) const { return name.ends_with(".csv"); }

Result<std::vector<sdk::OutgoingCase>> CafTranslator::ReadInbox(
    std::string_view, std::string_view contents) const {
  RELAIS_RETURN_IF_ERROR(CheckLatin1Text(contents));
  const std::string text = Latin1ToUtf8(contents);
  std::vector<sdk::OutgoingCase> out;
  size_t line_no = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line_no == 1) {
      if (line.substr(0, 4) != "nir;") {
        return Status::InvalidArgument("line 1: expected the header line starting with nir;");
      }
      continue;
    }
    RELAIS_ASSIGN_OR_RETURN(sdk::OutgoingCase c, ReadApplication(line_no, SplitLine(line)));
    out.push_back(std::move(c));
  }
  return out;
}

Result<sdk::NativeFile> CafTranslator::WriteOutbox(const EnvelopeView& env,
                                                   const wire::CaseEvent& event) const {
  const auto* change = event.body_as_AddressChange();
  if (change == nullptr) return native::NotTaken("caf", event);
  const wire::Citizen* citizen = change->citizen();
  const wire::IdentityPivot* id = citizen ? citizen->identity() : nullptr;
  std::string x = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n";
  x += "<changementAdresse dossier=\"" + Escape(env.case_id) + "\" message=\"" +
       HexEncode(env.message_id) + "\" emetteur=\"" + Escape(env.sender) + "\">\n";
  if (const auto* ref = native::ReferenceFor(change->references(), "caf")) {
    x += "  <allocataire numero=\"" + Escape(StringView(ref->identifier())) +
         "\" organisme=\"" + Escape(StringView(ref->scope())) + "\"/>\n";
  }
  if (citizen && citizen->nir()) {
    auto nir13 = StripNirKey(StringView(citizen->nir()));
    if (!nir13.ok()) return Status::InvalidArgument("citizen.nir: " + nir13.status().message());
    x += "  <nir>" + *nir13 + "</nir>\n";
  }
  if (id != nullptr) {
    std::string given;
    if (id->given_names()) {
      for (const auto* n : *id->given_names()) given += (given.empty() ? "" : " ") + n->str();
    }
    x += "  <identite nomNaissance=\"" + Escape(StringView(id->birth_name())) +
         "\" prenoms=\"" + Escape(given) + "\" dateNaissance=\"" +
         native::IsoToFrenchDate(StringView(id->birth_date())) + "\" sexe=\"" +
         (id->sex() == wire::Sex::Female ? "F" : "M") + "\"/>\n";
  }
  x += "  <dateEffet>" + native::IsoToFrenchDate(StringView(change->effective_date())) +
       "</dateEffet>\n";
  x += AddressXml("ancienneAdresse", change->old_address());
  x += AddressXml("nouvelleAdresse", change->new_address());
  if (const auto* c = change->contact()) {
    x += "  <contact courriel=\"" + Escape(StringView(c->email())) + "\" telephone=\"" +
         Escape(StringView(c->phone())) + "\"/>\n";
  }
  x += "</changementAdresse>\n";
  RELAIS_ASSIGN_OR_RETURN(std::string latin1, Utf8ToLatin1(x, "address_change"));
  return sdk::NativeFile{native::OutboxFileName(env, ".xml"), std::move(latin1)};
}

}  // namespace relais::adapters::caf
