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
// Every request is bounded (the inbox file limit) and every answer is JSON;
// an error is {"error": "<what is wrong>"} (with "file" when a file is
// concerned), whatever its status:
//
//   400  a JSON body that is not UTF-8 (the byte offset), a request
//        httplib cannot parse
//   404  no such endpoint, or DELETE of a file not in outbox/
//   405  a method the path does not take (and an Allow header)
//   413  a body larger than max_body
//   415  a POST whose Content-Type is not the document's
//        (application/json for JSON)
//   422  the document or status refused (its reason)
//   500  an exception in a handler: the answer says nothing of it (no
//        EXCEPTION_WHAT header, no text of it); the log names its type
//   503  the document could not be kept now
//
// Thread-safety: Start/Stop from one thread; requests run on the server's
// own threads and touch only files.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "adapters/sdk/http_routes.h"
#include "core/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace relais::sdk {

struct HttpFolders {
  std::string inbox, outbox, status, done, rejected;
  // The extension of a posted case's file (".json"); it decides the
  // Content-Type a POST /cases must have (application/json, text/csv, or
  // application/xml or text/xml) and, for JSON, that the body is UTF-8.
  std::string case_extension = ".json";
  // How long a POST waits for the broker's answer.
  int wait_ms = 10000;
  size_t max_body = 4 << 20;
};

// Makes `server` answer every error status with a JSON body
// {"error": "..."} (unless the handler wrote one): 405 with an Allow header
// for a method a known path does not take, 413 naming `max_body`, and 500
// for an exception a handler let escape, without any of its text. Used by
// HttpFront::Start; public for tests.
void ServeErrorsAsJson(httplib::Server& server, size_t max_body);

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
  void Handle(const httplib::Request& req, httplib::Response& res) const;
  // Keeps a POST's body in inbox/ or status/ and waits (wait_ms) for the
  // runtime's verdict.
  void Post(const HttpRoute& route, const std::string& body,
            httplib::Response& res) const;
  void ListCases(httplib::Response& res) const;

  HttpFolders folders_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace relais::sdk
