#pragma once

// TOML files (configuration, key files) parsed with toml++, with errors as
// Status values that name the file, line and column.

#include <toml++/toml.h>

#include <string>

#include "core/status.h"

namespace relais {

// InvalidArgument "origin:line:column: what" on a syntax error.
Result<toml::table> ParseToml(const std::string& text,
                              const std::string& origin);
// Reads `path` (at most 4 MiB) and parses it.
Result<toml::table> ParseTomlFile(const std::string& path);

}  // namespace relais
