#include "adapters/translation/native.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/bytes.h"
#include "core/case_check.h"
#include "core/cases.h"
#include "core/clock.h"
#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/identifiers.h"
#include "core/json_positions.h"
#include "core/text.h"

namespace relais::translation::native {
namespace {

std::string Field(const std::string& path, std::string_view key) {
  return "field " +
         (path.empty() ? std::string(key) : path + "." + std::string(key));
}

}  // namespace

Status FieldError(const std::string& path, std::string_view key,
                  const std::string& what) {
  return Status::InvalidArgument(Field(path, key) + ": " + what);
}

bool Digits(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string TextPosition(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const size_t line = 1 + std::count(before.begin(), before.end(), '\n');
  const size_t newline = before.rfind('\n');
  const size_t column =
      1 + (newline == std::string_view::npos ? offset : offset - newline - 1);
  return "line " + std::to_string(line) + ", column " + std::to_string(column) +
         " (byte offset " + std::to_string(offset) + ")";
}

Result<json> ParseJsonObject(std::string_view text) {
  // nlohmann's messages quote the bytes last read: a NIR, a name. Only the
  // place is said.
  if (const size_t bad = InvalidUtf8At(text); bad < text.size()) {
    return Status::InvalidArgument("not valid JSON: the text is not UTF-8 at " +
                                   TextPosition(text, bad));
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    const size_t at = e.byte == 0 ? 0 : e.byte - 1;
    return Status::InvalidArgument(std::string("not valid JSON: ") +
                                   (at >= text.size()
                                        ? "the text ends too early at "
                                        : "syntax error at ") +
                                   TextPosition(text, at));
  } catch (const json::out_of_range&) {
    // "410e44109087" (found by native_fuzz: it used to abort the adapter).
    return Status::InvalidArgument("not valid JSON: a number is too large");
  } catch (const json::exception&) {
    return Status::InvalidArgument("not valid JSON");
  }
  if (!doc.is_object()) {
    return Status::InvalidArgument("the document must be a JSON object");
  }
  // Else the last of the two would win without a word.
  if (Status twice = CheckNoRepeatedKeys(text); !twice.ok()) {
    return Status::InvalidArgument("not valid here: " + twice.message());
  }
  return doc;
}

namespace {

// The edit distance between `a` and `b` if at most 2, else 3.
size_t NearDistance(std::string_view a, std::string_view b) {
  if (a.size() > b.size() + 2 || b.size() > a.size() + 2) return 3;
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return std::min<size_t>(row[b.size()], 3);
}

}  // namespace

Status CheckKnownFields(const json& obj,
                        const std::vector<std::string_view>& known,
                        const std::string& path) {
  if (!obj.is_object()) return Status::OK();
  size_t member = 0;
  for (const auto& [key, value] : obj.items()) {
    ++member;
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    // The unknown name itself is not repeated: a partner's key may be
    // anything, a NIR or a name, and this reason is logged. A known name
    // close to it is ours to give.
    std::string list, nearest;
    size_t best = 3;
    for (std::string_view k : known) {
      list += (list.empty() ? "" : ", ") + std::string(k);
      // Two edits only in a long name: "nom" is not a misspelt "nir".
      const size_t d = NearDistance(key, k);
      if (d < best && (d <= 1 || key.size() >= 8)) {
        best = d;
        nearest = k;
      }
    }
    return Status::InvalidArgument(
        (path.empty() ? std::string("the document") : "field " + path) +
        ": member " + std::to_string(member) + " is not a known field (" +
        (nearest.empty() ? "" : "did you mean '" + nearest + "'? ") +
        "known here: " + list + ")");
  }
  return Status::OK();
}

Result<std::string> DumpJson(const json& doc) {
  try {
    return doc.dump(2) + "\n";
  } catch (const json::exception& e) {
    return Status::InvalidArgument(
        std::string("a string is not valid UTF-8: ") + e.what());
  }
}

Result<std::optional<std::string>> OptionalString(const json& obj,
                                                  std::string_view key,
                                                  const std::string& path) {
  if (!obj.is_object()) return FieldError(path, key, "parent is not an object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return FieldError(path, key, "must be a string");
  std::string s = it->get<std::string>();
  if (!IsCleanText(s)) {
    return FieldError(path, key, "holds a control character");
  }
  return std::optional<std::string>(std::move(s));
}

Result<std::string> String(const json& obj, std::string_view key,
                           const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(std::optional<std::string> s,
                          OptionalString(obj, key, path));
  if (!s || s->empty()) return FieldError(path, key, "missing");
  return *s;
}

Result<std::string> Date(const json& obj, std::string_view key,
                         const std::string& path, std::string_view canonical) {
  RELAIS_ASSIGN_OR_RETURN(std::string s, String(obj, key, path));
  if (Status st = CheckDateValue(canonical, s); !st.ok()) {
    return FieldError(path, key, st.message());
  }
  return s;
}

Result<std::string> Nir(const json& obj, std::string_view key,
                        const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(std::string s, String(obj, key, path));
  Status st = ValidateNir(s);
  if (!st.ok()) return FieldError(path, key, st.message());
  return s;
}

Result<int64_t> Integer(const json& obj, std::string_view key, int64_t min,
                        int64_t max, const std::string& path) {
  auto it = obj.is_object() ? obj.find(key) : obj.end();
  if (it == obj.end()) return FieldError(path, key, "missing");
  if (!it->is_number_integer() || it->get<int64_t>() < min ||
      it->get<int64_t>() > max) {
    return FieldError(path, key,
                      "must be an integer from " + std::to_string(min) +
                          " to " + std::to_string(max));
  }
  return it->get<int64_t>();
}

std::optional<std::string> FrenchToIsoDate(std::string_view f) {
  if (f.size() != 10 || f[2] != '/' || f[5] != '/') return std::nullopt;
  std::string iso = std::string(f.substr(6, 4)) + "-" +
                    std::string(f.substr(3, 2)) + "-" +
                    std::string(f.substr(0, 2));
  return IsValidDate(iso) ? std::optional<std::string>(iso) : std::nullopt;
}

std::string IsoToFrenchDate(std::string_view iso) {
  if (iso.size() != 10) return std::string(iso);
  return std::string(iso.substr(8, 2)) + "/" + std::string(iso.substr(5, 2)) +
         "/" + std::string(iso.substr(0, 4));
}

std::optional<int64_t> ParseAmount(std::string_view t) {
  const size_t dot = t.find('.');
  if (t.empty() || dot == std::string_view::npos || t.size() - dot != 3 ||
      dot == 0) {
    return std::nullopt;
  }
  int64_t v = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i == dot) continue;
    if (t[i] < '0' || t[i] > '9') return std::nullopt;
    const int digit = t[i] - '0';
    if (v > (INT64_MAX - digit) / 10) return std::nullopt;  // too large
    v = v * 10 + digit;
  }
  return v;
}

std::string FormatAmount(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld",
                static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}

Result<std::unique_ptr<wire::CitizenT>> CitizenFromJson(const json& obj,
                                                        const std::string& path,
                                                        bool nir_required) {
  if (!obj.is_object())
    return Status::InvalidArgument("field " + path + ": must be an object");
  RELAIS_RETURN_IF_ERROR(CheckKnownFields(
      obj,
      {"nir", "nom_naissance", "prenoms", "date_naissance", "sexe",
       "commune_naissance", "pays_naissance", "nom_usage"},
      path));
  auto c = std::make_unique<wire::CitizenT>();
  if (nir_required || obj.contains("nir")) {
    RELAIS_ASSIGN_OR_RETURN(c->nir, Nir(obj, "nir", path));
  }
  auto id = std::make_unique<wire::IdentityPivotT>();
  RELAIS_ASSIGN_OR_RETURN(id->birth_name, String(obj, "nom_naissance", path));
  auto names = obj.find("prenoms");
  if (names == obj.end() || !names->is_array() || names->empty()) {
    return FieldError(path, "prenoms", "must be a non-empty array of strings");
  }
  for (size_t i = 0; i < names->size(); ++i) {
    const json& n = (*names)[i];
    if (!n.is_string()) return FieldError(path, "prenoms", "must hold strings");
    if (!IsCleanText(n.get_ref<const std::string&>())) {
      return FieldError(path, "prenoms[" + std::to_string(i) + "]",
                        "holds a control character");
    }
    id->given_names.push_back(n.get<std::string>());
  }
  RELAIS_ASSIGN_OR_RETURN(id->birth_date,
                          Date(obj, "date_naissance", path, "birth_date"));
  RELAIS_ASSIGN_OR_RETURN(std::string sex, String(obj, "sexe", path));
  if (sex != "M" && sex != "F")
    return FieldError(path, "sexe", "must be M or F");
  id->sex = sex == "F" ? wire::Sex::Female : wire::Sex::Male;
  if (Status st = NirAgreesWithSex(c->nir, sex == "F"); !st.ok()) {
    return FieldError(path, "sexe", st.message());
  }
  if (Status st = NirAgreesWithBirthDate(c->nir, id->birth_date); !st.ok()) {
    return FieldError(path, "date_naissance", st.message());
  }
  RELAIS_ASSIGN_OR_RETURN(auto place,
                          OptionalString(obj, "commune_naissance", path));
  RELAIS_ASSIGN_OR_RETURN(auto country,
                          OptionalString(obj, "pays_naissance", path));
  RELAIS_ASSIGN_OR_RETURN(auto usage, OptionalString(obj, "nom_usage", path));
  id->birthplace_cog = place.value_or("");
  id->birth_country_cog = country.value_or("99100");
  id->usage_name = usage.value_or("");
  c->identity = std::move(id);
  return c;
}

const wire::AgencyReference* ReferenceFor(
    const flatbuffers::Vector<flatbuffers::Offset<wire::AgencyReference>>* refs,
    std::string_view agency) {
  if (refs == nullptr) return nullptr;
  for (const auto* r : *refs) {
    if (StringView(r->agency()) == agency) return r;
  }
  return nullptr;
}

std::string OutboxFileName(const EnvelopeView& env, std::string_view ext) {
  return std::string(env.case_id) + "-" +
         HexEncode(env.message_id.substr(0, 8)) + std::string(ext);
}

std::string PackEvent(const wire::CaseEventT& event) {
  flatbuffers::FlatBufferBuilder fbb(1024);
  fbb.Finish(wire::CaseEvent::Pack(fbb, &event), kCaseEventIdentifier);
  return BufferBytes(fbb);
}

}  // namespace relais::translation::native
