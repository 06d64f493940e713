#include "core/metrics_http.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <charconv>
#include <chrono>

#include "core/files.h"
#include "core/text.h"

namespace relais::metrics {

Result<std::pair<std::string, int>> ParseListenAddress(
    const std::string& key, const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(key + " '" + Escaped(text, 64) +
                                   "': " + why);
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return bad("must be HOST:PORT");
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  int port = -1;
  const auto [end, ec] = std::from_chars(
      port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() ||
      end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  in6_addr v6{};
  in_addr v4{};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) {
      return bad("not an IPv6 address between the brackets");
    }
  } else if (inet_pton(AF_INET, host.c_str(), &v4) != 1) {
    return bad("the host must be an IPv4 address or [an IPv6 address]");
  }
  return std::pair<std::string, int>(host, port);
}

Status CheckMetricsListen(const std::string& file, const std::string& key,
                          const std::string& value) {
  if (value.empty()) return Status::OK();
  auto address = ParseListenAddress(key, value);
  if (!address.ok()) {
    return Status::InvalidArgument(file + ": " + address.status().message());
  }
  return Status::OK();
}

MetricsServer::MetricsServer() = default;
MetricsServer::~MetricsServer() { Stop(); }

Status MetricsServer::Start(const std::string& key, const std::string& listen,
                            RenderFn render, const std::string& endpoint_file) {
  RELAIS_ASSIGN_OR_RETURN(auto address, ParseListenAddress(key, listen));
  auto& [host, port] = address;
  server_ = std::make_unique<httplib::Server>();
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server_->set_read_timeout(5, 0);
  server_->set_payload_max_length(4096);
  server_->Get(
      "/metrics", [render = std::move(render)](const httplib::Request&,
                                               httplib::Response& res) {
        res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
      });
  const auto refuse = [](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/metrics") {
      res.status = 405;
      res.set_header("Allow", "GET");
      res.set_content("405 only GET /metrics\n", "text/plain");
    } else {
      res.status = 404;
      res.set_content("404 only /metrics is served here\n", "text/plain");
    }
  };
  server_->Get(".*", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content("404 only /metrics is served here\n", "text/plain");
  });
  server_->Post(".*", refuse);
  server_->Put(".*", refuse);
  server_->Patch(".*", refuse);
  server_->Delete(".*", refuse);
  server_->Options(".*", refuse);
  const int bound = port == 0 ? server_->bind_to_any_port(host)
                              : (server_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    server_.reset();
    return Status::IOError(key + ": cannot listen on " + listen +
                           " (address in use, or not this machine's)");
  }
  const bool v6 = host.find(':') != std::string::npos;
  url_ = "http://" + (v6 ? "[" + host + "]" : host) + ":" +
         std::to_string(bound) + "/metrics";
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing until its loop runs: wait for it, so
  // that a Stop() right after Start() cannot leave the thread serving.
  for (int i = 0; i < 2000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!endpoint_file.empty()) {
    RELAIS_RETURN_IF_ERROR(WriteFileAtomic(endpoint_file, url_ + "\n"));
  }
  return Status::OK();
}

void MetricsServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace relais::metrics
