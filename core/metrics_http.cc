#include "core/metrics_http.h"

#include <httplib.h>

#include <chrono>

#include "core/files.h"
#include "core/metrics.h"
#include "core/thread_name.h"

namespace relais::metrics {

void RefuseUnsafeRequests(httplib::Server& server,
                          std::function<std::string(int status)> body,
                          std::string content_type) {
  server.set_pre_routing_handler(
      [body = std::move(body), content_type = std::move(content_type)](
          const httplib::Request& req, httplib::Response& res) {
        if (req.has_header("Transfer-Encoding")) {
          res.status = 411;
          res.set_header("Connection", "close");
          // The unread body must not be taken for the next request: the
          // answer's provider writes it whole, then says it failed, which
          // is how httplib 0.11 can be made to close a connection.
          auto text = std::make_shared<const std::string>(body(411));
          res.set_content_provider(
              text->size(), content_type,
              [text](size_t offset, size_t, httplib::DataSink& sink) {
                sink.write(text->data() + offset, text->size() - offset);
                return false;
              });
        } else if (req.path.find('\0') != std::string::npos) {
          res.status = 400;
          res.set_content(body(400), content_type.c_str());
        } else {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        return httplib::Server::HandlerResponse::Handled;
      });
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
  RefuseUnsafeRequests(
      *server_,
      [](int status) -> std::string {
        return status == 411 ? "411 a request body needs a Content-Length\n"
                             : "400 a NUL byte in the path\n";
      },
      "text/plain");
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
  server_->Get(".*", refuse);  // any other path: 404
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
  thread_ = std::thread([this] {
    NameThisThread("metrics-http");
    server_->listen_after_bind();
  });
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
