#pragma once

// The console's HTTP(S) server: cpp-httplib in front of ConsoleApi
// (console_api.h), the pages (web/pages/, read once at start), their
// scripts (/static/) and the French State design system (/dsfr/, from
// npm at build time: nothing is fetched from elsewhere at run time), and
// the live updates GET /api/events (server-sent events: "cases" each
// time the site's case index changes). Every answer says
// `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`, a
// Content-Security-Policy of this origin only, and over TLS
// Strict-Transport-Security. Requests run on httplib's thread pool.
//
// Thread-safety: Start and Stop from one thread.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "adapters/france_services/console_api.h"
#include "adapters/france_services/console_config.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/status.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace relais::console {

class ConsoleServer {
 public:
  // Serves `config`: reads the agents file first (InvalidArgument if it
  // is missing or damaged: the console would let nobody in), refuses a
  // listening host other than 127.0.0.1 without TLS (InvalidArgument), a
  // certificate or key that does not load (InvalidArgument), and a port it
  // cannot bind (IOError). Writes url() to config.endpoint_file if set.
  // `desk` (the case endpoints; null: none) and `clock` (null: the system
  // clock) must outlive the server. With config.web_dir set, serves the
  // pages too (InvalidArgument if they are not all there).
  static Result<std::unique_ptr<ConsoleServer>> Start(
      const ConsoleConfig& config, CaseDesk* desk = nullptr,
      const Clock* clock = nullptr);
  ~ConsoleServer();  // Stops.

  // "http://127.0.0.1:PORT" or "https://HOST:PORT", with the bound port.
  const std::string& url() const { return url_; }
  void Stop();
  // Its figures for /metrics: agents signed in, live streams. Any thread.
  void WriteMetrics(metrics::TextWriter& w) const;

 private:
  explicit ConsoleServer(ApiOptions options, const Clock* clock);
  Status LoadPages(const std::string& web_dir);
  void RoutePages();
  void RouteEvents(CaseIndex* index);

  ConsoleApi api_;
  std::unique_ptr<httplib::Server> server_;
  std::map<std::string, std::string> pages_;  // file name -> HTML
  CaseIndex* index_ = nullptr;
  std::atomic<int> streams_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::string url_;
};

}  // namespace relais::console
