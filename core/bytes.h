#pragma once

// Byte-string helpers. relais keeps owned bytes in std::string (as leveldb
// and RocksDB do) and borrows them as std::string_view.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace relais {

// Lowercase hexadecimal of `bytes`.
std::string HexEncode(std::string_view bytes);
// Inverse of HexEncode (either case); InvalidArgument on odd length or a
// non-hex character.
Result<std::string> HexDecode(std::string_view hex);

// Base64 (RFC 4648, section 4: the standard alphabet, with '=' padding).
std::string Base64Encode(std::string_view bytes);
// Inverse of Base64Encode, strictly: a multiple of 4 characters of the
// alphabet, padding only at the end, no whitespace, and no bits set in the
// padding. InvalidArgument naming the offset of the first wrong character
// (never the character).
Result<std::string> Base64Decode(std::string_view text);

// ZeroMQ's Z85 (RFC 32/Z85): `bytes` must be a multiple of 4 long.
Result<std::string> Z85Encode(std::string_view bytes);
// `text` must be a multiple of 5 long and use the Z85 alphabet.
Result<std::string> Z85Decode(std::string_view text);

// Big-endian fixed-width integers, so that byte order is numeric order.
void PutBigEndian64(std::string* out, uint64_t v);
// Reads 8 bytes at `p`. Precondition: at least 8 readable bytes.
uint64_t GetBigEndian64(const char* p);

inline std::string_view AsStringView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace relais
