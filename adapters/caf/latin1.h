#pragma once

// ISO-8859-1 (Latin-1), the encoding of the CAF's batch files, and the
// UTF-8 that relais carries. Every function is pure and thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace relais::adapters::caf {

// Decodes the UTF-8 sequence starting at s[pos] (RFC 3629: no overlong
// forms, no surrogates, at most U+10FFFF). On success sets *code_point and
// *length (1 to 4) and returns true; returns false for a byte that does not
// start a complete, valid sequence there.
bool DecodeUtf8(std::string_view s, size_t pos, uint32_t* code_point,
                size_t* length);

// UTF-8 -> ISO-8859-1. InvalidArgument "field <field>: character U+20AC
// cannot be written in ISO-8859-1" for a character above U+00FF, or
// "field <field>: not valid UTF-8".
Result<std::string> Utf8ToLatin1(std::string_view utf8, std::string_view field);

// ISO-8859-1 -> UTF-8 (every byte is one character; never fails).
std::string Latin1ToUtf8(std::string_view latin1);

// Checks that `bytes` reads as ISO-8859-1 text. A Latin-1 file cannot be
// told from a UTF-8 one byte by byte (every byte is a Latin-1 character),
// so this is a heuristic; it rejects, with InvalidArgument "line N: ...":
//   - a UTF-8 byte order mark (EF BB BF) at the start;
//   - a complete, valid multi-byte UTF-8 sequence anywhere ("Ã©", bytes
//     C3 A9, is how UTF-8 "é" reads in Latin-1): "file is UTF-8, expected
//     ISO-8859-1". French Latin-1 text practically never holds a capital
//     accented letter (C2-DF) followed by a symbol (A0-BF), or a small one
//     (E0-EF) followed by two symbols, which is what such sequences would be;
//   - control characters other than tab, CR and LF: C0 (00-1F), DEL (7F)
//     and C1 (80-9F, where a Windows-1252 file has "€", "œ", "’"...).
Status CheckLatin1Text(std::string_view bytes);

// Builds an ISO-8859-1 XML document from UTF-8 values. Values are converted
// and escaped; the first one that cannot be written (a character outside
// Latin-1, a control character XML or Latin-1 text does not allow, bytes
// that are not UTF-8) becomes the error of Finish(), "field <field>: ...",
// and later values are dropped. Not thread-safe; one document per object.
class Latin1XmlWriter {
 public:
  // Appends `ascii` as is (markup the caller wrote).
  void Raw(std::string_view ascii) { out_ += ascii; }
  // Appends the escaped value of `field` (&, <, >, " become entities).
  void Text(std::string_view field, std::string_view utf8);
  // Appends ` name="value"`; nothing for an empty value.
  void Attr(std::string_view name, std::string_view field,
            std::string_view utf8);
  // Appends `<indent><tag>value</tag>` and a newline.
  void Element(std::string_view indent, std::string_view tag,
               std::string_view field, std::string_view utf8);
  // Records InvalidArgument "field <field>: <what>" unless an error is
  // already recorded.
  void Error(std::string_view field, const std::string& what);
  // The document, or the first error. Call once.
  Result<std::string> Finish();

 private:
  std::string out_;
  Status status_;
};

}  // namespace relais::adapters::caf
