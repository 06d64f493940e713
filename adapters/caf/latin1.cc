#include "adapters/caf/latin1.h"

#include <cstdio>
#include <utility>

namespace relais::adapters::caf {
namespace {

uint8_t Byte(std::string_view s, size_t i) {
  return static_cast<uint8_t>(s[i]);
}

bool InRange(std::string_view s, size_t i, uint8_t lo, uint8_t hi) {
  return i < s.size() && Byte(s, i) >= lo && Byte(s, i) <= hi;
}

std::string CodePointName(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

std::string ByteName(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(b));
  return buf;
}

}  // namespace

bool DecodeUtf8(std::string_view s, size_t pos, uint32_t* code_point,
                size_t* length) {
  if (pos >= s.size()) return false;
  const uint8_t b = Byte(s, pos);
  // Lead byte -> length, first value bits and the range of the second byte
  // (narrower than 80-BF where overlong forms or surrogates must be refused).
  size_t n = 0;
  uint32_t cp = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b < 0x80) {
    n = 1, cp = b;
  } else if (b >= 0xC2 && b <= 0xDF) {
    n = 2, cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3, cp = b & 0x0F;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4, cp = b & 0x07;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return false;  // a continuation byte, C0, C1 or F5-FF
  }
  for (size_t k = 1; k < n; ++k) {
    if (!InRange(s, pos + k, k == 1 ? lo : 0x80, k == 1 ? hi : 0xBF)) {
      return false;
    }
    cp = (cp << 6) | (Byte(s, pos + k) & 0x3F);
  }
  *code_point = cp;
  *length = n;
  return true;
}

Result<std::string> Utf8ToLatin1(std::string_view s, std::string_view field) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t n = 0;
    if (!DecodeUtf8(s, i, &cp, &n)) {
      return Status::InvalidArgument("field " + std::string(field) +
                                     ": not valid UTF-8");
    }
    if (cp > 0xFF) {
      return Status::InvalidArgument("field " + std::string(field) +
                                     ": character " + CodePointName(cp) +
                                     " cannot be written in ISO-8859-1");
    }
    out.push_back(static_cast<char>(cp));
    i += n;
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
  if (b.starts_with("\xEF\xBB\xBF")) {
    return Status::InvalidArgument(
        "line 1: file is UTF-8 (it starts with a byte order mark), expected "
        "ISO-8859-1");
  }
  size_t line = 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const uint8_t c = Byte(b, i);
    if (c == '\n') ++line;
    uint32_t cp = 0;
    size_t n = 0;
    if (c >= 0x80 && DecodeUtf8(b, i, &cp, &n)) {
      return Status::InvalidArgument(
          "line " + std::to_string(line) +
          ": file is UTF-8, expected ISO-8859-1 (bytes " + ByteName(c) + " " +
          ByteName(Byte(b, i + 1)) + " are UTF-8 for " + CodePointName(cp) +
          ")");
    }
    const bool c0 = c < 0x20 && c != '\t' && c != '\r' && c != '\n';
    if (c0 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) {
      return Status::InvalidArgument(
          "line " + std::to_string(line) + ": control character " +
          ByteName(c) +
          (c >= 0x80 ? " (a Windows-1252 file?), expected ISO-8859-1 text"
                     : ", expected ISO-8859-1 text"));
    }
  }
  return Status::OK();
}

void Latin1XmlWriter::Text(std::string_view field, std::string_view utf8) {
  if (!status_.ok()) return;
  auto latin1 = Utf8ToLatin1(utf8, field);
  if (!latin1.ok()) {
    status_ = latin1.status();
    return;
  }
  for (char ch : *latin1) {
    const auto c = static_cast<uint8_t>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
        (c >= 0x7F && c <= 0x9F)) {
      Error(field, "control character " + ByteName(c) +
                       " cannot be written in ISO-8859-1 XML");
      return;
    }
    switch (ch) {
      case '&':
        out_ += "&amp;";
        break;
      case '<':
        out_ += "&lt;";
        break;
      case '>':
        out_ += "&gt;";
        break;
      case '"':
        out_ += "&quot;";
        break;
      default:
        out_.push_back(ch);
    }
  }
}

void Latin1XmlWriter::Attr(std::string_view name, std::string_view field,
                           std::string_view utf8) {
  if (utf8.empty()) return;
  out_ += " " + std::string(name) + "=\"";
  Text(field, utf8);
  out_ += "\"";
}

void Latin1XmlWriter::Element(std::string_view indent, std::string_view tag,
                              std::string_view field, std::string_view utf8) {
  out_ += std::string(indent) + "<" + std::string(tag) + ">";
  Text(field, utf8);
  out_ += "</" + std::string(tag) + ">\n";
}

void Latin1XmlWriter::Error(std::string_view field, const std::string& what) {
  if (status_.ok()) {
    status_ =
        Status::InvalidArgument("field " + std::string(field) + ": " + what);
  }
}

Result<std::string> Latin1XmlWriter::Finish() {
  if (!status_.ok()) return status_;
  return std::move(out_);
}

}  // namespace relais::adapters::caf
