#pragma once

// Subject references: the keyed pseudonym of a citizen that travels in
// Header.subject_ref instead of the NIR (docs/PROTOCOL.md 4.6).
//
//   subject_ref = HMAC-SHA256(subject key,
//                             "relais-subject-v1" || 0x00 || NIR13)
//
// where NIR13 is the NIR's first 13 characters, upper case. Every
// participant holds the same 32-byte subject key, so the same citizen gets
// the same reference everywhere, and the reference reveals nothing without
// the key.

#include <string>
#include <string_view>

#include "core/status.h"

namespace relais {

inline constexpr std::string_view kSubjectTag = "relais-subject-v1";
inline constexpr size_t kSubjectKeySize = 32;

// `nir` is 13 characters or 15 with a valid key; InvalidArgument otherwise.
Result<std::string> SubjectRef(std::string_view subject_key,
                               std::string_view nir);

// The key file holds 64 hex characters (and optional trailing white space).
// Reads `path` (at most 4 KiB) and parses it with ParseSubjectKey.
Result<std::string> LoadSubjectKey(const std::string& path);
// The 32-byte key of a key file's `text`; InvalidArgument "<origin>: a
// subject key is 64 hex characters" otherwise.
Result<std::string> ParseSubjectKey(std::string text,
                                    const std::string& origin);
Status WriteSubjectKey(const std::string& path, std::string_view key);
Result<std::string> NewSubjectKey();

}  // namespace relais
