#include "core/identifiers.h"

#include <cstdint>
#include <cstdio>

#include "core/text.h"

namespace relais {
namespace {

uint64_t ToNumber(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

}  // namespace

Result<std::string> NirKey(std::string_view nir13) {
  if (nir13.size() != 13) {
    return Status::InvalidArgument(
        "NIR must have 13 characters before its key, has " +
        std::to_string(nir13.size()));
  }
  std::string digits(nir13);
  const std::string_view dept = nir13.substr(5, 2);
  if (dept == "2A" || dept == "2a") {
    digits.replace(5, 2, "19");
  } else if (dept == "2B" || dept == "2b") {
    digits.replace(5, 2, "18");
  }
  if (!IsDigits(digits)) {
    return Status::InvalidArgument(
        "NIR must be digits (department 2A or 2B excepted)");
  }
  const char first = nir13[0];
  if (first != '1' && first != '2' && first != '3' && first != '4' &&
      first != '7' && first != '8') {
    return Status::InvalidArgument("NIR must start with 1, 2, 3, 4, 7 or 8");
  }
  const uint64_t key = 97 - ToNumber(digits) % 97;
  char buf[3];
  std::snprintf(buf, sizeof(buf), "%02u", static_cast<unsigned>(key));
  return std::string(buf);
}

Status ValidateNir(std::string_view nir15) {
  if (nir15.size() != 15) {
    return Status::InvalidArgument(
        "NIR must have 15 characters (13 + key), has " +
        std::to_string(nir15.size()));
  }
  RELAIS_ASSIGN_OR_RETURN(std::string key, NirKey(nir15.substr(0, 13)));
  if (nir15.substr(13) != key) {
    // Neither key is repeated: an error may be logged, and the key is
    // part of the citizen's NIR.
    return Status::InvalidArgument(
        "NIR key does not match the first 13 characters (it must be 97 "
        "minus their number modulo 97)");
  }
  return Status::OK();
}

bool HoldsNir(std::string_view text) {
  const auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z');
  };
  constexpr size_t kNir = 15;
  for (size_t i = 0; i + kNir <= text.size(); ++i) {
    if (i > 0 && alnum(text[i - 1])) continue;
    if (i + kNir < text.size() && alnum(text[i + kNir])) continue;
    if (ValidateNir(text.substr(i, kNir)).ok()) return true;
  }
  return false;
}

Result<std::string> AddNirKey(std::string_view nir13) {
  RELAIS_ASSIGN_OR_RETURN(std::string key, NirKey(nir13));
  return std::string(nir13) + key;
}

Result<std::string> StripNirKey(std::string_view nir15) {
  RELAIS_RETURN_IF_ERROR(ValidateNir(nir15));
  return std::string(nir15.substr(0, 13));
}

Status NirAgreesWithSex(std::string_view nir, bool female) {
  if (nir.empty()) return Status::OK();
  const char first = nir[0];
  const bool nir_female = first == '2' || first == '4' || first == '8';
  if (nir_female == female) return Status::OK();
  return Status::InvalidArgument(
      "does not agree with the NIR's first digit (1, 3 or 7: male; 2, 4 or "
      "8: female)");
}

Status NirAgreesWithBirthDate(std::string_view nir,
                              std::string_view birth_date) {
  if (nir.size() < 5 || birth_date.size() != 10) return Status::OK();
  const std::string_view yy = nir.substr(1, 2), mm = nir.substr(3, 2);
  const bool month_known = mm >= "01" && mm <= "12";
  if (birth_date.substr(2, 2) != yy) {
    return Status::InvalidArgument(
        "the year does not agree with the NIR (its 2nd and 3rd digits)");
  }
  if (month_known && birth_date.substr(5, 2) != mm) {
    return Status::InvalidArgument(
        "the month does not agree with the NIR (its 4th and 5th digits)");
  }
  return Status::OK();
}

Status ValidateFiscalNumber(std::string_view spi) {
  if (spi.size() != 13 || !IsDigits(spi)) {
    return Status::InvalidArgument("numéro fiscal must be 13 digits");
  }
  if (spi[0] > '3') {
    return Status::InvalidArgument(
        "numéro fiscal must start with 0, 1, 2 or 3");
  }
  const uint64_t expected = ToNumber(spi.substr(0, 10)) % 511;
  if (ToNumber(spi.substr(10)) != expected) {
    return Status::InvalidArgument(
        "numéro fiscal check digits do not match the first 10 digits (they "
        "must be their number modulo 511)");
  }
  return Status::OK();
}

}  // namespace relais
