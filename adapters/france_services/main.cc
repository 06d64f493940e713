// relais-console: the France services agents' console. For now its
// accounts: `relais-console agent add|passwd|disable|enable|list`
// (agent_commands.h). Parses flags and hands over.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "adapters/france_services/agent_commands.h"
#include "core/command_line.h"

namespace {

int Run(int argc, char** argv) {
  CLI::App app{"relais-console: the France services agents' console",
               "relais-console"};
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success; 1 the agents file could not be read or "
      "written; 2 bad usage or input (nothing was changed).");
  relais::AddVersionFlag(app);

  relais::console::AgentArgs args;
  auto* agent = app.add_subcommand("agent", "the agents who may sign in");
  agent->require_subcommand(1);
  struct Action {
    const char* name;
    const char* help;
  };
  static constexpr Action kActions[] = {
      {"add", "add an agent (asks for the password, or --password-stdin)"},
      {"passwd", "set an agent's password"},
      {"disable", "refuse an agent's sign-ins (the agent stays in trails)"},
      {"enable", "accept an agent's sign-ins again"},
      {"list", "the agents, without their password hashes"}};
  std::vector<CLI::App*> actions;
  for (const auto& [name, help] : kActions) {
    auto* c = agent->add_subcommand(name, help);
    c->add_option("--agents", args.agents_file,
                  "the agents file (JSON; created by the first add)")
        ->required();
    const std::string_view n = name;
    if (n == "list") {
      c->add_flag("--json", args.json, "print JSON");
    } else {
      c->add_option("--login", args.login, "the agent's login, e.g. a.martin")
          ->required();
    }
    if (n == "add") {
      c->add_option("--name", args.name, "the agent's name, as trails show it")
          ->required();
      c->add_option("--site", args.site,
                    "the desk's participant id, e.g. france-services/paris-15")
          ->required();
    }
    if (n == "add" || n == "passwd") {
      c->add_flag("--password-stdin", args.password_stdin,
                  "read the password from the first line of standard input");
    }
    actions.push_back(c);
  }

  if (auto rc = relais::ParseCommandLine(app, argc, argv)) return *rc;
  for (auto* c : actions) {
    if (c->parsed()) {
      args.action = c->get_name();
      return relais::console::AgentCommand(args);
    }
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    // A bug: say so instead of aborting.
    std::fprintf(stderr,
                 "relais-console: internal error (%s); please report it\n",
                 e.what());
    return 1;
  }
}
