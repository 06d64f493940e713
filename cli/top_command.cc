// relais top: fetches relaisd's /metrics every interval and redraws
// RenderTop (top.h) in place until Ctrl-C (or --iterations).

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "cli/commands.h"
#include "cli/top.h"
#include "core/metrics.h"
#include "core/stop_signals.h"
#include "core/text.h"

namespace relais::cli {
namespace {

// "http://HOST:PORT/PATH" split into the server and the path.
Result<std::pair<std::string, std::string>> SplitUrl(const std::string& url) {
  std::pair<std::string, std::string> split;
  if (!metrics::SplitHttpUrl(url, &split.first, &split.second)) {
    return Status::InvalidArgument(
        "--metrics '" + Escaped(url, 120) +
        "' must be http://HOST:PORT/PATH, e.g. http://127.0.0.1:7701/metrics");
  }
  return split;
}

Result<Samples> Fetch(httplib::Client& client, const std::string& path,
                      const std::string& url) {
  auto res = client.Get(path.c_str());
  if (!res) {
    return Status::Unavailable("no answer from " + url + " (" +
                               httplib::to_string(res.error()) + ")");
  }
  if (res->status != 200) {
    return Status::Unavailable(url + " answered HTTP " +
                               std::to_string(res->status));
  }
  Samples s = metrics::ParseSamples(res->body);
  if (s.count("relais_sessions") == 0) {
    return Status::Unavailable(url + " is not relaisd's /metrics");
  }
  return s;
}

std::string LocalTime() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace

int Top(const TopArgs& a) {
  auto url = SplitUrl(a.metrics_url);
  // It may hold anything a person typed: shown escaped.
  const std::string shown_url = Escaped(a.metrics_url, 120);
  if (!url.ok()) {
    std::fprintf(stderr, "relais top: %s\n", url.status().message().c_str());
    return kExitUsage;
  }
  StopSignals& stop = StopSignals::Install();
  httplib::Client client(url->first);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  const bool tty = isatty(STDOUT_FILENO) == 1;
  Samples before;
  auto taken = std::chrono::steady_clock::now();
  Status last;
  for (int i = 0; a.iterations == 0 || i < a.iterations; ++i) {
    if (i > 0) {
      for (int waited = 0; waited < a.interval_ms && !stop.requested();
           waited += 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    if (stop.requested()) break;
    auto now = Fetch(client, url->second, shown_url);
    const auto at = std::chrono::steady_clock::now();
    std::string screen;
    if (now.ok()) {
      screen = RenderTop(*now, before,
                         std::chrono::duration<double>(at - taken).count(),
                         shown_url, LocalTime());
      before = std::move(*now);
      last = Status::OK();
    } else {
      // relaisd may be restarting: say so and keep trying.
      screen = "relais top  " + shown_url + "  " + LocalTime() + "\n" +
               now.status().message() + "; trying again\n";
      before.clear();
      last = now.status();
    }
    taken = at;
    // In a terminal, redraw in place: cursor home, then clear below.
    std::printf("%s%s%s", tty ? "\x1b[H\x1b[J" : "", screen.c_str(),
                tty ? "(Ctrl-C to quit)\n" : "\n");
    std::fflush(stdout);
  }
  stop.Clear();
  if (!last.ok()) {
    std::fprintf(stderr, "relais top: %s\n", last.message().c_str());
    return kExitNoAnswer;
  }
  return kExitOk;
}

}  // namespace relais::cli
