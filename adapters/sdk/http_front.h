#pragma once

// The adapter's local HTTP endpoint (adapters/README.md, "HTTP"): the same
// folders as the partner system's files, over HTTP on loopback, for partner
// systems that would rather call than drop files (the CPAM's):
//
//   POST   /cases         a native document: written to inbox/ (durably,
//                         like a dropped file), then answered with its
//                         receipt (201), its refusal (422, {"error"}), or
//                         202 {"file", "status": "pending"} if the broker
//                         has not answered within the wait
//   GET    /cases         the delivered cases to handle: [{"file",
//                         "document"}] of outbox/, oldest name first
//   DELETE /cases/<file>  the partner took the case: removes it from
//                         outbox/ (204, or 404)
//   POST   /status        a status document (as in status/): 200 once
//                         recorded, 422 {"error"} if refused, 202 pending
//
// Every request is bounded (the inbox file limit) and answered with JSON
// by HandleHttpRequest (http_routes.h).
// Thread-safety: Start/Stop from one thread; requests run on the server's
// own threads and touch only files.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "adapters/sdk/http_routes.h"
#include "core/status.h"

namespace httplib {
class Server;
}

namespace relais::sdk {

class HttpFront {
 public:
  explicit HttpFront(HttpFolders folders);
  ~HttpFront();  // Stops.

  // Listens on `listen` ("127.0.0.1:PORT"; port 0: any free one) and
  // writes "http://127.0.0.1:PORT" to `endpoint_file` (if not empty).
  // InvalidArgument for a host that is not loopback.
  Status Start(const std::string& listen, const std::string& endpoint_file);
  void Stop();
  int port() const { return port_; }

 private:
  void Routes();

  HttpFolders folders_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace relais::sdk
