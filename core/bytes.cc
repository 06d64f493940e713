#include "core/bytes.h"

#include <array>

namespace relais {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kZ85[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&"
    "<>()[]{}@%$#";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const std::array<int, 256>& Z85Values() {
  static const std::array<int, 256> table = [] {
    std::array<int, 256> t;
    t.fill(-1);
    for (int i = 0; i < 85; ++i) t[static_cast<uint8_t>(kZ85[i])] = i;
    return t;
  }();
  return table;
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Status::InvalidArgument("hex string has an odd length");
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("not a hex string");
    }
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

namespace {
constexpr char kBase64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = uint32_t{static_cast<uint8_t>(bytes[i])} << 16 |
                       uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8 |
                       static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kBase64[v >> 18 & 63]);
    out.push_back(kBase64[v >> 12 & 63]);
    out.push_back(kBase64[v >> 6 & 63]);
    out.push_back(kBase64[v & 63]);
  }
  const size_t left = bytes.size() - i;
  if (left > 0) {
    uint32_t v = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    if (left == 2) v |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
    out.push_back(kBase64[v >> 18 & 63]);
    out.push_back(kBase64[v >> 12 & 63]);
    out.push_back(left == 2 ? kBase64[v >> 6 & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument(
        "base64 text is not a multiple of 4 characters long");
  }
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text.ends_with("==") ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const size_t at = i + k;
      const bool padding = at >= text.size() - pad;
      const int d = padding ? 0 : Base64Value(text[at]);
      if (d < 0 || (padding && text[at] != '=')) {
        return Status::InvalidArgument("base64 text has a wrong character at " +
                                       std::to_string(at));
      }
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>(v >> 8 & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
  }
  if (pad > 0) {
    // The padded group's unused bits must be zero (one text, one meaning).
    const uint32_t unused = pad == 2 ? static_cast<uint8_t>(out[out.size() - 2])
                                     : static_cast<uint8_t>(out.back());
    if (unused != 0) {
      return Status::InvalidArgument(
          "base64 text has bits set in its padding at " +
          std::to_string(text.size() - pad - 1));
    }
    out.resize(out.size() - pad);
  }
  return out;
}

Result<std::string> Z85Encode(std::string_view bytes) {
  if (bytes.size() % 4 != 0) {
    return Status::InvalidArgument("Z85 input length is not a multiple of 4");
  }
  std::string out;
  out.reserve(bytes.size() / 4 * 5);
  for (size_t i = 0; i < bytes.size(); i += 4) {
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      v = v << 8 | static_cast<uint8_t>(bytes[i + j]);
    }
    char chunk[5];
    for (int j = 4; j >= 0; --j) {
      chunk[j] = kZ85[v % 85];
      v /= 85;
    }
    out.append(chunk, 5);
  }
  return out;
}

Result<std::string> Z85Decode(std::string_view text) {
  if (text.size() % 5 != 0) {
    return Status::InvalidArgument("Z85 text length is not a multiple of 5");
  }
  const auto& values = Z85Values();
  std::string out;
  out.reserve(text.size() / 5 * 4);
  for (size_t i = 0; i < text.size(); i += 5) {
    uint64_t v = 0;
    for (size_t j = 0; j < 5; ++j) {
      const int d = values[static_cast<uint8_t>(text[i + j])];
      if (d < 0) return Status::InvalidArgument("not a Z85 string");
      v = v * 85 + static_cast<uint64_t>(d);
    }
    if (v > 0xffffffffULL) return Status::InvalidArgument("Z85 value overflow");
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  }
  return out;
}

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace relais
