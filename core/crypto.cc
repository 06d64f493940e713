#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "core/bytes.h"

namespace relais::crypto {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Result<std::string> RawPublic(EVP_PKEY* key) {
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(
          key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != 32) {
    return Status::Internal("EVP_PKEY_get_raw_public_key failed");
  }
  return raw;
}

// libsodium initialised once (it picks its implementations for this CPU);
// an error only if it cannot be (no random source).
Status SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) return Status::Internal("libsodium could not be initialised");
  return Status::OK();
}

}  // namespace

std::string Sha256(std::string_view data) {
  // OpenSSL 3's one-shot SHA256() looks the algorithm up (under a lock) and
  // makes a context on every call, which costs more than hashing a Merkle
  // node: the algorithm is fetched once, and each thread keeps a context.
  static EVP_MD* const kMd = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string out(kSha256Size, '\0');
  auto* digest = reinterpret_cast<unsigned char*>(out.data());
  unsigned int len = 0;
  if (kMd == nullptr || ctx == nullptr ||
      EVP_DigestInit_ex2(ctx.get(), kMd, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1 || len != kSha256Size) {
    SHA256(U(data), data.size(), digest);
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), U(data),
       data.size(), reinterpret_cast<unsigned char*>(out.data()), &len);
  return out;
}

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    return Status::Internal("RAND_bytes failed");
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<Ed25519PublicKey> Ed25519PublicKey::FromRaw(std::string_view raw) {
  if (raw.size() != kEd25519KeySize) {
    return Status::InvalidArgument("an Ed25519 public key is 32 bytes, not " +
                                   std::to_string(raw.size()));
  }
  RELAIS_RETURN_IF_ERROR(SodiumReady());
  // Off the curve, not canonical, or of small order: no honest key is, and
  // one of small order would let anyone sign as its holder.
  if (crypto_core_ed25519_is_valid_point(U(raw)) != 1) {
    return Status::InvalidArgument(
        "not a valid Ed25519 public key (not a point of the curve's prime "
        "order subgroup)");
  }
  Ed25519PublicKey out;
  out.raw_ = std::string(raw);
  return out;
}

bool Ed25519PublicKey::Verify(std::string_view message,
                              std::string_view signature) const {
  if (raw_.size() != kEd25519KeySize ||
      signature.size() != kEd25519SignatureSize) {
    return false;
  }
  return crypto_sign_verify_detached(U(signature), U(message), message.size(),
                                     U(raw_)) == 0;
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::Generate() {
  RELAIS_ASSIGN_OR_RETURN(std::string seed, RandomBytes(kEd25519KeySize));
  return FromSeed(seed);
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(std::string_view seed) {
  if (seed.size() != kEd25519KeySize) {
    return Status::InvalidArgument("an Ed25519 seed is 32 bytes, not " +
                                   std::to_string(seed.size()));
  }
  RELAIS_RETURN_IF_ERROR(SodiumReady());
  static_assert(crypto_sign_SEEDBYTES == kEd25519KeySize &&
                crypto_sign_PUBLICKEYBYTES == kEd25519KeySize &&
                crypto_sign_BYTES == kEd25519SignatureSize);
  std::string raw_public(crypto_sign_PUBLICKEYBYTES, '\0');
  Ed25519PrivateKey out;
  out.secret_.assign(crypto_sign_SECRETKEYBYTES, '\0');
  if (crypto_sign_seed_keypair(
          reinterpret_cast<unsigned char*>(raw_public.data()),
          reinterpret_cast<unsigned char*>(out.secret_.data()), U(seed)) != 0) {
    return Status::Internal("crypto_sign_seed_keypair failed");
  }
  out.seed_ = std::string(seed);
  RELAIS_ASSIGN_OR_RETURN(out.public_, Ed25519PublicKey::FromRaw(raw_public));
  return out;
}

Result<std::string> Ed25519PrivateKey::Sign(std::string_view message) const {
  if (secret_.size() != crypto_sign_SECRETKEYBYTES) {
    return Status::Internal("no Ed25519 secret key to sign with");
  }
  std::string sig(kEd25519SignatureSize, '\0');
  unsigned long long len = 0;
  if (crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), &len,
                           U(message), message.size(), U(secret_)) != 0 ||
      len != kEd25519SignatureSize) {
    return Status::Internal("crypto_sign_detached failed");
  }
  return sig;
}

Result<CurveKeyPair> GenerateCurveKeyPair() {
  RELAIS_ASSIGN_OR_RETURN(std::string secret, RandomBytes(32));
  RELAIS_ASSIGN_OR_RETURN(std::string secret_z85, Z85Encode(secret));
  RELAIS_ASSIGN_OR_RETURN(std::string public_z85,
                          CurvePublicFromSecret(secret_z85));
  return CurveKeyPair{std::move(public_z85), std::move(secret_z85)};
}

Result<std::string> CurvePublicFromSecret(std::string_view secret_z85) {
  RELAIS_ASSIGN_OR_RETURN(std::string secret, Z85Decode(secret_z85));
  if (secret.size() != 32) {
    return Status::InvalidArgument("a CURVE secret key is 40 Z85 characters");
  }
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_X25519, nullptr, U(secret), secret.size()));
  if (!key) return Status::Internal("EVP_PKEY_new_raw_private_key(X25519)");
  RELAIS_ASSIGN_OR_RETURN(std::string raw_public, RawPublic(key.get()));
  return Z85Encode(raw_public);
}

}  // namespace relais::crypto
