#pragma once

// What the adapter's HTTP endpoint (http_front.h) does with a request,
// decided from its method, path, Content-Type and body alone, without a
// socket, a file or a clock: an answer now (an error), or the action to
// carry out on the folders. http_front.cc carries the actions out; this
// part is where every byte a caller sends is judged, and has a fuzz target
// (tests/fuzz/http_endpoint_fuzz.cc).
//
// Nothing a caller sends is repeated raw: a path or Content-Type in an
// error is Escaped (core/text.h) and cut, so every "error" text is valid
// UTF-8 without control characters.
//
// Thread-safety: pure functions.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace relais::sdk {

struct HttpRequestView {
  std::string_view method;        // "GET", "POST", ... as sent
  std::string_view path;          // decoded, without the query
  std::string_view content_type;  // the header's value; empty if none
  std::string_view body;
};

struct HttpAnswer {
  int status = 200;
  nlohmann::ordered_json body;  // null: no body (204)
  std::string allow;            // the Allow header of a 405; else empty

  // The body as sent: indented JSON and a newline (empty for a null
  // body). Never throws: bytes that are not UTF-8 (in a file's name)
  // become U+FFFD.
  std::string Render() const;
};

enum class HttpAction {
  kAnswer,      // send `answer` as it is
  kPostCase,    // keep `body` in inbox/ and wait for its verdict
  kPostStatus,  // keep `body` in status/ and wait for its verdict
  kListCases,   // answer outbox/'s documents
  kDeleteCase,  // remove outbox/<file> (a PlainName)
};

struct HttpRoute {
  HttpAction action = HttpAction::kAnswer;
  HttpAnswer answer;  // for kAnswer
  std::string file;   // for kDeleteCase
};

// Routes `req` for an endpoint whose posted cases have extension
// `case_extension` (".json", ".csv" or ".xml": it decides the Content-Type
// a POST /cases must have, and that a JSON body must be UTF-8).
HttpRoute RouteRequest(const HttpRequestView& req,
                       const std::string& case_extension);

// The answer for an error status the HTTP server found before any route
// ran, or a route's 404: 405 with Allow for a method a known path does not
// take; else 400, 404 (naming the endpoints), 413 (naming `max_body`), 414,
// or "error N".
HttpAnswer ErrorAnswer(std::string_view method, std::string_view path,
                       int status, size_t max_body);

// A file name a caller may name in DELETE /cases/<file>: no folder, not
// hidden, at most 255 bytes, UTF-8 without control characters ("a.json%00x"
// must not be taken for "a.json" by the system).
bool PlainName(std::string_view name);

}  // namespace relais::sdk
