#include "core/keys.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/ids.h"
#include "core/toml_file.h"

namespace relais {
namespace {

constexpr int64_t kDayMs = 86400000;

Result<std::string> RequiredString(const toml::table& t, std::string_view key,
                                   const std::string& origin) {
  auto v = t[key].value<std::string>();
  if (!v || v->empty()) {
    return Status::InvalidArgument(origin + ": missing string '" +
                                   std::string(key) + "'");
  }
  return *v;
}

Result<int64_t> RequiredTime(const toml::table& t, std::string_view key,
                             const std::string& origin) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, RequiredString(t, key, origin));
  auto ms = ParseTimestamp(text);
  if (!ms.ok()) {
    return Status::InvalidArgument(origin + ": '" + std::string(key) +
                                   "': " + ms.status().message());
  }
  return *ms;
}

Result<PublicSigningKey> ParsePublicSigningKey(const toml::table& t,
                                               const std::string& origin) {
  PublicSigningKey key;
  // A misspelt "revoked" must not leave a key valid that was meant not to be.
  RELAIS_RETURN_IF_ERROR(CheckKnownKeys(
      t, {"key_id", "public", "not_before", "not_after", "revoked"}, origin,
      "[[signing_keys]]"));
  RELAIS_ASSIGN_OR_RETURN(key.key_id, RequiredString(t, "key_id", origin));
  RELAIS_ASSIGN_OR_RETURN(std::string hex, RequiredString(t, "public", origin));
  auto raw = HexDecode(hex);
  if (!raw.ok())
    return Status::InvalidArgument(
        origin + ": signing public key: " + raw.status().message());
  auto pub = crypto::Ed25519PublicKey::FromRaw(*raw);
  if (!pub.ok())
    return Status::InvalidArgument(origin + ": " + pub.status().message());
  key.key = *pub;
  if (KeyIdOf(*raw) != key.key_id) {
    return Status::InvalidArgument(origin + ": key_id " + key.key_id +
                                   " does not match its public key");
  }
  RELAIS_ASSIGN_OR_RETURN(key.not_before_ms,
                          RequiredTime(t, "not_before", origin));
  RELAIS_ASSIGN_OR_RETURN(key.not_after_ms,
                          RequiredTime(t, "not_after", origin));
  if (key.not_after_ms <= key.not_before_ms) {
    return Status::InvalidArgument(origin +
                                   ": not_after must come after not_before "
                                   "(the key would never be valid)");
  }
  if (const toml::node* revoked = t.get("revoked")) {
    if (!revoked->is_boolean()) {
      return Status::InvalidArgument(origin +
                                     ": 'revoked' must be true or false");
    }
    key.revoked = revoked->as_boolean()->get();
  }
  return key;
}

}  // namespace

Result<Identity> GenerateIdentity(const std::string& participant,
                                  int64_t now_ms, int validity_days) {
  if (!IsValidParticipantId(participant)) {
    return Status::InvalidArgument("not a participant id: '" + participant +
                                   "'");
  }
  Identity id;
  id.participant = participant;
  RELAIS_ASSIGN_OR_RETURN(id.curve, crypto::GenerateCurveKeyPair());
  RELAIS_ASSIGN_OR_RETURN(id.signing.key,
                          crypto::Ed25519PrivateKey::Generate());
  id.signing.key_id = KeyIdOf(id.signing.key.public_key().raw());
  id.signing.not_before_ms = now_ms / 1000 * 1000;
  id.signing.not_after_ms = id.signing.not_before_ms + validity_days * kDayMs;
  return id;
}

PublicIdentity PublicOf(const Identity& identity) {
  PublicIdentity pub;
  pub.participant = identity.participant;
  pub.curve_public_z85 = identity.curve.public_z85;
  pub.signing_keys.push_back(PublicSigningKey{
      identity.signing.key_id, identity.signing.key.public_key(),
      identity.signing.not_before_ms, identity.signing.not_after_ms, false});
  return pub;
}

std::string IdentityToToml(const Identity& id) {
  toml::table t{
      {"participant", id.participant},
      {"curve", toml::table{{"public", id.curve.public_z85},
                            {"secret", id.curve.secret_z85}}},
      {"signing",
       toml::table{{"key_id", id.signing.key_id},
                   {"public", HexEncode(id.signing.key.public_key().raw())},
                   {"secret", HexEncode(id.signing.key.seed())},
                   {"not_before", FormatTimestamp(id.signing.not_before_ms)},
                   {"not_after", FormatTimestamp(id.signing.not_after_ms)}}},
  };
  std::ostringstream out;
  out << "# relais identity of '" << id.participant
      << "'. SECRET: keep this file private (mode 0600).\n"
      << t << "\n";
  return out.str();
}

std::string PublicIdentityToToml(const PublicIdentity& id) {
  toml::array keys;
  for (const auto& k : id.signing_keys) {
    toml::table kt{{"key_id", k.key_id},
                   {"public", HexEncode(k.key.raw())},
                   {"not_before", FormatTimestamp(k.not_before_ms)},
                   {"not_after", FormatTimestamp(k.not_after_ms)}};
    if (k.revoked) kt.insert("revoked", true);
    keys.push_back(std::move(kt));
  }
  toml::table t{{"participant", id.participant},
                {"curve_public", id.curve_public_z85},
                {"signing_keys", std::move(keys)}};
  std::ostringstream out;
  out << "# relais public identity of '" << id.participant << "'.\n"
      << t << "\n";
  return out.str();
}

Result<Identity> ParseIdentity(const std::string& text,
                               const std::string& origin) {
  RELAIS_ASSIGN_OR_RETURN(toml::table t, ParseToml(text, origin));
  // A misspelt key, or a public half that is not the secret's, says the
  // file was edited by hand and is not what its reader thinks.
  RELAIS_RETURN_IF_ERROR(CheckKnownKeys(t, {"participant", "curve", "signing"},
                                        origin, "the identity file"));
  Identity id;
  RELAIS_ASSIGN_OR_RETURN(id.participant,
                          RequiredString(t, "participant", origin));
  if (!IsValidParticipantId(id.participant)) {
    return Status::InvalidArgument(origin + ": bad participant id");
  }
  const toml::table* curve = t["curve"].as_table();
  const toml::table* signing = t["signing"].as_table();
  if (!curve || !signing) {
    return Status::InvalidArgument(origin + ": needs [curve] and [signing]");
  }
  RELAIS_RETURN_IF_ERROR(
      CheckKnownKeys(*curve, {"public", "secret"}, origin, "[curve]"));
  RELAIS_RETURN_IF_ERROR(CheckKnownKeys(
      *signing, {"key_id", "public", "secret", "not_before", "not_after"},
      origin, "[signing]"));
  RELAIS_ASSIGN_OR_RETURN(id.curve.secret_z85,
                          RequiredString(*curve, "secret", origin));
  auto pub = crypto::CurvePublicFromSecret(id.curve.secret_z85);
  if (!pub.ok())
    return Status::InvalidArgument(origin +
                                   ": curve secret: " + pub.status().message());
  id.curve.public_z85 = *pub;
  if (curve->contains("public") &&
      (*curve)["public"].value_or(std::string()) != id.curve.public_z85) {
    return Status::InvalidArgument(
        origin + ": [curve] public is not the public key of its secret");
  }
  RELAIS_ASSIGN_OR_RETURN(std::string seed_hex,
                          RequiredString(*signing, "secret", origin));
  auto seed = HexDecode(seed_hex);
  if (!seed.ok())
    return Status::InvalidArgument(
        origin + ": signing secret: " + seed.status().message());
  auto key = crypto::Ed25519PrivateKey::FromSeed(*seed);
  if (!key.ok())
    return Status::InvalidArgument(origin + ": " + key.status().message());
  id.signing.key = *key;
  id.signing.key_id = KeyIdOf(key->public_key().raw());
  if (signing->contains("public")) {
    auto written = HexDecode((*signing)["public"].value_or(std::string()));
    if (!written.ok() || *written != key->public_key().raw()) {
      return Status::InvalidArgument(
          origin + ": [signing] public is not the public key of its secret");
    }
  }
  if (signing->contains("key_id") &&
      (*signing)["key_id"].value_or(std::string()) != id.signing.key_id) {
    return Status::InvalidArgument(origin +
                                   ": [signing] key_id is not that of its "
                                   "key (it is " +
                                   id.signing.key_id + ")");
  }
  RELAIS_ASSIGN_OR_RETURN(id.signing.not_before_ms,
                          RequiredTime(*signing, "not_before", origin));
  RELAIS_ASSIGN_OR_RETURN(id.signing.not_after_ms,
                          RequiredTime(*signing, "not_after", origin));
  if (id.signing.not_after_ms <= id.signing.not_before_ms) {
    return Status::InvalidArgument(origin +
                                   ": not_after must come after not_before "
                                   "(the key would never be valid)");
  }
  return id;
}

Result<PublicIdentity> ParsePublicIdentity(const std::string& text,
                                           const std::string& origin) {
  RELAIS_ASSIGN_OR_RETURN(toml::table t, ParseToml(text, origin));
  RELAIS_RETURN_IF_ERROR(
      CheckKnownKeys(t, {"participant", "curve_public", "signing_keys"}, origin,
                     "the public identity file"));
  PublicIdentity id;
  RELAIS_ASSIGN_OR_RETURN(id.participant,
                          RequiredString(t, "participant", origin));
  if (!IsValidParticipantId(id.participant)) {
    return Status::InvalidArgument(origin + ": bad participant id");
  }
  RELAIS_ASSIGN_OR_RETURN(id.curve_public_z85,
                          RequiredString(t, "curve_public", origin));
  auto curve = Z85Decode(id.curve_public_z85);
  if (!curve.ok() || curve->size() != 32) {
    return Status::InvalidArgument(
        origin + ": curve_public is not a 40-character Z85 key");
  }
  const toml::array* keys = t["signing_keys"].as_array();
  if (!keys || keys->empty()) {
    return Status::InvalidArgument(origin +
                                   ": needs at least one [[signing_keys]]");
  }
  for (const auto& node : *keys) {
    const toml::table* kt = node.as_table();
    if (!kt)
      return Status::InvalidArgument(origin + ": signing_keys must be tables");
    RELAIS_ASSIGN_OR_RETURN(PublicSigningKey key,
                            ParsePublicSigningKey(*kt, origin));
    id.signing_keys.push_back(std::move(key));
  }
  return id;
}

Status WriteIdentityFile(const Identity& identity, const std::string& path) {
  return WriteFileAtomic(path, IdentityToToml(identity), 0600);
}

Status WritePublicIdentityFile(const PublicIdentity& identity,
                               const std::string& path) {
  return WriteFileAtomic(path, PublicIdentityToToml(identity), 0644);
}

Result<Identity> LoadIdentityFile(const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadSecretFile(path, 1 << 20));
  return ParseIdentity(text, path);
}

Result<PublicIdentity> LoadPublicIdentityFile(const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 1 << 20));
  return ParsePublicIdentity(text, path);
}

Result<KeyDirectory> KeyDirectory::LoadDir(const std::string& dir) {
  KeyDirectory out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return Status::IOError("cannot list " + dir + ": " + ec.message());
  std::vector<std::string> paths;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 9 && name.ends_with(".pub.toml")) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    RELAIS_ASSIGN_OR_RETURN(PublicIdentity id, LoadPublicIdentityFile(path));
    RELAIS_RETURN_IF_ERROR(out.Add(std::move(id)));
  }
  return out;
}

Status KeyDirectory::Add(PublicIdentity identity) {
  const std::string id = identity.participant;
  if (!by_id_.emplace(id, std::move(identity)).second) {
    return Status::InvalidArgument("participant '" + id + "' is listed twice");
  }
  return Status::OK();
}

const PublicIdentity* KeyDirectory::Find(const std::string& participant) const {
  auto it = by_id_.find(participant);
  return it == by_id_.end() ? nullptr : &it->second;
}

Result<const PublicSigningKey*> KeyDirectory::FindSigningKey(
    const std::string& participant, const std::string& key_id,
    int64_t at_ms) const {
  const PublicIdentity* id = Find(participant);
  if (id != nullptr) {
    for (const auto& key : id->signing_keys) {
      if (key.key_id != key_id) continue;
      if (key.revoked) {
        return Status::Rejected(
            wire::RejectCode::SigningKeyNotValid,
            "signing key " + key_id + " of " + participant + " is revoked");
      }
      if (at_ms < key.not_before_ms || at_ms > key.not_after_ms) {
        return Status::Rejected(wire::RejectCode::SigningKeyNotValid,
                                "signing key " + key_id + " of " + participant +
                                    " is valid from " +
                                    FormatTimestamp(key.not_before_ms) +
                                    " to " + FormatTimestamp(key.not_after_ms));
      }
      return &key;
    }
  }
  return Status::Rejected(
      wire::RejectCode::UnknownSigningKey,
      "no signing key " + key_id + " registered for '" + participant + "'");
}

}  // namespace relais
