#pragma once

// The log of every relais program: stderr (journald under systemd), one
// event per line whatever a sender typed, and a level chosen by name.
//
// Thread-safety: SetUpLog once in main, before other threads log.

#include <spdlog/common.h>

#include <string>

#include "core/status.h"

namespace relais {

// The level named `name`: trace, debug, info, warn (or warning), error,
// critical, off. InvalidArgument naming the valid ones otherwise (spdlog's
// own parser would turn a typo into "off" without a word).
Result<spdlog::level::level_enum> ParseLogLevel(const std::string& name);

// Logs to stderr at `level` (ParseLogLevel), one line per event, in
// `format`:
//   "text"  <local time> <level> <program>: <message>
//   "json"  {"time": "<UTC, RFC 3339, ms>", "level": "<level>",
//            "program": "<program>", "message": "<message>"} (JSON lines,
//           for journald's or a collector's parsers)
// Every message is escaped on its way out (core/text.h Escaped: a newline
// becomes \n, control characters and invalid UTF-8 \xNN), so that nothing
// in it can start a line of its own. InvalidArgument for an unknown level
// or format; the log is then unchanged.
Status SetUpLog(const std::string& program, const std::string& level,
                const std::string& format = "text");

// OK for "text" and "json"; InvalidArgument naming them otherwise.
Status CheckLogFormat(const std::string& format);

}  // namespace relais
