#include "core/text.h"

#include <algorithm>
#include <cstdio>

namespace relais {
namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if it is not
// well-formed there.
size_t SequenceAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) {
    return static_cast<unsigned char>(text[i + k]);
  };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // no overlong forms
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return n;
}

// A C0 or C1 control character at text[i] (a valid sequence of length n).
bool IsControl(std::string_view text, size_t i, size_t n) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (n == 1) return c < 0x20 || c == 0x7F;
  // U+0080..U+009F are C2 80..C2 9F.
  return n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
}

// The code point of the valid 2- or 3-byte sequence at text[i], if it
// reorders or breaks what a terminal or an editor shows: the bidirectional
// marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
// U+202A..U+202E, U+2066..U+2069) and the line and paragraph separators
// (U+2028, U+2029); else 0.
char32_t DisplayControlAt(std::string_view text, size_t i, size_t n) {
  const auto b = [&](size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[i + k]));
  };
  char32_t cp = 0;
  if (n == 2) cp = ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  if (n == 3) cp = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  const bool shown_elsewhere = cp == 0x061C || cp == 0x200E || cp == 0x200F ||
                               (cp >= 0x2028 && cp <= 0x202E) ||
                               (cp >= 0x2066 && cp <= 0x2069);
  return shown_elsewhere ? cp : 0;
}

}  // namespace

size_t InvalidUtf8At(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceAt(text, i);
    if (n == 0) return i;
    i += n;
  }
  return text.size();
}

bool IsDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
}

bool IsCleanText(std::string_view text, bool allow_newlines) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceAt(text, i);
    if (n == 0) return false;
    if (IsControl(text, i, n)) {
      const char c = text[i];
      if (!allow_newlines || (c != '\n' && c != '\r' && c != '\t')) {
        return false;
      }
    }
    i += n;
  }
  return true;
}

bool ShownAsIs(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceAt(text, i);
    if (n == 0 || IsControl(text, i, n) || DisplayControlAt(text, i, n) != 0) {
      return false;
    }
    i += n;
  }
  return true;
}

Status CheckWireText(std::string_view field, std::string_view text,
                     size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Status::Rejected(wire::RejectCode::MalformedFrame,
                            std::string(field) + ": " +
                                std::to_string(text.size()) +
                                " bytes, at most " + std::to_string(max_bytes));
  }
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceAt(text, i);
    if (n == 0) {
      return Status::Rejected(
          wire::RejectCode::MalformedFrame,
          std::string(field) + ": not UTF-8 at byte " + std::to_string(i));
    }
    if (IsControl(text, i, n)) {
      return Status::Rejected(wire::RejectCode::MalformedFrame,
                              std::string(field) +
                                  ": a control character at byte " +
                                  std::to_string(i));
    }
    i += n;
  }
  return Status::OK();
}

std::string Escaped(std::string_view text, size_t max_bytes) {
  std::string out;
  const size_t end = text.size() < max_bytes ? text.size() : max_bytes;
  out.reserve(end);
  for (size_t i = 0; i < end;) {
    size_t n = SequenceAt(text, i);
    if (n > end - i) n = 0;  // cut by the limit: shown as bytes
    const char c = text[i];
    if (n == 1 && c == '\\') {
      out += "\\\\";
    } else if (n == 1 && c == '\n') {
      out += "\\n";
    } else if (n == 1 && c == '\r') {
      out += "\\r";
    } else if (n == 1 && c == '\t') {
      out += "\\t";
    } else if (n == 0 || IsControl(text, i, n)) {
      const size_t count = n == 0 ? 1 : n;
      for (size_t k = 0; k < count; ++k) {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "\\x%02X",
                      static_cast<unsigned char>(text[i + k]));
        out += hex;
      }
      i += count;
      continue;
    } else if (const char32_t cp = DisplayControlAt(text, i, n); cp != 0) {
      char hex[12];
      std::snprintf(hex, sizeof(hex), "\\u%04X", static_cast<unsigned>(cp));
      out += hex;
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  if (end < text.size()) out += "...";
  return out;
}

std::string CleanText(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceAt(text, i);
    std::string_view piece = text.substr(i, n);
    if (n == 0) {
      piece = "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
    } else if (IsControl(text, i, n)) {
      piece = " ";
    }
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

}  // namespace relais
