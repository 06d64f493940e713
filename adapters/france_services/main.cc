// relais-console: the France services agents' console. `serve` runs its
// API (console_server.h) and its cases (case_desk.h); `agent
// add|passwd|disable|enable|list` edits its agents (agent_commands.h).
// Parses flags and hands over.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>

#include "adapters/france_services/agent_commands.h"
#include "adapters/france_services/case_desk.h"
#include "adapters/france_services/case_index.h"
#include "adapters/france_services/console_server.h"
#include "adapters/sdk/client_config.h"
#include "adapters/sdk/client_metrics.h"
#include "core/command_line.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/metrics_http.h"
#include "core/stop_signals.h"

namespace {

using relais::Status;

// What `serve` runs, in the order it starts (and the reverse it stops):
// the case index, the site's SDK client (its session receives the status
// reports), the desk that opens cases through it, the HTTP server.
struct Console {
  std::unique_ptr<relais::console::CaseIndex> index;
  std::unique_ptr<relais::sdk::Client> client;
  std::unique_ptr<relais::console::CaseDesk> desk;
  std::unique_ptr<relais::console::ConsoleServer> server;
  relais::metrics::MetricsServer metrics;
};

// InvalidArgument for what the configuration names wrongly.
Status StartConsole(const relais::console::ConsoleConfig& config, Console* c) {
  auto participant =
      relais::sdk::LoadParticipantConfig(config.participant_file);
  if (!participant.ok()) {  // a wrong file is the configuration's mistake
    return participant.status().code() == Status::Code::kUnavailable
               ? participant.status()
               : Status::InvalidArgument(participant.status().message());
  }
  // An agency's file would take over that agency's session and refuse its
  // deliveries (a console takes status reports only).
  const std::string& site = participant->client.identity.participant;
  if (relais::IsAgency(site)) {
    return Status::InvalidArgument(
        relais::Escaped(config.participant_file) +
        " is the participant file of the agency '" + site +
        "'; [console] participant must be the France services site's own "
        "(e.g. france-services/paris-15)");
  }
  RELAIS_ASSIGN_OR_RETURN(
      c->index, relais::console::CaseIndex::Open(
                    config.cases_dir,
                    std::chrono::hours(24 * config.case_retention_days)));
  relais::sdk::ClientOptions options = participant->client;
  options.software = "relais-console/" RELAIS_VERSION;
  if (options.state_dir.empty()) {
    options.state_dir =
        relais::sdk::ResolvePath(participant->base_dir, "state");
  }
  relais::console::CaseIndex* index = c->index.get();
  RELAIS_ASSIGN_OR_RETURN(
      c->client, relais::sdk::Client::Start(
                     std::move(options), [index](const auto& delivery) {
                       return relais::console::RecordReport(*index, delivery);
                     }));
  relais::console::DeskOptions desk;
  desk.site = participant->client.identity.participant;
  desk.subject_key = participant->subject_key;
  desk.ttl = std::chrono::hours(24 * config.case_ttl_days);
  c->desk = std::make_unique<relais::console::CaseDesk>(desk, c->client.get(),
                                                        c->index.get());
  RELAIS_ASSIGN_OR_RETURN(
      c->server, relais::console::ConsoleServer::Start(config, c->desk.get()));
  if (!config.metrics_listen.empty()) {
    RELAIS_RETURN_IF_ERROR(c->metrics.Start(
        "[console] metrics_listen", config.metrics_listen,
        [c, site = desk.site] {
          relais::metrics::TextWriter w;
          c->server->WriteMetrics(w);
          relais::sdk::WriteClientMetrics(w, site, c->client.get());
          relais::metrics::WriteProcessMetrics(w);
          return w.Take();
        },
        config.metrics_endpoint_file));
    spdlog::info("metrics on {}", c->metrics.url());
  }
  spdlog::info("console: site {}, cases in {}", desk.site, config.cases_dir);
  return Status::OK();
}

// web/ beside the executable's folder (build/bin/../web in a build).
std::string DefaultWebDir() {
  std::error_code ec;
  const std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "web";
  return (exe.parent_path().parent_path() / "web").string();
}

// Serves until SIGINT or SIGTERM. 0 after a stop; 2 for a configuration
// the console cannot serve; 1 if it cannot start otherwise.
int Serve(const std::string& config_path, const std::string& log_format) {
  auto& signals = relais::StopSignals::Install();
  if (Status st = relais::CheckLogFormat(log_format); !st.ok()) {
    std::fprintf(stderr, "relais-console: --log-format: %s\n",
                 st.message().c_str());
    return 2;
  }
  if (!relais::SetUpLog("relais-console", "info", log_format).ok()) return 1;
  auto config = relais::console::LoadConsoleConfig(config_path);
  if (!config.ok()) {
    spdlog::critical("cannot start: {}", config.status().message());
    return 2;
  }
  if (config->web_dir.empty()) config->web_dir = DefaultWebDir();
  Console console;
  if (Status st = StartConsole(*config, &console); !st.ok()) {
    spdlog::critical("cannot start: {}", st.message());
    return st.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  signals.OnStop([&] {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return stop; });
  }
  signals.Clear();
  console.metrics.Stop();
  console.server->Stop();
  console.client->Stop();
  spdlog::info("stopped");
  return 0;
}

int Run(int argc, char** argv) {
  CLI::App app{"relais-console: the France services agents' console",
               "relais-console"};
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success (serve: stopped by SIGINT or SIGTERM); 1 the "
      "agents file could not be read or written, or the console could not "
      "start; 2 bad usage, configuration or input (nothing was changed).");
  relais::AddVersionFlag(app);

  std::string config;
  auto* serve = app.add_subcommand("serve", "serve the console's API");
  serve->add_option("--config", config, "console.toml (docs/CONSOLE.md)")
      ->required();
  std::string log_format = "text";
  serve->add_option("--log-format", log_format, "text, or json (JSON lines)");

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
  if (serve->parsed()) return Serve(config, log_format);
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
