#include "adapters/france_services/password.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <charconv>
#include <cstdint>
#include <memory>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/text.h"

namespace relais::console {
namespace {

constexpr size_t kMinPasswordBytes = 12;
constexpr size_t kMaxPasswordBytes = 256;
constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;
constexpr std::string_view kPrefix = "$scrypt$";
// 128 * r * N bytes at most: 1 GiB.
constexpr uint64_t kMaxMemory = uint64_t{1} << 30;

Status CheckCost(const ScryptCost& c) {
  if (c.log2_n < 10 || c.log2_n > 20 || c.r < 1 || c.r > 32 || c.p < 1 ||
      c.p > 16) {
    return Status::InvalidArgument(
        "scrypt cost out of range (ln 10 to 20, r 1 to 32, p 1 to 16)");
  }
  if ((uint64_t{128} * static_cast<uint64_t>(c.r) << c.log2_n) > kMaxMemory) {
    return Status::InvalidArgument("scrypt cost over 1 GiB of memory");
  }
  return Status::OK();
}

Result<std::string> Scrypt(std::string_view password, std::string_view salt,
                           const ScryptCost& cost) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(
      EVP_KDF_fetch(nullptr, "SCRYPT", nullptr), EVP_KDF_free);
  if (!kdf) return Status::Internal("OpenSSL has no SCRYPT KDF");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(
      EVP_KDF_CTX_new(kdf.get()), EVP_KDF_CTX_free);
  if (!ctx) return Status::Internal("EVP_KDF_CTX_new failed");
  uint64_t n = uint64_t{1} << cost.log2_n;
  auto r = static_cast<uint32_t>(cost.r);
  auto p = static_cast<uint32_t>(cost.p);
  // CheckCost keeps 128 * r * N within this; OpenSSL adds its own room.
  uint64_t maxmem = kMaxMemory * 2;
  std::string pass(password), salt_copy(salt);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pass.data(),
                                        pass.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_copy.data(),
                                        salt_copy.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  std::string key(kKeyBytes, '\0');
  const int ok =
      EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(key.data()),
                     key.size(), params);
  OPENSSL_cleanse(pass.data(), pass.size());
  if (ok != 1) return Status::Internal("scrypt failed (EVP_KDF_derive)");
  return key;
}

// Reads "name=<int>" at the front of `text`, then one `sep` (or the end).
bool TakeParam(std::string_view* text, std::string_view name, int* value,
               char sep) {
  if (text->substr(0, name.size() + 1) != std::string(name) + "=") {
    return false;
  }
  text->remove_prefix(name.size() + 1);
  const char* end = text->data() + text->size();
  auto [at, ec] = std::from_chars(text->data(), end, *value);
  if (ec != std::errc() || at == text->data()) return false;
  text->remove_prefix(static_cast<size_t>(at - text->data()));
  if (sep == '\0') return text->empty();
  if (text->empty() || text->front() != sep) return false;
  text->remove_prefix(1);
  return true;
}

struct Stored {
  ScryptCost cost;
  std::string salt, key;
};

Result<Stored> ParseStored(std::string_view stored) {
  const Status bad = Status::Corruption(
      "a stored password hash is not in the form "
      "$scrypt$ln=N,r=N,p=N$<salt hex>$<key hex>");
  if (stored.substr(0, kPrefix.size()) != kPrefix) return bad;
  std::string_view rest = stored.substr(kPrefix.size());
  const size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos) return bad;
  std::string_view params = rest.substr(0, dollar);
  rest.remove_prefix(dollar + 1);
  Stored s;
  if (!TakeParam(&params, "ln", &s.cost.log2_n, ',') ||
      !TakeParam(&params, "r", &s.cost.r, ',') ||
      !TakeParam(&params, "p", &s.cost.p, '\0') || !CheckCost(s.cost).ok()) {
    return bad;
  }
  // This side makes 16-byte salts; a stored one may be 4 to 64 bytes.
  const size_t second = rest.find('$');
  if (second == std::string_view::npos || second < 8 || second > 128 ||
      rest.size() != second + 1 + kKeyBytes * 2) {
    return bad;
  }
  auto salt = HexDecode(rest.substr(0, second));
  auto key = HexDecode(rest.substr(second + 1));
  if (!salt.ok() || !key.ok()) return bad;
  s.salt = std::move(*salt);
  s.key = std::move(*key);
  return s;
}

}  // namespace

Status CheckNewPassword(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return Status::InvalidArgument("the password is shorter than 12 bytes");
  }
  if (password.size() > kMaxPasswordBytes) {
    return Status::InvalidArgument("the password is longer than 256 bytes");
  }
  if (!IsCleanText(password)) {
    return Status::InvalidArgument(
        "the password is not UTF-8 text or holds a control character");
  }
  return Status::OK();
}

Result<std::string> HashPassword(std::string_view password,
                                 const ScryptCost& cost) {
  RELAIS_RETURN_IF_ERROR(CheckCost(cost));
  RELAIS_ASSIGN_OR_RETURN(std::string salt, crypto::RandomBytes(kSaltBytes));
  RELAIS_ASSIGN_OR_RETURN(std::string key, Scrypt(password, salt, cost));
  return std::string(kPrefix) + "ln=" + std::to_string(cost.log2_n) +
         ",r=" + std::to_string(cost.r) + ",p=" + std::to_string(cost.p) + "$" +
         HexEncode(salt) + "$" + HexEncode(key);
}

Status CheckStoredHash(std::string_view stored) {
  return ParseStored(stored).status();
}

Result<bool> VerifyPassword(std::string_view password,
                            std::string_view stored) {
  RELAIS_ASSIGN_OR_RETURN(Stored s, ParseStored(stored));
  RELAIS_ASSIGN_OR_RETURN(std::string key, Scrypt(password, s.salt, s.cost));
  return crypto::ConstantTimeEquals(key, s.key);
}

}  // namespace relais::console
