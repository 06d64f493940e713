#pragma once

// The cryptography relais needs, behind a small API over OpenSSL 3 EVP
// (in the spirit of redpanda's crypto/crypto.h): SHA-256, HMAC-SHA256,
// random bytes, Ed25519 signatures and X25519 (CURVE) key pairs.
//
// A bad signature is a normal outcome (Verify returns false); a Status error
// is reserved for internal failures of the library. All functions and const
// methods are safe to call from several threads at once.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace relais::crypto {

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kEd25519KeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

// SHA-256 of `data`, as 32 raw bytes.
std::string Sha256(std::string_view data);
// HMAC-SHA256 of `data` under `key`, as 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);
// `n` bytes from OpenSSL's CSPRNG. Internal error if it is not seeded.
Result<std::string> RandomBytes(size_t n);
// Constant-time comparison of two equally long byte strings.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// An Ed25519 public key. Cheap to copy (the OpenSSL key is shared).
class Ed25519PublicKey {
 public:
  // `raw` must be 32 bytes; InvalidArgument otherwise.
  static Result<Ed25519PublicKey> FromRaw(std::string_view raw);

  // True iff `signature` is a valid Ed25519 signature of `message` by this
  // key. False for any bad or malformed signature.
  bool Verify(std::string_view message, std::string_view signature) const;
  const std::string& raw() const { return raw_; }

 private:
  std::shared_ptr<EVP_PKEY> key_;
  // Initialised once for verifying with key_; each Verify works on a copy
  // (OpenSSL 3 would otherwise fetch the algorithm on every call).
  std::shared_ptr<EVP_MD_CTX> verify_template_;
  std::string raw_;
};

// An Ed25519 private key (its 32-byte seed).
class Ed25519PrivateKey {
 public:
  static Result<Ed25519PrivateKey> Generate();
  // `seed` must be 32 bytes; InvalidArgument otherwise.
  static Result<Ed25519PrivateKey> FromSeed(std::string_view seed);

  // The 64-byte signature of `message`. Internal error only if OpenSSL fails.
  Result<std::string> Sign(std::string_view message) const;
  const std::string& seed() const { return seed_; }
  const Ed25519PublicKey& public_key() const { return public_; }

 private:
  std::shared_ptr<EVP_PKEY> key_;
  std::shared_ptr<EVP_MD_CTX> sign_template_;  // as verify_template_
  std::string seed_;
  Ed25519PublicKey public_;
};

// A CURVE (X25519) key pair as ZeroMQ takes it: 40-character Z85 strings.
struct CurveKeyPair {
  std::string public_z85;
  std::string secret_z85;
};
Result<CurveKeyPair> GenerateCurveKeyPair();
// The Z85 public key that belongs to a Z85 secret key.
Result<std::string> CurvePublicFromSecret(std::string_view secret_z85);

}  // namespace relais::crypto
