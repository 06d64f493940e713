#pragma once

// What every relais program does with its command line (CLI11): a
// --version flag, and usage errors that exit with 2 after CLI11's message,
// never an exception.
//
// Header-only: the programs link CLI11, core does not.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

#ifndef RELAIS_VERSION
#error "RELAIS_VERSION comes from the relais::core target"
#endif

namespace relais {

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
      std::string name = argv[i];
      for (char& c : name) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
      }
      std::fprintf(stderr, "%s: unknown command '%s' (one of: %s)\n",
                   at->get_name().c_str(), name.c_str(), names.c_str());
      return 2;
    }
    at = next;
  }
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
}

}  // namespace relais
