// relaisd: the relais broker. Parses flags and configuration, then hands
// over to relais::broker::Broker.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/journal/rocksdb_support.h"
#include "core/command_line.h"
#include "core/files.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/metrics_http.h"
#include "core/pid_lock.h"
#include "core/stop_signals.h"

namespace {

// The broker, once its journal can open: a full disk at start is waited
// out, not a reason to exit (relaisd says why once and tries again every
// second). Null if a stop came first.
relais::Result<std::unique_ptr<relais::broker::Broker>> StartWhenSpace(
    const relais::broker::BrokerConfig& config, relais::StopSignals& stop) {
  auto broker = relais::broker::Broker::Start(config);
  for (bool said = false;
       !broker.ok() && broker.status().code() == relais::Status::Code::kNoSpace;
       broker = relais::broker::Broker::Start(config)) {
    if (!said) {
      auto free = relais::FreeBytes(config.journal_dir);
      spdlog::error(
          "cannot start: {}. {} free in {}; relaisd needs about {} there "
          "to open its journal. Waiting: it starts by itself once space is "
          "freed (SIGTERM to give up)",
          broker.status().ToString(),
          free.ok() ? relais::HumanBytes(*free) : std::string("nothing"),
          config.journal_dir,
          relais::HumanBytes(
              relais::broker::journal::SpaceToOpen(config.journal_dir)));
      said = true;
    }
    for (int waited = 0; waited < 1000 && !stop.requested(); waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (stop.requested()) return std::unique_ptr<relais::broker::Broker>();
  }
  return broker;
}

// What the command line overrides, and the log it asks for.
struct Flags {
  std::string config_path, log_level, log_format, listen;
};

// Applies `f` to `config` and sets up the log: 0, or the exit code (2).
int ApplyFlags(const Flags& f, relais::broker::BrokerConfig* config) {
  if (!f.listen.empty()) {
    if (relais::Status st =
            relais::CheckTcpEndpoint(f.listen, true, "--listen");
        !st.ok()) {
      spdlog::critical("{}", st.message());
      return 2;
    }
    config->listen = f.listen;
  }
  if (!f.log_format.empty()) {
    if (relais::Status st = relais::CheckLogFormat(f.log_format); !st.ok()) {
      spdlog::critical("--log-format: {}", st.message());
      return 2;
    }
  }
  if (relais::Status st = relais::SetUpLog(
          "relaisd", f.log_level.empty() ? config->log_level : f.log_level,
          f.log_format.empty() ? config->log_format : f.log_format);
      !st.ok()) {
    spdlog::critical(
        "{}{}", f.log_level.empty() ? f.config_path + ": " : "--log-level: ",
        st.message());
    return 2;
  }
  return 0;
}

// Logs why relaisd cannot start; its exit code. What the configuration
// names wrongly (a route to an unknown participant, a missing or wrong key
// file) is 2: the systemd unit does not restart it
// (RestartPreventExitStatus=2). Anything else (the journal, the disk, a
// port) is 1.
int CannotStart(const relais::Status& why) {
  spdlog::critical("cannot start: {}", why.message());
  return why.code() == relais::Status::Code::kInvalidArgument ||
                 why.code() == relais::Status::Code::kNotFound
             ? 2
             : 1;
}

// An override given empty would silently be the file's value: 2 if one
// is, else 0.
int RefuseEmptyOverrides(const CLI::App& app) {
  for (const char* flag : {"--log-level", "--log-format", "--listen"}) {
    if (app.count(flag) > 0 && app[flag]->as<std::string>().empty()) {
      spdlog::critical("{} is empty: give a value, or leave it out", flag);
      return 2;
    }
  }
  return 0;
}

}  // namespace

static int RunRelaisd(int argc, char** argv) {
  // Before any thread: a SIGTERM that comes while the journal opens is kept
  // and stops the broker cleanly as soon as it runs.
  relais::StopSignals& stop = relais::StopSignals::Install();
  CLI::App app{"relaisd: the relais broker (signed case messages, journaled)",
               "relaisd"};
  std::string config_path;
  std::string log_level;
  std::string listen;
  app.add_option("--config", config_path, "TOML configuration file")
      ->required();
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error (overrides the config)");
  std::string log_format;
  app.add_option("--log-format", log_format,
                 "text or json: JSON lines (overrides the config)");
  app.add_option("--listen", listen,
                 "ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:7400 "
                 "(overrides [broker] listen)");
  relais::AddVersionFlag(app);
  if (auto rc = relais::ParseCommandLine(app, argc, argv)) return *rc;
  if (int rc = RefuseEmptyOverrides(app)) return rc;

  auto config = relais::broker::LoadBrokerConfig(config_path);
  if (!config.ok()) {
    spdlog::critical("{}", config.status().message());
    return 2;
  }
  if (int rc =
          ApplyFlags({config_path, log_level, log_format, listen}, &*config)) {
    return rc;
  }
  // A write past the file size limit (RLIMIT_FSIZE) raises SIGXFSZ, whose
  // default action kills the process. Ignored, the write fails with EFBIG
  // instead, like any other write error: the journal refuses new messages
  // and recovers once it can write again, and relaisd stays up.
  std::signal(SIGXFSZ, SIG_IGN);
  // One relaisd per journal; a full disk must not stop the start (the
  // journal's own wait below says why).
  auto lock =
      relais::PidLock::Acquire(config->journal_dir, "relaisd.pid", "relaisd");
  if (!lock.ok() &&
      lock.status().code() == relais::Status::Code::kUnavailable) {
    spdlog::critical("{}", lock.status().message());
    return 2;
  }
  if (!lock.ok()) {
    spdlog::warn("{}: a second relaisd on this journal would not be told",
                 lock.status().message());
  }
  auto broker = StartWhenSpace(*config, stop);
  if (broker.ok() && *broker == nullptr) {
    spdlog::info("stopped while waiting for disk space");
    return 0;
  }
  if (!broker.ok()) return CannotStart(broker.status());
  relais::broker::Broker* b = broker->get();
  relais::metrics::MetricsServer metrics;
  if (!config->metrics_listen.empty()) {
    relais::Status started = metrics.Start(
        "[broker] metrics_listen", config->metrics_listen,
        [b] { return b->RenderMetrics(); }, config->metrics_endpoint_file);
    if (!started.ok()) {
      spdlog::critical("cannot start: {}", started.message());
      return 1;
    }
    spdlog::info("metrics on {}", metrics.url());
  }
  stop.OnStop([b] { b->RequestStop(); });
  relais::Status st = b->Run();
  stop.Clear();
  metrics.Stop();
  if (!st.ok()) {
    spdlog::critical("{}", st.ToString());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}

int main(int argc, char** argv) {
  try {
    return RunRelaisd(argc, argv);
  } catch (const std::exception& e) {
    // Nothing of relais throws; a library's exception ends here, logged.
    spdlog::critical("stopped by an unexpected error: {}", e.what());
    return 1;
  }
}
