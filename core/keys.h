#pragma once

// Participants' keys and the files that hold them (docs/OPERATIONS.md,
// "Keys").
//
// Each participant has a CURVE key pair (transport, Z85) and an Ed25519
// signing key with a key id and a validity window. Its *secret* identity file
// (`<id>.key.toml`, mode 0600) stays with it; its *public* identity file
// (`<id>.pub.toml`) goes to the broker's registry and to the peers that
// verify its signatures.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/status.h"

namespace relais {

struct SigningKey {
  std::string key_id;
  crypto::Ed25519PrivateKey key;
  int64_t not_before_ms = 0;
  int64_t not_after_ms = 0;
};

// What a participant holds secret.
struct Identity {
  std::string participant;
  crypto::CurveKeyPair curve;
  SigningKey signing;
};

struct PublicSigningKey {
  std::string key_id;
  crypto::Ed25519PublicKey key;
  int64_t not_before_ms = 0;
  int64_t not_after_ms = 0;
  bool revoked = false;
};

// What everyone may know of a participant.
struct PublicIdentity {
  std::string participant;
  std::string curve_public_z85;
  std::vector<PublicSigningKey> signing_keys;
};

// New CURVE and Ed25519 keys for `participant`, the signing key valid from
// `now_ms` for `validity_days`. InvalidArgument for a bad participant id.
Result<Identity> GenerateIdentity(const std::string& participant,
                                  int64_t now_ms, int validity_days);
PublicIdentity PublicOf(const Identity& identity);

// TOML text of the files, and their parsers. `origin` names the source in
// error messages.
std::string IdentityToToml(const Identity& identity);
std::string PublicIdentityToToml(const PublicIdentity& identity);
Result<Identity> ParseIdentity(const std::string& toml_text,
                               const std::string& origin);
Result<PublicIdentity> ParsePublicIdentity(const std::string& toml_text,
                                           const std::string& origin);

// The files themselves; the secret one is written with mode 0600.
Status WriteIdentityFile(const Identity& identity, const std::string& path);
Status WritePublicIdentityFile(const PublicIdentity& identity,
                               const std::string& path);
Result<Identity> LoadIdentityFile(const std::string& path);
Result<PublicIdentity> LoadPublicIdentityFile(const std::string& path);

// The public identities a party trusts, by participant id. Immutable once
// built, so safe to share between threads for reading.
class KeyDirectory {
 public:
  // Reads every `*.pub.toml` file in `dir`.
  static Result<KeyDirectory> LoadDir(const std::string& dir);

  // InvalidArgument if the participant is already present.
  Status Add(PublicIdentity identity);
  // Null if unknown.
  const PublicIdentity* Find(const std::string& participant) const;
  // The key `key_id` of `participant` usable at `at_ms`:
  // Rejected(UnknownSigningKey) if there is no such key,
  // Rejected(SigningKeyNotValid) if it is revoked or outside its window.
  Result<const PublicSigningKey*> FindSigningKey(const std::string& participant,
                                                 const std::string& key_id,
                                                 int64_t at_ms) const;
  const std::map<std::string, PublicIdentity>& all() const { return by_id_; }

 private:
  std::map<std::string, PublicIdentity> by_id_;
};

}  // namespace relais
