#include "adapters/sdk/http_routes.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "adapters/translation/native.h"
#include "core/files.h"
#include "core/text.h"

namespace relais::sdk {
namespace {

using json = nlohmann::ordered_json;

// How much of a caller's path or header an error repeats (escaped).
constexpr size_t kEchoBytes = 64;

constexpr std::string_view kCasesPrefix = "/cases/";

// The methods `path` takes, for 405 and Allow; empty for a path that is not
// an endpoint.
std::string AllowedMethods(std::string_view path) {
  if (path == "/cases") return "GET, POST";
  if (path == "/status") return "POST";
  if (path.starts_with(kCasesPrefix) && path.size() > kCasesPrefix.size() &&
      path.find('/', kCasesPrefix.size()) == std::string_view::npos) {
    return "DELETE";
  }
  return "";
}

bool Takes(const std::string& allowed, std::string_view method) {
  return (", " + allowed + ",").find(", " + std::string(method) + ",") !=
         std::string::npos;
}

HttpAnswer Error(int status, std::string why) {
  return {status, json{{"error", std::move(why)}}, ""};
}

// The Content-Types a document with extension `ext` may be posted as.
std::vector<std::string> MediaTypesFor(const std::string& ext) {
  if (ext == ".csv") return {"text/csv"};
  if (ext == ".xml") return {"application/xml", "text/xml"};
  return {"application/json"};
}

// Why `req` cannot be a document of extension `ext`: its Content-Type
// (415), or a JSON body that is not UTF-8 (400).
std::optional<HttpAnswer> CheckBody(const HttpRequestView& req,
                                    const std::string& ext) {
  const std::vector<std::string> types = MediaTypesFor(ext);
  std::string type(req.content_type.substr(0, req.content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    std::string expected;
    for (const auto& t : types)
      expected += (expected.empty() ? "" : " or ") + t;
    return Error(415,
                 "Content-Type must be " + expected +
                     (req.content_type.empty()
                          ? " (none given)"
                          : ", not " + Escaped(req.content_type, kEchoBytes)));
  }
  if (ext == ".json") {
    if (const size_t bad = InvalidUtf8At(req.body); bad < req.body.size()) {
      return Error(400, "the body is not UTF-8 at " +
                            translation::native::TextPosition(req.body, bad));
    }
  }
  return std::nullopt;
}

}  // namespace

std::string HttpAnswer::Render() const {
  if (body.is_null()) return "";
  return body.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

bool PlainName(std::string_view name) {
  return !name.empty() && name.front() != '.' &&
         name.find('/') == std::string_view::npos && name.size() <= 255 &&
         IsCleanText(name);
}

HttpAnswer ErrorAnswer(std::string_view method, std::string_view path,
                       int status, size_t max_body) {
  const std::string allowed = AllowedMethods(path);
  const std::string shown_method = Escaped(method, kEchoBytes);
  const std::string shown_path = Escaped(path, kEchoBytes);
  if ((status == 404 || status == 400) && !allowed.empty() &&
      !Takes(allowed, method)) {
    // A path that exists, with a method it does not take (the server says
    // 404, or 400 for TRACE and CONNECT).
    HttpAnswer answer =
        Error(405, "method " + shown_method + " is not allowed on " +
                       shown_path + " (allowed: " + allowed + ")");
    answer.allow = allowed;
    return answer;
  }
  switch (status) {
    case 404:
      return Error(404, "no such endpoint: " + shown_method + " " + shown_path +
                            " (the endpoints are POST /cases, GET /cases, "
                            "DELETE /cases/<file> and POST /status)");
    case 413:
      return Error(413, "the body is larger than " + HumanBytes(max_body) +
                            " (" + std::to_string(max_body) + " bytes)");
    case 414:
      return Error(414, "the request line is too long");
    case 400:
      return Error(
          400, "bad request: not an HTTP/1.1 request this endpoint can read");
    default:
      return Error(status, "error " + std::to_string(status));
  }
}

HttpRoute RouteRequest(const HttpRequestView& req,
                       const std::string& case_extension) {
  const std::string allowed = AllowedMethods(req.path);
  // HEAD is GET without the body (the server drops it).
  const std::string_view method = req.method == "HEAD" ? "GET" : req.method;
  if (allowed.empty() || !Takes(allowed, method)) {
    return {HttpAction::kAnswer, ErrorAnswer(req.method, req.path, 404, 0), ""};
  }
  if (method == "GET") {
    return {HttpAction::kListCases, {}, ""};
  }
  if (method == "POST") {
    const bool is_case = req.path == "/cases";
    if (auto refused = CheckBody(req, is_case ? case_extension : ".json")) {
      return {HttpAction::kAnswer, std::move(*refused), ""};
    }
    return {is_case ? HttpAction::kPostCase : HttpAction::kPostStatus, {}, ""};
  }
  // DELETE /cases/<file>
  const std::string_view name = req.path.substr(kCasesPrefix.size());
  if (!PlainName(name)) {
    return {HttpAction::kAnswer,
            Error(404, "no case file '" + Escaped(name, kEchoBytes) + "'"), ""};
  }
  return {HttpAction::kDeleteCase, {}, std::string(name)};
}

}  // namespace relais::sdk
