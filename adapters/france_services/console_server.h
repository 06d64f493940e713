#pragma once

// The console's HTTP(S) server: cpp-httplib in front of ConsoleApi
// (console_api.h). Every answer is JSON with `Cache-Control: no-store` and
// `X-Content-Type-Options: nosniff`; over TLS, Strict-Transport-Security
// too. Requests run on httplib's thread pool.
//
// Thread-safety: Start and Stop from one thread.

#include <memory>
#include <string>
#include <thread>

#include "adapters/france_services/console_api.h"
#include "adapters/france_services/console_config.h"
#include "core/clock.h"
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
  // clock) must outlive the server.
  static Result<std::unique_ptr<ConsoleServer>> Start(
      const ConsoleConfig& config, CaseDesk* desk = nullptr,
      const Clock* clock = nullptr);
  ~ConsoleServer();  // Stops.

  // "http://127.0.0.1:PORT" or "https://HOST:PORT", with the bound port.
  const std::string& url() const { return url_; }
  void Stop();

 private:
  explicit ConsoleServer(ApiOptions options, const Clock* clock);

  ConsoleApi api_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string url_;
};

}  // namespace relais::console
