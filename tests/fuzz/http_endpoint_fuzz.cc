// libFuzzer target: a request to an adapter's local HTTP endpoint (the
// CPAM's way in; adapters/sdk/http_front.h), judged by RouteRequest and
// ErrorAnswer (adapters/sdk/http_routes.h) as the server judges it. The
// input is
//
//   one byte: the posted case's extension (0 .json, 1 .csv, 2 .xml) and
//             the status the server found for ErrorAnswer
//   METHOD \n PATH \n CONTENT-TYPE \n BODY
//
// Nothing may crash or throw; every answer is one the endpoint documents,
// renders as JSON, and repeats nothing of the request raw (its "error" is
// UTF-8 without control characters); an action is only taken on a request
// that may carry it out (a JSON body that is UTF-8, a plain file name).

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "adapters/sdk/http_routes.h"
#include "core/text.h"

using namespace relais;
using sdk::HttpAction;
using sdk::HttpAnswer;

namespace {

// The next line of `rest` (without its '\n'); all of `rest` if it has none.
std::string_view Line(std::string_view& rest) {
  const size_t end = rest.find('\n');
  const std::string_view line = rest.substr(0, end);
  rest =
      end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

void CheckError(const HttpAnswer& answer) {
  if (!answer.body.is_object() || answer.body.size() != 1 ||
      !answer.body.contains("error") || !answer.body["error"].is_string() ||
      !IsCleanText(answer.body["error"].get<std::string>())) {
    std::abort();
  }
  if ((answer.status == 405) == answer.allow.empty()) std::abort();
  const auto parsed = nlohmann::json::parse(answer.Render(), nullptr, false);
  if (parsed.is_discarded()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string kExtensions[] = {".json", ".csv", ".xml"};
  static const int kServerStatuses[] = {400, 404, 413, 414, 500};
  const std::string& ext = kExtensions[data[0] % 3];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view method = Line(rest);
  const std::string_view path = Line(rest);
  const std::string_view content_type = Line(rest);
  const sdk::HttpRequestView req{method, path, content_type, rest};

  const sdk::HttpRoute route = sdk::RouteRequest(req, ext);
  switch (route.action) {
    case HttpAction::kAnswer:
      if (route.answer.status != 400 && route.answer.status != 404 &&
          route.answer.status != 405 && route.answer.status != 415) {
        std::abort();
      }
      CheckError(route.answer);
      break;
    case HttpAction::kPostCase:
    case HttpAction::kPostStatus:
      if (method != "POST" ||
          path !=
              (route.action == HttpAction::kPostCase ? "/cases" : "/status")) {
        std::abort();
      }
      if ((route.action == HttpAction::kPostStatus || ext == ".json") &&
          InvalidUtf8At(rest) != rest.size()) {
        std::abort();
      }
      break;
    case HttpAction::kListCases:
      if (path != "/cases" || (method != "GET" && method != "HEAD")) {
        std::abort();
      }
      break;
    case HttpAction::kDeleteCase:
      if (method != "DELETE" || !sdk::PlainName(route.file) ||
          path != "/cases/" + route.file) {
        std::abort();
      }
      break;
    default:
      std::abort();
  }

  const int server_status = kServerStatuses[data[0] % 5];
  CheckError(sdk::ErrorAnswer(method, path, server_status, 4 << 20));
  return 0;
}
