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

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/metrics_http.h"
#include "core/text.h"
#include "core/thread_name.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

void Reply(httplib::Response& res, const HttpAnswer& answer) {
  res.status = answer.status;
  if (!answer.allow.empty()) res.set_header("Allow", answer.allow);
  if (!answer.body.is_null()) {
    res.set_content(answer.Render(), "application/json");
  }
}

void Reply(httplib::Response& res, int code, const json& body) {
  Reply(res, HttpAnswer{code, body, ""});
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

}  // namespace

void ServeErrorsAsJson(httplib::Server& server, size_t max_body) {
  using Handled = httplib::Server::HandlerResponse;
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return Handled::Unhandled;  // the handler's own
        Reply(res, ErrorAnswer(req.method, req.path, res.status, max_body));
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
                  Escaped(req.method, 16), Escaped(req.path, 64), type);
    res.headers.clear();
    Reply(res, 500,
          {{"error",
            "internal error: the request may not have been carried out; see "
            "the adapter's log"}});
  });
}

HttpFront::HttpFront(HttpFolders folders) : folders_(std::move(folders)) {}

HttpFront::~HttpFront() { Stop(); }

void HttpFront::Post(const HttpRoute& route, const std::string& body,
                     httplib::Response& res) const {
  const bool is_case = route.action == HttpAction::kPostCase;
  const std::string& dir = is_case ? folders_.inbox : folders_.status;
  const std::string name =
      PostedName(is_case ? folders_.case_extension : ".json");
  Status st = WriteFileAtomic((fs::path(dir) / name).string(), body);
  if (!st.ok()) {
    spdlog::error("http: {}", st.ToString());
    return Reply(res, 503, {{"error", "cannot keep the document now"}});
  }
  // The runtime's verdict: done/<name>.receipt.json (a case) or
  // done/<name> (a status), or rejected/<name>.error.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(folders_.wait_ms);
  const fs::path done =
      fs::path(folders_.done) / (is_case ? name + ".receipt.json" : name);
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
      json answer = {{"file", name}};
      if (is_case) {
        auto receipt = ReadFile(done.string(), 4 << 20);
        if (receipt.ok()) {
          answer = json::parse(*receipt, nullptr, false);
          if (answer.is_discarded()) answer = {{"file", name}};
        }
      } else {
        answer["recorded"] = true;
      }
      return Reply(res, is_case ? 201 : 200, answer);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Reply(res, 202, {{"file", name}, {"status", "pending"}});
}

namespace {

// The manifest beside case file `name` in `outbox` (adapters/README.md,
// "Attachments"): STEM.pj.json; empty if the name has no extension.
std::string ManifestName(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? "" : name.substr(0, dot) + ".pj.json";
}

// Whether `name` is an attachment or a manifest (STEM.pjN.EXT, STEM.pj.json),
// not a case file.
bool IsAttachmentFile(const std::string& name) {
  const size_t pj = name.rfind(".pj");
  if (pj == std::string::npos) return false;
  const std::string rest = name.substr(pj + 3);
  return rest == ".json" ||
         (!rest.empty() && rest[0] >= '1' && rest[0] <= '9' &&
          rest.find('.') != std::string::npos);
}

// The entries of case file `name`'s manifest that name an attachment file
// of the outbox; none without a manifest.
json ManifestEntries(const std::string& outbox, const std::string& name) {
  json out = json::array();
  const std::string manifest = ManifestName(name);
  if (manifest.empty()) return out;
  auto text = ReadPlainFile((fs::path(outbox) / manifest).string(), 1 << 20);
  if (!text.ok()) return out;
  json doc = json::parse(*text, nullptr, false);
  if (!doc.is_object() || !doc["attachments"].is_array()) return out;
  for (const json& a : doc["attachments"]) {
    if (a.is_object() && a["file"].is_string() &&
        PlainName(a["file"].get<std::string>()) &&
        IsAttachmentFile(a["file"].get<std::string>())) {
      out.push_back(a);
    }
  }
  return out;
}

// The attachments of case file `name`, each with its content in base64.
json AttachmentsOf(const std::string& outbox, const std::string& name) {
  json out = json::array();
  for (json a : ManifestEntries(outbox, name)) {
    // Only the adapter's own files: a link could point anywhere.
    auto content = ReadPlainFile(
        (fs::path(outbox) / a["file"].get<std::string>()).string(), 64 << 20);
    if (!content.ok()) continue;
    a["content_base64"] = Base64Encode(*content);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

void HttpFront::ListCases(httplib::Response& res) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folders_.outbox, ec)) {
    const std::string n = e.path().filename().string();
    std::error_code type_ec;
    // Only the adapter's own files: a link could point anywhere.
    if (e.symlink_status(type_ec).type() == fs::file_type::regular &&
        PlainName(n) && !IsAttachmentFile(n)) {
      names.push_back(n);
    }
  }
  std::sort(names.begin(), names.end());
  json cases = json::array();
  for (const auto& n : names) {
    auto text = ReadFile((fs::path(folders_.outbox) / n).string(), 4 << 20);
    if (!text.ok()) continue;
    json doc = json::parse(*text, nullptr, false);
    json c = {{"file", n},
              {"document", doc.is_discarded() ? json(*text) : doc}};
    json attachments = AttachmentsOf(folders_.outbox, n);
    if (!attachments.empty()) c["attachments"] = std::move(attachments);
    cases.push_back(std::move(c));
  }
  Reply(res, 200, cases);
}

void HttpFront::Handle(const httplib::Request& req,
                       httplib::Response& res) const {
  const HttpRoute route = RouteRequest(
      {req.method, req.path, req.get_header_value("Content-Type"), req.body},
      folders_.case_extension);
  switch (route.action) {
    case HttpAction::kAnswer:
      return Reply(res, route.answer);
    case HttpAction::kPostCase:
    case HttpAction::kPostStatus:
      return Post(route, req.body, res);
    case HttpAction::kListCases:
      return ListCases(res);
    case HttpAction::kDeleteCase: {
      std::error_code ec;
      if (IsAttachmentFile(route.file) ||
          !fs::remove(fs::path(folders_.outbox) / route.file, ec)) {
        return Reply(
            res, 404,
            {{"error", "no case file '" + Escaped(route.file, 64) + "'"}});
      }
      // Its attachments and their manifest go with it.
      for (const json& a : ManifestEntries(folders_.outbox, route.file)) {
        fs::remove(fs::path(folders_.outbox) / a["file"].get<std::string>(),
                   ec);
      }
      if (const std::string m = ManifestName(route.file); !m.empty()) {
        fs::remove(fs::path(folders_.outbox) / m, ec);
      }
      res.status = 204;
      return;
    }
  }
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
  metrics::RefuseUnsafeRequests(
      *server_,
      [](int status) {
        return json{{"error", status == 411
                                  ? "a request body needs a Content-Length "
                                    "(no Transfer-Encoding)"
                                  : "a NUL byte in the path"}}
                   .dump() +
               "\n";
      },
      "application/json");
  // Every request of a method with handlers goes through RouteRequest;
  // the others (TRACE, CONNECT, ...) reach ServeErrorsAsJson's handler.
  const auto handle = [this](const httplib::Request& req,
                             httplib::Response& res) { Handle(req, res); };
  server_->Get(".*", handle);
  server_->Post(".*", handle);
  server_->Put(".*", handle);
  server_->Patch(".*", handle);
  server_->Delete(".*", handle);
  server_->Options(".*", handle);
  port_ = port == 0 ? server_->bind_to_any_port(host)
                    : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    return Status::IOError("cannot listen on " + listen);
  }
  thread_ = std::thread([this] {
    NameThisThread("http-front");
    server_->listen_after_bind();
  });
  // httplib's stop() does nothing until its loop runs: wait for it, so
  // that a Stop() right after Start() cannot leave the thread serving.
  for (int i = 0; i < 2000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
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
