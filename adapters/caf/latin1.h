#pragma once

// ISO-8859-1, the encoding of the CAF's batch files.

#include <string>
#include <string_view>

#include "core/status.h"

namespace relais::adapters::caf {

// UTF-8 -> ISO-8859-1. InvalidArgument naming `field` for a character
// outside Latin-1 or invalid UTF-8.
Result<std::string> Utf8ToLatin1(std::string_view utf8, std::string_view field);
// ISO-8859-1 -> UTF-8 (every byte is a character).
std::string Latin1ToUtf8(std::string_view latin1);
// Checks that `bytes` reads as ISO-8859-1 text: no control characters but
// tab, CR and LF, no C1 controls (0x80-0x9F), and no UTF-8: a UTF-8 BOM or
// a multi-byte UTF-8 sequence ("Ã©" for "é") means the file was saved as
// UTF-8. InvalidArgument says which line.
Status CheckLatin1Text(std::string_view bytes);

}  // namespace relais::adapters::caf
