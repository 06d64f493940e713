#pragma once

// Case events (schemas/cases.fbs): names of case types, the citizen a case
// is about, and the JSON form of a CaseEvent.
//
// The JSON form is FlatBuffers' own JSON mapping of cases.fbs, e.g.
//   {"body_type": "AddressChange", "body": {"citizen": {...}, ...}}
// with enum values by name ("sex": "Female"). Unknown fields are errors.

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "schemas/cases_generated.h"

namespace flatbuffers {
class Parser;
}

namespace relais {

// A FlatBuffers parser loaded with cases.fbs (strict JSON, natural UTF-8):
// the schema itself, for code that walks case tables by their fields. Each
// call parses the schema again (well under 1 ms); a Parser is not
// thread-safe while parsing, but reading its definitions is.
Result<std::unique_ptr<flatbuffers::Parser>> CasesSchemaParser();

// "address_change", "birth", ... "assisted_case" (docs/CASES.md's names);
// "unknown" for anything else.
std::string_view CaseTypeName(wire::CaseType type);
// Inverse of CaseTypeName; nullopt for an unknown name.
std::optional<wire::CaseType> CaseTypeFromName(std::string_view name);

// The citizen a case is about (the mover, the first parent, the declarant,
// the applicant, the job seeker, the taxpayer, the deceased, the assisted
// citizen); null if absent.
const wire::Citizen* PrimaryCitizen(const wire::CaseEvent& event);

// JSON -> CaseEvent FlatBuffer bytes (identifier "RLC1"). InvalidArgument
// with the parser's line and column on bad JSON or unknown fields.
Result<std::string> CaseEventFromJson(std::string_view json);
// CaseEvent bytes (verified first) -> the JSON tree, as CaseEventToJson.
Result<nlohmann::ordered_json> CaseEventJson(std::string_view bytes);
// CaseEvent bytes (verified first) -> JSON. InvalidArgument if they are not
// a valid CaseEvent with a body of a known type, or hold strings that are
// not UTF-8 or numbers JSON cannot hold.
Result<std::string> CaseEventToJson(std::string_view bytes);

}  // namespace relais
