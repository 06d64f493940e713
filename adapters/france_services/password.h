#pragma once

// Agents' passwords, stored as scrypt hashes (RFC 7914, OpenSSL 3's
// EVP_KDF "SCRYPT"). A stored hash reads
//
//   $scrypt$ln=15,r=8,p=1$<salt: 32 hex digits>$<key: 64 hex digits>
//
// (cost N = 2^ln, block size r, parallelism p; a 16-byte random salt, or
// 4 to 64 bytes in a hash made elsewhere; a 32-byte derived key). The
// default cost takes 32 MiB and about 0.15 s per check on one core: slow
// enough against guessing a stolen file, quick enough for a sign-in.
//
// Thread-safety: every function may be called from several threads.

#include <string>
#include <string_view>

#include "core/status.h"

namespace relais::console {

struct ScryptCost {
  int log2_n = 15;  // Default: 15 (N = 32768). Accepted: 10 to 20.
  int r = 8;        // Default: 8. Accepted: 1 to 32.
  int p = 1;        // Default: 1. Accepted: 1 to 16.
  // And 128 * r * N bytes of memory at most 1 GiB.
};

// What a new password must be: 12 to 256 bytes, of UTF-8 text without
// control characters. InvalidArgument says which rule it breaks (never
// the password).
Status CheckNewPassword(std::string_view password);

// A new stored hash of `password` under a fresh random salt. Internal if
// OpenSSL fails; InvalidArgument if `cost` is outside the accepted ranges.
Result<std::string> HashPassword(std::string_view password,
                                 const ScryptCost& cost = {});

// Corruption if `stored` is not a hash in the form above.
Status CheckStoredHash(std::string_view stored);

// Whether `password` matches `stored` (compared in constant time).
// Corruption if `stored` is not a hash in the form above.
Result<bool> VerifyPassword(std::string_view password, std::string_view stored);

}  // namespace relais::console
