#pragma once

// French administrative identifiers: the NIR
// (numéro d'inscription au répertoire) and the numéro fiscal (SPI).
// Every check returns a Status whose message names what is wrong, so that
// adapters can tell a partner which field to fix.

#include <string>
#include <string_view>

#include "core/status.h"

namespace relais {

// The 2-digit key of a 13-character NIR: 97 - (number mod 97), where
// Corsica's "2A" and "2B" (characters 6-7) count as 19 and 18.
// InvalidArgument if `nir13` is not 13 well-formed characters.
Result<std::string> NirKey(std::string_view nir13);
// Checks a 15-character NIR (13 characters + key): first digit 1, 2, 3, 4,
// 7 or 8; digits only except "2A"/"2B" as department; the key matches.
Status ValidateNir(std::string_view nir15);
// Adds the key to a 13-character NIR (batch flows carry it without).
Result<std::string> AddNirKey(std::string_view nir13);
// Validates a 15-character NIR and returns its first 13 characters.
Result<std::string> StripNirKey(std::string_view nir15);
// The identity pivot against the NIR it comes with (15 or 13 characters,
// already checked): the first digit gives the sex (1, 3, 7 male; 2, 4, 8
// female), characters 2-3 the birth year's last two digits, 4-5 its month
// (01-12; other values mean unknown and are not compared). InvalidArgument
// "does not agree with the NIR's first digit (...)", "the year does not
// agree with the NIR (its 2nd and 3rd digits)" or "the month does not agree
// with the NIR (its 4th and 5th digits)" otherwise: the messages name no
// value, neither the NIR's digits nor the date (they end in logs).
// `female` is the identity's sex; `birth_date` "YYYY-MM-DD" (empty: not
// compared).
Status NirAgreesWithSex(std::string_view nir, bool female);
Status NirAgreesWithBirthDate(std::string_view nir,
                              std::string_view birth_date);
// Whether `text` holds a NIR: a run of exactly 15 characters (digits, or
// "2A"/"2B" at the department), with no digit or letter just before or
// after it, that ValidateNir accepts. For text that is logged and shown to
// every party (a case id), where a NIR must never be.
bool HoldsNir(std::string_view text);
// Checks a numéro fiscal: 13 digits, first digit 0-3, and the last three
// digits equal to (the first ten digits) mod 511.
Status ValidateFiscalNumber(std::string_view spi);

}  // namespace relais
