#include "adapters/sdk/http_front.h"

#include <cxxabi.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <typeinfo>
#include <utility>
#include <vector>

#include "adapters/sdk/native.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/text.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// Never throws: a string that is not UTF-8 (a file's name, a header) is
// written with U+FFFD in place of its bad bytes.
void Reply(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_content(
      body.dump(2, ' ', false, json::error_handler_t::replace) + "\n",
      "application/json");
}

// The methods `path` takes, for 405 and Allow; empty for a path that is not
// an endpoint.
std::string AllowedMethods(const std::string& path) {
  if (path == "/cases") return "GET, POST";
  if (path == "/status") return "POST";
  if (path.starts_with("/cases/") && path.size() > 7 &&
      path.find('/', 7) == std::string::npos) {
    return "DELETE";
  }
  return "";
}

// The Content-Types a document with extension `ext` may be posted as.
std::vector<std::string> MediaTypesFor(const std::string& ext) {
  if (ext == ".csv") return {"text/csv"};
  if (ext == ".xml") return {"application/xml", "text/xml"};
  return {"application/json"};
}

// Why `req` cannot be a document of extension `ext`: its Content-Type
// (415), or a JSON body that is not UTF-8 (400). Nullopt if it can.
std::optional<std::pair<int, std::string>> CheckBody(
    const httplib::Request& req, const std::string& ext) {
  const std::vector<std::string> types = MediaTypesFor(ext);
  std::string given = req.get_header_value("Content-Type");
  std::string type = given.substr(0, given.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    std::string expected;
    for (const auto& t : types)
      expected += (expected.empty() ? "" : " or ") + t;
    return std::make_pair(
        415,
        "Content-Type must be " + expected +
            (given.empty() ? " (none given)" : ", not " + Escaped(given, 64)));
  }
  if (ext == ".json") {
    if (const size_t bad = InvalidUtf8At(req.body); bad < req.body.size()) {
      return std::make_pair(400, "the body is not UTF-8 at " +
                                     native::TextPosition(req.body, bad));
    }
  }
  return std::nullopt;
}

// A fresh file name for a posted document: "http-<ms>-<8 hex>".
std::string PostedName(const std::string& ext) {
  auto random = crypto::RandomBytes(4);
  return "http-" + std::to_string(Clock::System()->NowMs()) + "-" +
         HexEncode(random.ok() ? *random : std::string(4, '\0')) + ext;
}

// The readable name of a type from typeid().name().
std::string Demangled(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

// A file name the partner may name: no folder, not hidden.
// UTF-8 without control characters: "a.json%00x" must not be taken for
// "a.json" by the system (found by a fuzz target).
bool PlainName(const std::string& name) {
  return !name.empty() && name.front() != '.' &&
         name.find('/') == std::string::npos && name.size() <= 255 &&
         IsCleanText(name);
}

}  // namespace

void ServeErrorsAsJson(httplib::Server& server, size_t max_body) {
  using Handled = httplib::Server::HandlerResponse;
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return Handled::Unhandled;  // the handler's own
        const std::string allowed = AllowedMethods(req.path);
        std::string why;
        const bool takes =
            (", " + allowed + ",").find(", " + req.method + ",") !=
            std::string::npos;
        if ((res.status == 404 || res.status == 400) && !allowed.empty() &&
            !takes) {
          // A path that exists, with a method it does not take (httplib says
          // 404, or 400 for TRACE and CONNECT).
          res.status = 405;
          res.set_header("Allow", allowed);
          why = "method " + req.method + " is not allowed on " + req.path +
                " (allowed: " + allowed + ")";
        } else if (res.status == 404) {
          why = "no such endpoint: " + req.method + " " + req.path +
                " (the endpoints are POST /cases, GET /cases, DELETE "
                "/cases/<file> and POST /status)";
        } else if (res.status == 413) {
          why = "the body is larger than " + HumanBytes(max_body) + " (" +
                std::to_string(max_body) + " bytes)";
        } else if (res.status == 414) {
          why = "the request line is too long";
        } else if (res.status == 400) {
          why = "bad request: not an HTTP/1.1 request this endpoint can read";
        } else {
          why = "error " + std::to_string(res.status);
        }
        Reply(res, res.status, {{"error", why}});
        return Handled::Handled;
      }));
  // Without a handler, httplib would put the exception's text in an
  // EXCEPTION_WHAT header; it may hold anything (a name, a NIR).
  server.set_exception_handler([](const httplib::Request& req,
                                  httplib::Response& res,
                                  std::exception_ptr ep) {
    std::string type = "an unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      type = Demangled(typeid(e).name());
    } catch (...) {
    }
    spdlog::error("http: {} {}: {} escaped its handler; answered 500",
                  req.method, req.path, type);
    res.headers.clear();
    Reply(res, 500,
          {{"error",
            "internal error: the request may not have been carried out; see "
            "the adapter's log"}});
  });
}

HttpFront::HttpFront(HttpFolders folders) : folders_(std::move(folders)) {}

HttpFront::~HttpFront() { Stop(); }

void HttpFront::Routes() {
  // Writes `body` into `dir` as a new file, then waits for the runtime's
  // verdict: `done/<name><done_suffix>` or `rejected/<name>.error`.
  auto post = [this](const std::string& dir, const std::string& ext,
                     const std::string& done_suffix, int ok_code,
                     const httplib::Request& req, httplib::Response& res) {
    if (auto refused = CheckBody(req, ext)) {
      return Reply(res, refused->first, {{"error", refused->second}});
    }
    const std::string name = PostedName(ext);
    Status st = WriteFileAtomic((fs::path(dir) / name).string(), req.body);
    if (!st.ok()) {
      spdlog::error("http: {}", st.ToString());
      return Reply(res, 503, {{"error", "cannot keep the document now"}});
    }
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(folders_.wait_ms);
    const fs::path done = fs::path(folders_.done) / (name + done_suffix);
    const fs::path error = fs::path(folders_.rejected) / (name + ".error");
    while (std::chrono::steady_clock::now() < deadline) {
      std::error_code ec;
      if (fs::exists(error, ec)) {
        auto why = ReadFile(error.string(), 64 << 10);
        std::string text = why.ok() ? *why : "refused";
        while (!text.empty() && text.back() == '\n') text.pop_back();
        return Reply(res, 422, {{"file", name}, {"error", text}});
      }
      if (fs::exists(done, ec) && !fs::exists(fs::path(dir) / name, ec)) {
        json body = {{"file", name}};
        if (done_suffix == ".receipt.json") {
          auto receipt = ReadFile(done.string(), 4 << 20);
          if (receipt.ok()) {
            body = json::parse(*receipt, nullptr, false);
            if (body.is_discarded()) body = {{"file", name}};
          }
        } else {
          body["recorded"] = true;
        }
        return Reply(res, ok_code, body);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Reply(res, 202, {{"file", name}, {"status", "pending"}});
  };
  server_->Post("/cases",
                [=, this](const httplib::Request& req, httplib::Response& res) {
                  post(folders_.inbox, folders_.case_extension, ".receipt.json",
                       201, req, res);
                });
  server_->Post("/status",
                [=, this](const httplib::Request& req, httplib::Response& res) {
                  post(folders_.status, ".json", "", 200, req, res);
                });
  server_->Get("/cases", [this](const httplib::Request&,
                                httplib::Response& res) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(folders_.outbox, ec)) {
      const std::string n = e.path().filename().string();
      if (e.is_regular_file() && PlainName(n)) names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    json cases = json::array();
    for (const auto& n : names) {
      auto text = ReadFile((fs::path(folders_.outbox) / n).string(), 4 << 20);
      if (!text.ok()) continue;
      json doc = json::parse(*text, nullptr, false);
      cases.push_back(
          {{"file", n}, {"document", doc.is_discarded() ? json(*text) : doc}});
    }
    Reply(res, 200, cases);
  });
  server_->Delete(R"(/cases/([^/]+))", [this](const httplib::Request& req,
                                              httplib::Response& res) {
    const std::string name = req.matches[1];
    std::error_code ec;
    if (!PlainName(name) || !fs::remove(fs::path(folders_.outbox) / name, ec)) {
      return Reply(res, 404, {{"error", "no case file '" + name + "'"}});
    }
    res.status = 204;
  });
}

Status HttpFront::Start(const std::string& listen,
                        const std::string& endpoint_file) {
  const size_t colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon);
  if (colon == std::string::npos || host != "127.0.0.1") {
    return Status::InvalidArgument(
        "http_listen must be 127.0.0.1:PORT (loopback only), not '" + listen +
        "'");
  }
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return Status::InvalidArgument("http_listen: bad port in '" + listen + "'");
  }
  server_ = std::make_unique<httplib::Server>();
  server_->set_payload_max_length(folders_.max_body);
  ServeErrorsAsJson(*server_, folders_.max_body);
  Routes();
  port_ = port == 0 ? server_->bind_to_any_port(host)
                    : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    return Status::IOError("cannot listen on " + listen);
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  if (!endpoint_file.empty()) {
    RELAIS_RETURN_IF_ERROR(WriteFileAtomic(
        endpoint_file, "http://127.0.0.1:" + std::to_string(port_) + "\n"));
  }
  spdlog::info("http endpoint on http://127.0.0.1:{}", port_);
  return Status::OK();
}

void HttpFront::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace relais::sdk
