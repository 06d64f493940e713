#include "adapters/caf/translator.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/caf/latin1.h"
#include "adapters/caf/mapping_text.h"
#include "adapters/caf/xml_reader.h"
#include "adapters/translation/native.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/flatbuf.h"
#include "core/identifiers.h"

namespace relais::adapters::caf {
namespace {

namespace native = translation::native;
using native::Digits;

enum Column : size_t {
  kNir,
  kNomNaissance,
  kPrenoms,
  kDateNaissance,
  kSexe,
  kCommuneNaissance,
  kPaysNaissance,
  kDateDemande,
  kOppositionCss,
  kRessources,
  kNumeroAllocataire,
  kOrganisme,
  kCourriel,
  kColumnCount
};
static_assert(kColumnCount == std::size(kRsaColumns));

// A commune's COG code: 5 digits, or "2A"/"2B" and 3 digits (Corsica).
bool IsCommuneCog(std::string_view s) {
  if (s.size() == 5 && (s.starts_with("2A") || s.starts_with("2B"))) {
    return Digits(s.substr(2), 3, 3);
  }
  return Digits(s, 5, 5) && !s.starts_with("99");
}

std::vector<std::string> SplitOn(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(sep, start);
    out.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// One data line of the CSV (already UTF-8); errors name the line and column.
class Row {
 public:
  Row(size_t line, std::vector<std::string> fields)
      : line_(line), f_(std::move(fields)) {}
  const std::string& operator[](Column c) const { return f_[c]; }
  Status Bad(Column c, const std::string& what) const {
    return Status::InvalidArgument("line " + std::to_string(line_) +
                                   ", field " + kRsaColumns[c] + ": " + what);
  }
  // DD/MM/YYYY -> YYYY-MM-DD.
  Result<std::string> Date(Column c) const {
    auto iso = native::FrenchToIsoDate(f_[c]);
    if (!iso) return Bad(c, "not a date DD/MM/YYYY");
    return *iso;
  }
  // A one-letter code among `allowed` (e.g. "MF").
  Result<char> Code(Column c, std::string_view allowed) const {
    if (f_[c].size() != 1 || allowed.find(f_[c][0]) == std::string_view::npos) {
      std::string list;
      for (char a : allowed) {
        list += std::string(list.empty() ? "" : " or ") + a;
      }
      return Bad(c, "must be " + list);
    }
    return f_[c][0];
  }

 private:
  size_t line_;
  std::vector<std::string> f_;
};

// 13 characters get their key; 15 have theirs checked.
Result<std::string> ReadNir(const Row& row) {
  const std::string& nir = row[kNir];
  if (nir.size() == 15) {
    if (Status st = ValidateNir(nir); !st.ok()) {
      return row.Bad(kNir, st.message());
    }
    return nir;
  }
  auto full = AddNirKey(nir);
  if (!full.ok()) return row.Bad(kNir, full.status().message());
  return *full;
}

Result<std::unique_ptr<wire::IdentityPivotT>> ReadIdentity(
    const Row& row, const std::string& nir) {
  auto id = std::make_unique<wire::IdentityPivotT>();
  id->birth_name = row[kNomNaissance];
  for (std::string& name : SplitOn(row[kPrenoms], ' ')) {
    if (!name.empty()) id->given_names.push_back(std::move(name));
  }
  if (id->given_names.empty()) return row.Bad(kPrenoms, "missing");
  RELAIS_ASSIGN_OR_RETURN(id->birth_date, row.Date(kDateNaissance));
  RELAIS_ASSIGN_OR_RETURN(char sex, row.Code(kSexe, "MF"));
  if (Status st = NirAgreesWithSex(nir, sex == 'F'); !st.ok()) {
    return row.Bad(kSexe, st.message());
  }
  if (Status st = NirAgreesWithBirthDate(nir, id->birth_date); !st.ok()) {
    return row.Bad(kDateNaissance, st.message());
  }
  id->sex = sex == 'F' ? wire::Sex::Female : wire::Sex::Male;
  id->birth_country_cog = row[kPaysNaissance];
  if (!Digits(id->birth_country_cog, 5, 5) ||
      !id->birth_country_cog.starts_with("99")) {
    return row.Bad(kPaysNaissance, "not a country COG code (99100 = France)");
  }
  const bool in_france = id->birth_country_cog == "99100";
  const std::string& commune = row[kCommuneNaissance];
  if (in_france && commune.empty()) {
    return row.Bad(kCommuneNaissance, "missing");
  }
  if (!commune.empty() && !IsCommuneCog(commune)) {
    return row.Bad(kCommuneNaissance, "not a commune COG code");
  }
  id->birthplace_cog = commune;
  return id;
}

// Everything but the applicant's identity, into `app`.
Status ReadRequest(const Row& row, wire::RsaApplicationT& app) {
  RELAIS_ASSIGN_OR_RETURN(app.application_date, row.Date(kDateDemande));
  if (app.application_date < app.applicant->identity->birth_date) {
    return row.Bad(kDateDemande, "before date_naissance");
  }
  RELAIS_ASSIGN_OR_RETURN(char opposition, row.Code(kOppositionCss, "ON"));
  app.css_opposition = opposition == 'O';
  auto cents = native::ParseAmount(row[kRessources]);
  if (!cents) {
    return row.Bad(kRessources, "not an amount like 0001675.00");
  }
  app.monthly_resources_cents = *cents;
  auto ref = std::make_unique<wire::AgencyReferenceT>();
  ref->agency = "caf";
  ref->identifier = row[kNumeroAllocataire];
  ref->scope = row[kOrganisme];
  if (!Digits(ref->identifier, 1, 7)) {
    return row.Bad(kNumeroAllocataire, "must be 1 to 7 digits");
  }
  if (!Digits(ref->scope, 3, 3)) {
    return row.Bad(kOrganisme, "must be 3 digits (e.g. 751)");
  }
  app.references.push_back(std::move(ref));
  const std::string& email = row[kCourriel];
  if (!email.empty()) {
    const size_t at = email.find('@');
    if (at == 0 || at == std::string::npos || at + 1 == email.size() ||
        email.find_first_of(" @", at + 1) != std::string::npos) {
      return row.Bad(kCourriel, "not an e-mail address");
    }
    app.contact = std::make_unique<wire::ContactT>();
    app.contact->email = email;
  }
  return Status::OK();
}

Result<translation::OutgoingCase> ReadApplication(const Row& row) {
  // Every column is required but courriel, and commune_naissance for a
  // citizen born abroad (ReadIdentity).
  for (size_t c = 0; c < kCourriel; ++c) {
    if (row[Column(c)].empty() && c != kCommuneNaissance) {
      return row.Bad(Column(c), "missing");
    }
  }
  wire::RsaApplicationT app;
  app.applicant = std::make_unique<wire::CitizenT>();
  RELAIS_ASSIGN_OR_RETURN(app.applicant->nir, ReadNir(row));
  RELAIS_ASSIGN_OR_RETURN(app.applicant->identity,
                          ReadIdentity(row, app.applicant->nir));
  RELAIS_RETURN_IF_ERROR(ReadRequest(row, app));
  return native::CaseOf(std::move(app));
}

// A header cell that may be echoed: a column name's shape. A line of data
// in its place (a NIR, a name) is never repeated.
bool LooksLikeColumnName(std::string_view s) {
  if (s.empty() || s.size() > 40 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// Line 1 must be exactly kRsaColumns joined by ';'. Errors name the column
// by its position and, if it is shaped like one, its name.
Status CheckHeader(std::string_view line) {
  const std::vector<std::string> names = SplitOn(line, ';');
  std::string expected;
  for (const char* c : kRsaColumns) {
    expected += (expected.empty() ? "" : ";") + std::string(c);
  }
  const auto bad = [&](size_t c, const std::string& what) {
    return Status::InvalidArgument("line 1, column " + std::to_string(c + 1) +
                                   ": " + what + " (the header line is " +
                                   expected + ")");
  };
  for (size_t c = 0; c < names.size(); ++c) {
    if (c < kColumnCount && names[c] == kRsaColumns[c]) continue;
    if (!LooksLikeColumnName(names[c])) {
      return bad(c, names[c].empty() ? "empty, expected a column name"
                                     : "not a column name: is the header "
                                       "line missing?");
    }
    const bool known = std::find(std::begin(kRsaColumns), std::end(kRsaColumns),
                                 names[c]) != std::end(kRsaColumns);
    const std::string here =
        c < kColumnCount ? ", expected '" + std::string(kRsaColumns[c]) + "'"
                         : ", and there are only " +
                               std::to_string(kColumnCount) + " columns";
    // An unknown name is not repeated: it may be anything (this reason is
    // logged); its column number says where it is.
    return bad(c, (known ? "column '" + names[c] + "' out of place"
                         : std::string("unknown column")) +
                      here);
  }
  if (names.size() < kColumnCount) {
    return bad(names.size(), std::string("column '") +
                                 kRsaColumns[names.size()] + "' is missing");
  }
  return Status::OK();
}

// One value of the native tree as XML: an object's members become child
// elements, an array's items elements named by Mapping::XmlItem, a scalar
// the element's text. `path` names the field in errors.
void WriteXml(Latin1XmlWriter& x, const translation::Mapping& m,
              const std::string& indent, const std::string& tag,
              const native::json& v, const std::string& path) {
  if (v.is_object() || v.is_array()) {
    x.Raw(indent + "<" + tag + ">\n");
    if (v.is_object()) {
      for (const auto& [key, child] : v.items()) {
        WriteXml(x, m, indent + "  ", key, child, path + "." + key);
      }
    } else {
      const std::string item = m.XmlItem(tag);
      for (size_t i = 0; i < v.size(); ++i) {
        WriteXml(x, m, indent + "  ", item, v[i],
                 path + "[" + std::to_string(i) + "]");
      }
    }
    x.Raw(indent + "</" + tag + ">\n");
    return;
  }
  x.Element(indent, tag, path.substr(1),
            v.is_string() ? v.get<std::string>() : v.dump());
}

}  // namespace

CafTranslator::CafTranslator()
    : MappedTranslator(translation::CompiledMapping(
                           kMappingText, "adapters/caf/mapping.toml"),
                       {".csv", ".xml"}) {}

Result<std::vector<translation::OutgoingCase>> CafTranslator::ReadCases(
    std::string_view name, std::string_view contents) const {
  if (name.ends_with(".xml")) {
    const translation::Mapping& m = **mapping();
    RELAIS_ASSIGN_OR_RETURN(native::json doc, ReadCafXml(contents, m));
    const std::string root = doc[m.type_key()].get<std::string>();
    if (!m.Reads(root)) {
      return Status::InvalidArgument(
          "unknown case type: the root element is not one the CAF sends (<" +
          m.TypeName(wire::CaseType::Birth) + "> and <" +
          m.TypeName(wire::CaseType::HouseholdChange) + "> as XML)");
    }
    std::vector<translation::OutgoingCase> out(1);
    RELAIS_ASSIGN_OR_RETURN(out[0], m.Read(doc));
    return out;
  }
  RELAIS_RETURN_IF_ERROR(CheckLatin1Text(contents));
  std::vector<std::string> lines = SplitOn(Latin1ToUtf8(contents), '\n');
  std::vector<translation::OutgoingCase> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string& line = lines[i];
    if (line.ends_with('\r')) line.pop_back();
    if (i == 0) {
      RELAIS_RETURN_IF_ERROR(CheckHeader(line));
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> fields = SplitOn(line, ';');
    if (fields.size() != kColumnCount) {
      return Status::InvalidArgument("line " + std::to_string(i + 1) + ": " +
                                     std::to_string(fields.size()) +
                                     " fields, expected " +
                                     std::to_string(kColumnCount));
    }
    RELAIS_ASSIGN_OR_RETURN(translation::OutgoingCase c,
                            ReadApplication(Row(i + 1, std::move(fields))));
    out.push_back(std::move(c));
  }
  return out;
}

Result<translation::NativeFile> CafTranslator::WriteOutbox(
    const EnvelopeView& env, const wire::CaseEvent& event) const {
  if (!mapping().ok()) return mapping().status();
  const translation::Mapping& m = **mapping();
  RELAIS_ASSIGN_OR_RETURN(native::json doc, m.Render(env, event));
  // The type is the root element; the case, message and sender its
  // attributes.
  Latin1XmlWriter x;
  const std::string root = doc[m.type_key()].get<std::string>();
  x.Raw("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<" + root);
  for (const char* key : {"dossier", "message", "emetteur"}) {
    x.Attr(key, key, doc[key].get<std::string>());
    doc.erase(key);
  }
  doc.erase(m.type_key());
  x.Raw(">\n");
  for (const auto& [key, value] : doc.items()) {
    WriteXml(x, m, "  ", key, value, "." + key);
  }
  x.Raw("</" + root + ">\n");
  RELAIS_ASSIGN_OR_RETURN(std::string latin1, x.Finish());
  return translation::NativeFile{native::OutboxFileName(env, ".xml"),
                                 std::move(latin1)};
}

}  // namespace relais::adapters::caf
