// libFuzzer target: the key files (core/keys.h, core/subject.h), each
// parser fed the same bytes: a secret identity (<id>.key.toml), a public
// identity (<id>.pub.toml) and the subject key (subject.key). Nothing may
// crash or throw; a file is either refused InvalidArgument, or read, and
// then what it reads writes back to text that reads the same keys.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/keys.h"
#include "core/subject.h"

using namespace relais;

namespace {

void ExpectRefused(const Status& st) {
  if (st.code() != Status::Code::kInvalidArgument) std::abort();
}

bool SameSigning(const PublicSigningKey& a, const PublicSigningKey& b) {
  return a.key_id == b.key_id && a.key.raw() == b.key.raw() &&
         a.not_before_ms == b.not_before_ms &&
         a.not_after_ms == b.not_after_ms && a.revoked == b.revoked;
}

void SecretIdentity(const std::string& text) {
  auto id = ParseIdentity(text, "f.key.toml");
  if (!id.ok()) return ExpectRefused(id.status());
  auto again = ParseIdentity(IdentityToToml(*id), "again");
  if (!again.ok() || again->participant != id->participant ||
      again->curve.public_z85 != id->curve.public_z85 ||
      again->curve.secret_z85 != id->curve.secret_z85 ||
      again->signing.key.seed() != id->signing.key.seed() ||
      again->signing.key_id != id->signing.key_id ||
      again->signing.not_before_ms != id->signing.not_before_ms ||
      again->signing.not_after_ms != id->signing.not_after_ms) {
    std::abort();
  }
}

void PublicIdentityFile(const std::string& text) {
  auto id = ParsePublicIdentity(text, "f.pub.toml");
  if (!id.ok()) return ExpectRefused(id.status());
  auto again = ParsePublicIdentity(PublicIdentityToToml(*id), "again");
  if (!again.ok() || again->participant != id->participant ||
      again->curve_public_z85 != id->curve_public_z85 ||
      again->signing_keys.size() != id->signing_keys.size()) {
    std::abort();
  }
  for (size_t i = 0; i < id->signing_keys.size(); ++i) {
    if (!SameSigning(id->signing_keys[i], again->signing_keys[i])) {
      std::abort();
    }
  }
}

void SubjectKeyFile(const std::string& text) {
  auto key = ParseSubjectKey(text, "subject.key");
  if (!key.ok()) return ExpectRefused(key.status());
  if (key->size() != kSubjectKeySize) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  SecretIdentity(text);
  PublicIdentityFile(text);
  SubjectKeyFile(text);
  return 0;
}
