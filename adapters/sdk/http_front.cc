#include "adapters/sdk/http_front.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "core/files.h"

namespace relais::sdk {

HttpFront::HttpFront(HttpFolders folders) : folders_(std::move(folders)) {}

HttpFront::~HttpFront() { Stop(); }

void HttpFront::Routes() {
  // Every route is HandleHttpRequest's; what it does not know is a 404.
  const auto handle = [this](const httplib::Request& req,
                             httplib::Response& res) {
    const HttpAnswer answer =
        HandleHttpRequest(folders_, req.method, req.path, req.body);
    res.status = answer.status;
    if (!answer.body.empty()) res.set_content(answer.body, "application/json");
  };
  server_->Post(".*", handle);
  server_->Get(".*", handle);
  server_->Delete(".*", handle);
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
