#pragma once

// Helpers for writing Translators (adapter.h): reading partner JSON with
// errors that name the field, French date and amount formats, and the
// mapping of identities and addresses to the agencies' common JSON
// vocabulary. Every function is pure and thread-safe.

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/translator.h"
#include "core/envelope.h"
#include "core/status.h"
#include "schemas/cases_generated.h"

namespace relais::translation::native {

using json = nlohmann::ordered_json;

// Parses a partner's JSON document, which must be an object; otherwise
// InvalidArgument naming the place and never the bytes there (they may be
// a NIR or a name): "not valid JSON: the text is not UTF-8 (byte 12, line
// 2, column 5)", "not valid JSON: syntax error at byte 40 (line 3, column
// 7)", "not valid JSON: a number is too large" or "the document must be a
// JSON object".
Result<json> ParseJsonObject(std::string_view text);

// "line L, column C (byte offset N)" of byte `offset` in `text` (lines and
// columns from 1, columns in bytes, offset from 0).
std::string TextPosition(std::string_view text, size_t offset);

// Refuses the first key of the object `obj` that is not in `known`, null
// values included (a misspelt key is refused whatever it holds, so that
// nothing is dropped without a word): InvalidArgument "field <path>:
// member 3 is not a known field (did you mean 'nom'? known here: a, b,
// c)" ("the document: ..." at the top). Names the key by its place in
// the object (an XML element's among its siblings), never by itself nor
// its value: a partner's key may be anything, and the reason is logged.
// "did you mean" comes only for a known key at most two edits away. OK if
// `obj` is not an object (the caller says so).
Status CheckKnownFields(const json& obj,
                        const std::vector<std::string_view>& known,
                        const std::string& path);

// `doc` as indented text with a final newline; InvalidArgument when a
// string from the case is not UTF-8.
Result<std::string> DumpJson(const json& doc);

// obj[key] as a non-empty string; InvalidArgument "field <path>.<key>:
// missing", "...: must be a string" or "...: holds a control character"
// (PROTOCOL.md 11: a recipient's format could not carry it, or would carry
// a forged line).
Result<std::string> String(const json& obj, std::string_view key,
                           const std::string& path);
// Absent or null: nullopt; present and not a string, or holding a control
// character: InvalidArgument.
Result<std::optional<std::string>> OptionalString(const json& obj,
                                                  std::string_view key,
                                                  const std::string& path);
// A valid ISO date "YYYY-MM-DD"; with `canonical` "birth_date" or
// "death_date", not after today (core/case_check.h CheckDateValue).
Result<std::string> Date(const json& obj, std::string_view key,
                         const std::string& path,
                         std::string_view canonical = {});
// A valid 15-character NIR.
Result<std::string> Nir(const json& obj, std::string_view key,
                        const std::string& path);
// An integer in [min, max].
Result<int64_t> Integer(const json& obj, std::string_view key, int64_t min,
                        int64_t max, const std::string& path);

// "DD/MM/YYYY" -> "YYYY-MM-DD" (validated); nullopt if malformed.
std::optional<std::string> FrenchToIsoDate(std::string_view french);
// "YYYY-MM-DD" -> "DD/MM/YYYY".
std::string IsoToFrenchDate(std::string_view iso);
// "0001675.00" -> 167500; nullopt if malformed.
std::optional<int64_t> ParseAmount(std::string_view text);
// 167500 -> "1675.00".
std::string FormatAmount(int64_t cents);

// A person {"nir", "nom_naissance", "prenoms": [...], "date_naissance",
// "sexe": "M"|"F", "commune_naissance"?, "pays_naissance"? (default
// 99100), "nom_usage"?}, and no other key. `nir_required` false: the NIR
// may be absent (a newborn has none yet).
Result<std::unique_ptr<wire::CitizenT>> CitizenFromJson(
    const json& obj, const std::string& path, bool nir_required = true);

// The reference whose agency is `agency`, or null.
const wire::AgencyReference* ReferenceFor(
    const flatbuffers::Vector<flatbuffers::Offset<wire::AgencyReference>>* refs,
    std::string_view agency);
// "<case id>-<first 8 bytes of the message id, hex><ext>": a redelivery
// rewrites the same file.
std::string OutboxFileName(const EnvelopeView& envelope, std::string_view ext);
// The CaseEvent FlatBuffer (identifier RLC1) of `event`.
std::string PackEvent(const wire::CaseEventT& event);

// One case of `body`'s type (address_change for an AddressChangeT, ...),
// its payload the packed CaseEvent; no case id (one is drawn) and no
// recipients (the mapping file gives them).
template <typename Body>
OutgoingCase CaseOf(Body body) {
  OutgoingCase out;
  wire::CaseEventT event;
  event.body.Set(std::move(body));
  out.case_type = static_cast<wire::CaseType>(event.body.type);
  out.payload = PackEvent(event);
  return out;
}

// InvalidArgument "field <path>.<key>: <what>" ("field <key>: ..." when
// `path` is empty): how a reader names the place of a bad value.
Status FieldError(const std::string& path, std::string_view key,
                  const std::string& what);
// True if `s` is `min` to `max` ASCII digits.
bool Digits(std::string_view s, size_t min, size_t max);

}  // namespace relais::translation::native
