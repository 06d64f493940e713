#pragma once

// The rules a case event must meet for its recipients' adapters to take it
// (docs/CASES.md, "What each case type carries"), shared by the adapters'
// native readers (adapters/translation/mapping) and by everything that builds a
// case in the canonical JSON form (`relais case open`, the console), so
// that a case every recipient would refuse is refused before it is sent.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace relais {

// --- Field rules, by cases.fbs names -------------------------------------

// True if `table.field` must be present ("AddressChange", "effective_date").
bool IsRequiredCaseField(std::string_view table, std::string_view field);
// Fields holding a date "YYYY-MM-DD" (birth_date, effective_date, ...).
bool IsDateField(std::string_view field);
// A date field's text: InvalidArgument "not a date YYYY-MM-DD" unless it is
// one, and "after today: ..." for a birth_date or death_date later than
// today (UTC, by this machine's clock, a day's slack for time zones).
Status CheckDateValue(std::string_view field, std::string_view iso);
// Free text where a person may write several lines (a description): it
// may hold newlines and tabs, no other control character.
bool IsMultiLineField(std::string_view field);
// Fields holding a numéro fiscal (tax_number, *_tax_number).
bool IsTaxNumberField(std::string_view field);
// The allowed range of an integer field that has one of its own
// (category 1-5, income_year 2000-2100, reference_tax_income_eur >= 0).
std::optional<std::pair<int64_t, int64_t>> FieldRange(std::string_view field);
// tax_parts: a number of parts from 1 to 99, in quarters.
Status CheckTaxParts(double parts);
// An agency's own identifier for the citizen: the CAF's allocataire number
// (1-7 digits, organism 3 digits), the DGFiP's numéro fiscal, France
// Travail's identifier (1-11 digits or capitals), others 1-32 characters.
Status CheckAgencyReference(std::string_view agency, std::string_view id,
                            std::string_view scope);

// --- The whole event -------------------------------------------------------

// The rule a problem breaks, for callers that word problems themselves
// (the console, in French).
enum class CaseRule {
  kNotObject,         // must be an object
  kUnknownField,      // no such field in the table
  kMissing,           // required and absent
  kNull,              // null instead of left out
  kNotArray,          // must be an array
  kEmpty,             // empty string or array instead of left out
  kNotOneOf,          // not a name of the enumeration (or union)
  kNotBool,           // must be true or false
  kNotNumber,         // must be a number
  kNotInteger,        // must be an integer
  kOutOfRange,        // an integer outside [min, max]
  kNotString,         // must be a string
  kNotUtf8,           // text that is not UTF-8
  kControlCharacter,  // text with a control character
  kNir,               // not a NIR (length, characters, key)
  kDate,              // not a date YYYY-MM-DD
  kTaxNumber,         // not a numéro fiscal
  kCog,               // not a COG code
  kPostcode,          // not a postcode
  kTaxParts,          // not a number of parts (1 to 99, in quarters)
  kParticipantId,     // an agency reference's agency is not an id
  kSecondReference,   // two references for the same agency
  kAgencyReference,   // an identifier the agency does not issue
  kNirSex,            // the sex disagrees with the NIR
  kNirBirthDate,      // the birth date disagrees with the NIR
};

// A stable name: "missing", "unknown_field", "nir", ... (the enumerator
// without its k, in snake case).
std::string_view CaseRuleName(CaseRule rule);

// One thing wrong with a case: where, as a JSON pointer into the checked
// document ("/body/citizen/nir"), which rule, and what (in English, naming
// the rule), never repeating the value (it may be personal data).
struct CaseProblem {
  nlohmann::json::json_pointer where;
  std::string what;
  CaseRule rule = CaseRule::kMissing;
  int64_t min = 0, max = 0;  // kOutOfRange: the range
  // "body.citizen.nir", "body.parents[1].identity.sex"; each key escaped
  // (core/text.h Escaped) and cut at 64 bytes.
  std::string Path() const;
};

// Checks a case event in FlatBuffers' JSON form of cases.fbs
// ({"body_type": "AddressChange", "body": {...}}) as the recipients'
// adapters would: known fields only (the message lists the table's
// fields), JSON types, enumerations by name (the message lists the valid
// names), required fields per table and per birth stage, no empty string
// or array, text in UTF-8 without control characters (but newline and tab
// in a description), dates, NIRs (and their agreement with the identity's
// sex and birth date), numéros fiscaux, agency references, ranges.
// Returns every problem found, in key order (not the text's: the caller
// may sort them by position); none if the event is fine. InvalidArgument only
// if cases.fbs itself cannot be loaded.
Result<std::vector<CaseProblem>> CheckCaseEventJson(
    const nlohmann::json& event);

}  // namespace relais
