#include "adapters/sdk/http_routes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/text.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// `body` as the answer's text. Texts it echoes (a refusal's reason, an
// outbox file that is not JSON) need not be UTF-8: what is not is replaced
// (U+FFFD) rather than thrown at the server.
HttpAnswer Reply(int code, const json& body) {
  return {code,
          body.dump(2, ' ', false, json::error_handler_t::replace) + "\n"};
}

// A fresh file name for a posted document: "http-<ms>-<8 hex>".
std::string PostedName(const std::string& ext) {
  auto random = crypto::RandomBytes(4);
  return "http-" + std::to_string(Clock::System()->NowMs()) + "-" +
         HexEncode(random.ok() ? *random : std::string(4, '\0')) + ext;
}

// A file name the partner may name: no folder, not hidden, UTF-8 without
// control characters. A NUL ("%00" in the URL) would end the name the
// system sees: "a.json%00x" took a.json (found by cpam_http_fuzz).
bool PlainName(const std::string& name) {
  return !name.empty() && name.front() != '.' &&
         name.find('/') == std::string::npos && name.size() <= 255 &&
         IsCleanText(name);
}

// Where a POST to `path` is kept: its folder and extension.
struct PostRoute {
  const std::string* dir;
  std::string extension;
};

std::optional<PostRoute> PostRouteOf(const HttpFolders& folders,
                                     std::string_view path) {
  if (path == "/cases")
    return PostRoute{&folders.inbox, folders.case_extension};
  if (path == "/status") return PostRoute{&folders.status, ".json"};
  return std::nullopt;
}

// Writes `body` into the route's folder as a new file, then waits for the
// runtime's verdict.
HttpAnswer Post(const HttpFolders& folders, std::string_view path,
                const PostRoute& route, const std::string& body) {
  const std::string name = PostedName(route.extension);
  Status st = WriteFileAtomic((fs::path(*route.dir) / name).string(), body);
  if (!st.ok()) {
    spdlog::error("http: {}", st.ToString());
    return Reply(503, {{"error", "cannot keep the document now"}});
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(folders.wait_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto verdict = PostedVerdict(folders, path, name)) return *verdict;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Reply(202, {{"file", name}, {"status", "pending"}});
}

// The delivered cases waiting in outbox/, oldest name first.
HttpAnswer ListOutbox(const HttpFolders& folders) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folders.outbox, ec)) {
    const std::string n = e.path().filename().string();
    if (e.is_regular_file() && PlainName(n)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  json cases = json::array();
  for (const auto& n : names) {
    auto text = ReadFile((fs::path(folders.outbox) / n).string(), 4 << 20);
    if (!text.ok()) continue;
    json doc = json::parse(*text, nullptr, false);
    cases.push_back(
        {{"file", n}, {"document", doc.is_discarded() ? json(*text) : doc}});
  }
  return Reply(200, cases);
}

HttpAnswer TakeFromOutbox(const HttpFolders& folders, const std::string& name) {
  std::error_code ec;
  if (!PlainName(name) || !fs::remove(fs::path(folders.outbox) / name, ec)) {
    return Reply(404, {{"error", "no case file '" + name + "'"}});
  }
  return {204, ""};
}

}  // namespace

std::optional<HttpAnswer> PostedVerdict(const HttpFolders& folders,
                                        std::string_view path,
                                        const std::string& name) {
  auto route = PostRouteOf(folders, path);
  if (!route) return std::nullopt;
  const bool is_case = path == "/cases";
  const fs::path done =
      fs::path(folders.done) / (name + (is_case ? ".receipt.json" : ""));
  const fs::path error = fs::path(folders.rejected) / (name + ".error");
  std::error_code ec;
  if (fs::exists(error, ec)) {
    auto why = ReadFile(error.string(), 64 << 10);
    std::string text = why.ok() ? *why : "refused";
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return Reply(422, {{"file", name}, {"error", text}});
  }
  if (fs::exists(done, ec) && !fs::exists(fs::path(*route->dir) / name, ec)) {
    json body = {{"file", name}};
    if (is_case) {
      auto receipt = ReadFile(done.string(), 4 << 20);
      if (receipt.ok()) {
        body = json::parse(*receipt, nullptr, false);
        if (body.is_discarded()) body = {{"file", name}};
      }
      return Reply(201, body);
    }
    body["recorded"] = true;
    return Reply(200, body);
  }
  return std::nullopt;
}

HttpAnswer HandleHttpRequest(const HttpFolders& folders,
                             std::string_view method, std::string_view path,
                             const std::string& body) {
  constexpr std::string_view kCase = "/cases/";
  if (method == "POST") {
    if (auto route = PostRouteOf(folders, path)) {
      return Post(folders, path, *route, body);
    }
  } else if (method == "GET" || method == "HEAD") {
    if (path == "/cases") return ListOutbox(folders);
  } else if (method == "DELETE") {
    // As the server's pattern "/cases/([^/]+)" did.
    if (path.starts_with(kCase) && path.size() > kCase.size() &&
        path.find('/', kCase.size()) == std::string_view::npos) {
      return TakeFromOutbox(folders, std::string(path.substr(kCase.size())));
    }
  }
  return {404, ""};
}

}  // namespace relais::sdk
