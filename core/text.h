#pragma once

// Text that comes from outside (a participant's frame, a partner's file, a
// command line): checked before it is kept or repeated, and escaped before
// it is logged or echoed, so that one event is one log line and nothing a
// sender types can forge another.
//
// Thread-safety: pure functions.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace relais {

// The offset of the first byte of `text` that is not part of well-formed
// UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF); text.size() if it is all valid.
size_t InvalidUtf8At(std::string_view text);

// Whether `text` is one or more ASCII digits, nothing else.
bool IsDigits(std::string_view text);

// Whether `text` is valid UTF-8 without control characters (U+0000 to
// U+001F and U+007F to U+009F; with `allow_newlines`, LF, CR and TAB are
// allowed).
bool IsCleanText(std::string_view text, bool allow_newlines = false);

// Whether Escaped would show `text` as it is but for its backslashes:
// valid UTF-8, no control character, nothing that reorders or breaks a
// line (see Escaped). What a log line checks before it escapes.
bool ShownAsIs(std::string_view text);

// Checks a text field a participant sent: OK if it is valid UTF-8, holds no
// control character and is at most `max_bytes` long; else
// Rejected(MalformedFrame) naming `field` and the byte offset, never the
// bytes themselves.
Status CheckWireText(std::string_view field, std::string_view text,
                     size_t max_bytes);

// `text` made safe for one log line or an echo: printable ASCII and valid
// UTF-8 kept; \n, \r, \t as those two-character escapes; a backslash
// doubled; any other control character or invalid byte as \xNN; the
// characters that reorder or break a line as it is shown (bidirectional
// marks, embeddings, overrides and isolates; U+2028, U+2029) as \uNNNN,
// so that "invoice\u202Efdp.exe" cannot pass for another name. At most
// `max_bytes` of `text` are shown, then "..." (the escaped form may be up to
// four times longer).
std::string Escaped(std::string_view text, size_t max_bytes = 256);

// `text` made fit for a wire text field (CheckWireText): each control
// character becomes a space, each byte that is not UTF-8 U+FFFD, and the
// result is cut at a character boundary to at most `max_bytes`. For text
// this side writes (a handler's reason) and must not lose.
std::string CleanText(std::string_view text, size_t max_bytes);

}  // namespace relais
