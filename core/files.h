#pragma once

// Whole-file reads and crash-safe writes.

#include <string>
#include <string_view>

#include "core/status.h"

namespace relais {

// Reads the whole file. NotFound if it does not exist; InvalidArgument if it
// is larger than `max_bytes`; IOError otherwise.
Result<std::string> ReadFile(const std::string& path,
                             size_t max_bytes = 64 << 20);
// Writes `contents` to a temporary file beside `path`, fsyncs it, renames it
// over `path` and fsyncs the directory: a reader sees the old file or the
// whole new one, never half of it, and the new one survives a crash once
// this returns OK. `mode` is the new file's permission bits.
Status WriteFileAtomic(const std::string& path, std::string_view contents,
                       unsigned mode = 0644);

// Writes, syncs and removes a 4 KiB file in `dir`: OK if the disk takes
// writes there, else IOError with the system's reason (e.g. before
// reopening a database after a failed write).
Status ProbeWrite(const std::string& dir);

}  // namespace relais
