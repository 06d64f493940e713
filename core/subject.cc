#include "core/subject.h"

#include <cctype>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/identifiers.h"

namespace relais {

Result<std::string> SubjectRef(std::string_view subject_key,
                               std::string_view nir) {
  if (subject_key.size() != kSubjectKeySize) {
    return Status::InvalidArgument("subject key must be 32 bytes");
  }
  if (nir.size() != 13 && nir.size() != 15) {
    return Status::InvalidArgument(
        "NIR must be 13 characters, or 15 with its key; got " +
        std::to_string(nir.size()));
  }
  std::string nir13(nir.substr(0, 13));
  for (char& c : nir13) c = static_cast<char>(std::toupper(c));
  if (nir.size() == 15) {
    RELAIS_RETURN_IF_ERROR(
        ValidateNir(std::string(nir13) + std::string(nir.substr(13))));
  } else {
    RELAIS_ASSIGN_OR_RETURN(std::string key, NirKey(nir13));
    (void)key;
  }
  std::string input(kSubjectTag);
  input.push_back('\0');
  input.append(nir13);
  return crypto::HmacSha256(subject_key, input);
}

Result<std::string> LoadSubjectKey(const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadSecretFile(path, 4096));
  return ParseSubjectKey(std::move(text), path);
}

Result<std::string> ParseSubjectKey(std::string text,
                                    const std::string& origin) {
  while (!text.empty() &&
         std::isspace(static_cast<unsigned char>(text.back()))) {
    text.pop_back();
  }
  auto key = HexDecode(text);
  if (!key.ok() || key->size() != kSubjectKeySize) {
    return Status::InvalidArgument(origin +
                                   ": a subject key is 64 hex characters");
  }
  return *key;
}

Status WriteSubjectKey(const std::string& path, std::string_view key) {
  return WriteFileAtomic(path, HexEncode(key) + "\n", 0600);
}

Result<std::string> NewSubjectKey() {
  return crypto::RandomBytes(kSubjectKeySize);
}

}  // namespace relais
