#pragma once

// What every relais program does with its command line (CLI11): a
// --version flag, and usage errors that exit with 2 after CLI11's message,
// never an exception.
//
// Header-only: the programs link CLI11, core does not.

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/text.h"

#ifndef RELAIS_VERSION
#error "RELAIS_VERSION comes from the relais::core target"
#endif

namespace relais {

// A number that is finite: CLI::Range alone lets "nan" through (every
// comparison with NaN is false). Check it before the Range.
inline const CLI::Validator kFiniteNumber(
    [](std::string& text) -> std::string {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || !std::isfinite(v)) {
        return "must be a finite number";
      }
      return {};
    },
    "");

// A whole number, 0 or more, written in digits: CLI11 reads "-1" into an
// unsigned option as 2^64 - 1.
inline const CLI::Validator kWholeNumber(
    [](std::string& text) -> std::string {
      if (text.empty() || text.size() > 20 ||
          text.find_first_not_of("0123456789") != std::string::npos) {
        return "must be a whole number, 0 or more";
      }
      return {};
    },
    "");

// A whole number from `lo` to `hi`, written in digits. CLI::Range alone
// checks the text before it is read as a number, so "abc" would be "not
// in range", and an unsigned option reads "-1" as 2^64 - 1.
inline CLI::Validator WholeNumberIn(uint64_t lo, uint64_t hi) {
  const std::string what = "must be a whole number from " + std::to_string(lo) +
                           " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, what](std::string& text) -> std::string {
        if (text.empty() || text.size() > 20 ||
            text.find_first_not_of("0123456789") != std::string::npos) {
          return std::string(what);
        }
        errno = 0;
        const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
        if (errno == ERANGE || v < lo || v > hi) return std::string(what);
        return {};
      },
      "INT in [" + std::to_string(lo) + " - " + std::to_string(hi) + "]");
}

// Adds --version ("<program> <version>").
inline void AddVersionFlag(CLI::App& app) {
  app.set_version_flag("--version",
                       std::string(app.get_name()) + " " RELAIS_VERSION);
}

// Parses argv. nullopt: go on; otherwise the exit code: 0 after --help or
// --version, 2 after a usage error (CLI11's message and the --help hint on
// stderr).
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc,
                                           char** argv) {
  // CLI11 answers a mistyped subcommand with "A subcommand is required":
  // name it, and the ones there are.
  CLI::App* at = &app;
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    auto subs = at->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) break;
    CLI::App* next = nullptr;
    std::string names;
    for (CLI::App* s : subs) {
      if (s->check_name(argv[i])) next = s;
      names += (names.empty() ? "" : ", ") + s->get_name();
    }
    if (next == nullptr) {
      std::fprintf(stderr, "%s: unknown command '%s' (one of: %s)\n",
                   at->get_name().c_str(), Escaped(argv[i], 80).c_str(),
                   names.c_str());
      return 2;
    }
    at = next;
  }
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e) == 0 ? 0 : 2;  // --help
    // CLI11's message repeats what was typed: escaped, and cut short.
    std::fprintf(stderr, "%s\nRun with --help for more information.\n",
                 Escaped(e.what(), 300).c_str());
    return 2;
  }
}

}  // namespace relais
