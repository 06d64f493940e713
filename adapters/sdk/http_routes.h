#pragma once

// What the adapter's local HTTP endpoint (http_front.h) answers, without
// the server: one request's method, path and body in, its status and JSON
// body out. The routes and their folders are described in http_front.h.
// Separate from the server so that tests and the fuzz target
// (tests/fuzz/cpam_http_fuzz.cc) call it directly.
//
// Thread-safety: any thread; touches only files of the folders.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace relais::sdk {

struct HttpFolders {
  std::string inbox, outbox, status, done, rejected;
  // The extension of a posted case's file (".json").
  std::string case_extension = ".json";
  // How long a POST waits for the broker's answer. Default: 10000 ms.
  int wait_ms = 10000;
  // Largest body accepted (enforced by the server). Default: 4 MiB.
  size_t max_body = 4 << 20;
};

struct HttpAnswer {
  int status = 404;
  // JSON text with a final newline; empty for no body (204, 404).
  std::string body;
};

// The answer to `method` (as sent: "GET", "HEAD", "POST", "DELETE"...)
// `path` (decoded, without the query) with `body`. Unknown routes get 404
// without a body. A POST writes `body` into its folder and waits up to
// folders.wait_ms for the runtime's verdict (PostedVerdict). Never throws.
HttpAnswer HandleHttpRequest(const HttpFolders& folders,
                             std::string_view method, std::string_view path,
                             const std::string& body);

// The answer to the POST of `path` ("/cases" or "/status") kept as file
// `name`, once the runtime has finished with it: 201 (its receipt) or 200
// ({"file", "recorded"}) once it is in done/, 422 {"file", "error"} once
// rejected/ has its .error; nullopt while neither is there. Never throws.
std::optional<HttpAnswer> PostedVerdict(const HttpFolders& folders,
                                        std::string_view path,
                                        const std::string& name);

}  // namespace relais::sdk
