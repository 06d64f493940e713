#pragma once

// TOML files (configuration, key files) parsed with toml++, with errors as
// Status values that name the file, line and column.

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/status.h"

namespace relais {

// InvalidArgument "origin:line:column: what" on a syntax error.
Result<toml::table> ParseToml(const std::string& text,
                              const std::string& origin);
// Reads `path` (at most 4 MiB) and parses it.
Result<toml::table> ParseTomlFile(const std::string& path);

// InvalidArgument "origin:line:column: unknown key 'k' in WHERE (known: a,
// b, ...)" for the first key of `table` that is not in `known`: a typo is
// an error, not a setting silently left at its default.
Status CheckKnownKeys(const toml::table& table,
                      std::initializer_list<std::string_view> known,
                      const std::string& origin, std::string_view where);

// The string at `key`, `fallback` if absent; InvalidArgument
// "origin:line:column: 'key' must be a string" if it is another type.
Result<std::string> StringAt(const toml::table& table, std::string_view key,
                             const std::string& fallback,
                             const std::string& origin);
// The integer at `key` within [min, max], `fallback` if absent;
// InvalidArgument naming the key, the range and the place otherwise.
Result<int64_t> IntegerAt(const toml::table& table, std::string_view key,
                          int64_t fallback, int64_t min, int64_t max,
                          const std::string& origin);

}  // namespace relais
