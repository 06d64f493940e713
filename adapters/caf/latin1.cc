#include "adapters/caf/latin1.h"

namespace relais::adapters::caf {

Result<std::string> Utf8ToLatin1(std::string_view s, std::string_view field) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < s.size() &&
               (static_cast<uint8_t>(s[i + 1]) & 0xC0) == 0x80) {
      out.push_back(static_cast<char>(((c & 0x03) << 6) | (static_cast<uint8_t>(s[i + 1]) & 0x3F)));
      ++i;
    } else {
      return Status::InvalidArgument("field " + std::string(field) +
                                     ": a character cannot be written in ISO-8859-1");
    }
  }
  return out;
}

std::string Latin1ToUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

Status CheckLatin1Text(std::string_view b) {
  if (b.substr(0, 3) == "\xEF\xBB\xBF") {
    return Status::InvalidArgument("file is UTF-8 (byte order mark), expected ISO-8859-1");
  }
  size_t line = 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const auto c = static_cast<uint8_t>(b[i]);
    if (c == '\n') ++line;
    const bool control = (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F ||
                         (c >= 0x80 && c <= 0x9F);
    // French Latin-1 text almost never has a letter of 0xC2-0xF4 followed
    // by a byte of 0x80-0xBF: that is a UTF-8 lead and continuation byte
    // ("Ã©" is UTF-8 "é", "â‚¬" is "€").
    const bool utf8 = c >= 0xC2 && c <= 0xF4 && i + 1 < b.size() &&
                      static_cast<uint8_t>(b[i + 1]) >= 0x80 &&
                      static_cast<uint8_t>(b[i + 1]) <= 0xBF;
    if (utf8) {
      return Status::InvalidArgument("line " + std::to_string(line) +
                                     ": file is UTF-8, expected ISO-8859-1");
    }
    if (control) {
      return Status::InvalidArgument("line " + std::to_string(line) +
                                     ": control character in a text file");
    }
  }
  return Status::OK();
}

}  // namespace relais::adapters::caf
