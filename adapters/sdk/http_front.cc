#include "adapters/sdk/http_front.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/files.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

void Reply(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_content(body.dump(2) + "\n", "application/json");
}

// A fresh file name for a posted document: "http-<ms>-<8 hex>".
std::string PostedName(const std::string& ext) {
  auto random = crypto::RandomBytes(4);
  return "http-" + std::to_string(Clock::System()->NowMs()) + "-" +
         HexEncode(random.ok() ? *random : std::string(4, '\0')) + ext;
}

// A file name the partner may name: no folder, not hidden.
bool PlainName(const std::string& name) {
  return !name.empty() && name.front() != '.' &&
         name.find('/') == std::string::npos && name.size() <= 255;
}

}  // namespace

HttpFront::HttpFront(HttpFolders folders) : folders_(std::move(folders)) {}

HttpFront::~HttpFront() { Stop(); }

void HttpFront::Routes() {
  // Writes `body` into `dir` as a new file, then waits for the runtime's
  // verdict: `done/<name><done_suffix>` or `rejected/<name>.error`.
  auto post = [this](const std::string& dir, const std::string& ext,
                     const std::string& done_suffix, int ok_code,
                     const httplib::Request& req, httplib::Response& res) {
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
