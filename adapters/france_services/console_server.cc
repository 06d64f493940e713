#include "adapters/france_services/console_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <utility>

#include "core/files.h"
#include "core/text.h"

namespace relais::console {
namespace {

constexpr size_t kMaxBody = 64 << 10;
constexpr const char* kJson = "application/json; charset=utf-8";

// The answer to a request httplib refused before any handler (a body over
// kMaxBody, a malformed request) or to an exception a handler let escape.
nlohmann::ordered_json ErrorBody(int status) {
  const bool too_large = status == 413;
  return {{"code", too_large       ? "too_large"
                   : status == 400 ? "bad_request"
                                   : "internal"},
          {"message", too_large ? "La demande est trop volumineuse."
                      : status == 400
                          ? "La demande est mal formée."
                          : "Une erreur interne est survenue. Réessayez ; si "
                            "cela dure, prévenez l'équipe technique."}};
}

std::string Render(const nlohmann::ordered_json& body) {
  return body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

Status ParseListen(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  int p = -1;
  if (colon != std::string::npos && colon > 0) {
    const char* begin = listen.data() + colon + 1;
    const char* end = listen.data() + listen.size();
    auto [at, ec] = std::from_chars(begin, end, p);
    if (ec != std::errc() || at != end) p = -1;
  }
  if (p < 0 || p > 65535) {
    return Status::InvalidArgument("[console] listen must be HOST:PORT, not '" +
                                   Escaped(listen, 80) + "'");
  }
  *host = listen.substr(0, colon);
  *port = p;
  return Status::OK();
}

// What the configuration allows: a listening address, TLS off loopback,
// an agents file that loads.
Status CheckServable(const ConsoleConfig& config, const std::string& host) {
  if (host != "127.0.0.1" && config.tls_certificate.empty()) {
    return Status::InvalidArgument(
        "[console] listen: " + Escaped(host, 80) +
        " is not loopback: serving agents' sign-ins off this machine needs "
        "TLS (tls_certificate and tls_private_key)");
  }
  if (!ReadFile(config.agents_file, 16 << 20).ok()) {
    return Status::InvalidArgument(
        "no agents file at " + config.agents_file +
        ": add an agent first (relais-console agent add --agents " +
        config.agents_file + " ...)");
  }
  if (auto book = AgentBook::Load(config.agents_file); !book.ok()) {
    return Status::InvalidArgument(book.status().message());
  }
  return Status::OK();
}

// An HTTPS server if the configuration has a certificate, else HTTP; its
// limits, headers and JSON errors set.
Result<std::unique_ptr<httplib::Server>> MakeServer(
    const ConsoleConfig& config) {
  const bool tls = !config.tls_certificate.empty();
  std::unique_ptr<httplib::Server> server;
  if (tls) {
    auto ssl = std::make_unique<httplib::SSLServer>(
        config.tls_certificate.c_str(), config.tls_private_key.c_str());
    if (!ssl->is_valid()) {
      return Status::InvalidArgument("the TLS certificate " +
                                     config.tls_certificate + " or its key " +
                                     config.tls_private_key + " does not load");
    }
    server = std::move(ssl);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  server->set_payload_max_length(kMaxBody);
  httplib::Headers headers = {{"Cache-Control", "no-store"},
                              {"X-Content-Type-Options", "nosniff"}};
  if (tls) headers.emplace("Strict-Transport-Security", "max-age=31536000");
  server->set_default_headers(std::move(headers));
  server->set_error_handler(
      [](const httplib::Request&, httplib::Response& res) {
        if (res.body.empty()) {
          res.set_content(Render(ErrorBody(res.status)), kJson);
        }
      });
  server->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        spdlog::error("console: a request failed with an exception");
        res.status = 500;
        res.set_content(Render(ErrorBody(500)), kJson);
      });
  return server;
}

// Every request, whatever its method, to `api`.
void Route(httplib::Server& server, ConsoleApi* api) {
  const auto handle = [api](const httplib::Request& req,
                            httplib::Response& res) {
    const std::string content_type = req.get_header_value("Content-Type");
    const std::string cookie = req.get_header_value("Cookie");
    const std::string csrf = req.get_header_value("X-CSRF-Token");
    // The raw query string: the API decodes it (case_requests.h).
    const size_t mark = req.target.find('?');
    const std::string_view query =
        mark == std::string::npos
            ? std::string_view()
            : std::string_view(req.target).substr(mark + 1);
    ApiReply reply = api->Handle({req.method, req.path, query, content_type,
                                  cookie, csrf, req.body, req.remote_addr});
    res.status = reply.status;
    if (!reply.set_cookie.empty()) {
      res.set_header("Set-Cookie", reply.set_cookie);
    }
    if (!reply.allow.empty()) res.set_header("Allow", reply.allow);
    if (reply.retry_after_s > 0) {
      res.set_header("Retry-After", std::to_string(reply.retry_after_s));
    }
    if (!reply.body.is_null()) res.set_content(Render(reply.body), kJson);
  };
  server.Get(".*", handle);
  server.Post(".*", handle);
  server.Put(".*", handle);
  server.Patch(".*", handle);
  server.Delete(".*", handle);
  server.Options(".*", handle);
}

}  // namespace

ConsoleServer::ConsoleServer(ApiOptions options, const Clock* clock)
    : api_(std::move(options), clock) {}

Result<std::unique_ptr<ConsoleServer>> ConsoleServer::Start(
    const ConsoleConfig& config, CaseDesk* desk, const Clock* clock) {
  std::string host;
  int port = 0;
  RELAIS_RETURN_IF_ERROR(ParseListen(config.listen, &host, &port));
  RELAIS_RETURN_IF_ERROR(CheckServable(config, host));
  const bool tls = !config.tls_certificate.empty();
  ApiOptions options;
  options.agents_file = config.agents_file;
  options.sessions.idle_ms = config.session_idle_minutes * 60 * 1000;
  options.sessions.absolute_ms = config.session_max_hours * 3600 * 1000;
  options.secure_cookie = tls;
  options.desk = desk;
  if (desk != nullptr) options.site = desk->site();
  std::unique_ptr<ConsoleServer> s(new ConsoleServer(options, clock));
  RELAIS_ASSIGN_OR_RETURN(s->server_, MakeServer(config));
  httplib::Server& server = *s->server_;
  Route(server, &s->api_);
  const int bound = port == 0 ? server.bind_to_any_port(host)
                              : (server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return Status::IOError("cannot listen on " + config.listen);
  }
  s->url_ = std::string(tls ? "https://" : "http://") + host + ":" +
            std::to_string(bound);
  s->thread_ = std::thread([&server] { server.listen_after_bind(); });
  // httplib's stop() does nothing before the accept loop runs: wait for it,
  // so that a Stop() right after Start() cannot leave the thread serving.
  for (int i = 0; i < 5000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server.is_running()) {
    return Status::Internal("the HTTP server did not start");
  }
  if (!config.endpoint_file.empty()) {
    RELAIS_RETURN_IF_ERROR(
        WriteFileAtomic(config.endpoint_file, s->url_ + "\n"));
  }
  spdlog::info("console: serving {} (agents file {})", s->url_,
               config.agents_file);
  return s;
}

ConsoleServer::~ConsoleServer() { Stop(); }

void ConsoleServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace relais::console
