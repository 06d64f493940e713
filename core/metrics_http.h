#pragma once

// A program's /metrics endpoint (cpp-httplib): GET /metrics answers the
// text that `render` returns, as Prometheus's text format 0.0.4; any other
// path is 404 and any other method 405. Two server threads: a scrape never
// waits behind another for long, and never touches the program's own
// threads but through `render`, which must be thread-safe.
//
// Thread-safety: Start and Stop from one thread.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/status.h"

namespace httplib {
class Server;
}

namespace relais::metrics {

// Makes `server` refuse, before any handler and before reading a body:
// - a body whose length is not given (Transfer-Encoding, e.g. chunked):
//   411 Length Required, and the connection closed. cpp-httplib 0.11
//   reads such a body whole, past set_payload_max_length (a 400 MB
//   chunked POST took 400 MB); with a Content-Length that limit holds;
// - a path holding a NUL byte (%00): 400. A mount point would serve
//   "console.js%00.png" as console.js, typed by ".png".
// The answer is `body(status)`, of `content_type`.
void RefuseUnsafeRequests(httplib::Server& server,
                          std::function<std::string(int status)> body,
                          std::string content_type);

class MetricsServer {
 public:
  using RenderFn = std::function<std::string()>;

  MetricsServer();
  ~MetricsServer();  // Stops.
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on `listen` (ParseListenAddress; `key` names it in errors) and
  // serves `render`'s text. Writes "http://HOST:PORT/metrics" with the
  // bound port to `endpoint_file` (if not empty) once listening. IOError
  // if the address cannot be bound.
  Status Start(const std::string& key, const std::string& listen,
               RenderFn render, const std::string& endpoint_file = "");
  void Stop();
  // "http://HOST:PORT/metrics" once started.
  const std::string& url() const { return url_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string url_;
};

}  // namespace relais::metrics
