#include "adapters/france_services/console_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <utility>
#include <vector>

#include "core/files.h"
#include "core/metrics_http.h"
#include "core/text.h"

namespace relais::console {
namespace {

constexpr const char* kJson = "application/json; charset=utf-8";
// At most this many live-update streams at once (each holds one of the
// server's threads while it lasts); the next gets 503 and its page
// reloads the list from time to time instead.
constexpr int kMaxStreams = 48;
constexpr int kServerThreads = kMaxStreams + 16;
// A comment line on an idle stream this often, so that a proxy or the
// browser does not close it, and a closed one is noticed.
constexpr std::chrono::seconds kStreamKeepAlive{15};

// The pages (web/pages/), each at its address; all but the sign-in need
// a session (303 to /connexion otherwise). The page's script finds the
// case id in its own address.
struct Page {
  const char* pattern;  // httplib's regular expression
  const char* file;
  bool needs_session;
};
constexpr Page kPages[] = {
    {"/connexion", "connexion.html", false},
    {"/", "dossiers.html", true},
    {"/nouveau", "nouveau.html", true},
    {R"(/dossiers/[A-Za-z0-9_-]{1,64})", "dossier.html", true},
    {R"(/dossiers/[A-Za-z0-9_-]{1,64}/recepisse)", "recepisse.html", true},
};

// What every answer says: no cache (pages and answers are about
// citizens), no sniffing, no framing, scripts and styles of this origin
// only (no inline script: the pages have none).
httplib::Headers SecurityHeaders(bool tls) {
  httplib::Headers headers = {
      {"Cache-Control", "no-store"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "same-origin"},
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"}};
  if (tls) headers.emplace("Strict-Transport-Security", "max-age=31536000");
  return headers;
}

// The answer, by its status, to a request httplib refused before any
// handler (a body over the largest opening, a malformed request, no such
// page), to a pre-routing refusal, or to an exception a handler let
// escape (docs/CONSOLE.md, "Errors").
nlohmann::ordered_json ErrorBody(int status) {
  const auto body = [](const char* code, const char* message) {
    return nlohmann::ordered_json{{"code", code}, {"message", message}};
  };
  switch (status) {
    case 400:
      return body("bad_request", "La demande est mal formée.");
    case 404:
      return body("not_found", "Cette adresse n'existe pas.");
    case 405:
      return body("method_not_allowed",
                  "Cette adresse ne prend pas cette méthode.");
    case 411:
      return body("length_required",
                  "Le corps de la demande doit avoir une longueur "
                  "(Content-Length).");
    case 413:
      return body("too_large", "La demande est trop volumineuse.");
    case 414:
      return body("uri_too_long", "L'adresse demandée est trop longue.");
    default:
      return body("internal",
                  "Une erreur interne est survenue. Réessayez ; si cela dure, "
                  "prévenez l'équipe technique.");
  }
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
Result<std::unique_ptr<httplib::Server>> MakeServer(const ConsoleConfig& config,
                                                    size_t max_body) {
  const bool tls = !config.tls_certificate.empty();
  std::unique_ptr<httplib::Server> server;
  if (tls) {
    // Its mode first: OpenSSL would load a key every user can read.
    if (auto key = ReadSecretFile(config.tls_private_key, 1 << 20); !key.ok()) {
      return Status::InvalidArgument("tls_private_key: " +
                                     key.status().message());
    }
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
  server->set_payload_max_length(max_body);
  metrics::RefuseUnsafeRequests(
      *server, [](int status) { return Render(ErrorBody(status)); }, kJson);
  server->set_default_headers(SecurityHeaders(tls));
  server->new_task_queue = [] {
    return new httplib::ThreadPool(kServerThreads);
  };
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

// Every /api/ request, whatever its method, to `api` (the live updates
// are routed before).
void RouteApi(httplib::Server& server, ConsoleApi* api) {
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
  constexpr const char* kApi = "/api/.*";
  server.Get(kApi, handle);
  server.Post(kApi, handle);
  server.Put(kApi, handle);
  server.Patch(kApi, handle);
  server.Delete(kApi, handle);
  server.Options(kApi, handle);
}

void Reply(httplib::Response& res, const ApiReply& reply) {
  res.status = reply.status;
  res.set_content(Render(reply.body), kJson);
}

}  // namespace

ConsoleServer::ConsoleServer(ApiOptions options, const Clock* clock)
    : api_(std::move(options), clock) {}

Status ConsoleServer::LoadPages(const std::string& web_dir) {
  const std::string dsfr = web_dir + "/node_modules/@gouvfr/dsfr/dist";
  for (const std::string& needed :
       {web_dir + "/pages/dossiers.html", web_dir + "/static/console.js",
        dsfr + "/dsfr.min.css"}) {
    if (!std::filesystem::is_regular_file(needed)) {
      return Status::InvalidArgument(
          "the console's pages are not complete in " + web_dir + " (no " +
          needed +
          "): build relais (cmake --build build puts them in build/web) or "
          "set web_dir in console.toml");
    }
  }
  // Each page's <!--head-->, <!--header--> and <!--footer--> are the
  // parts every page shares (pages/_head.html, ...).
  std::vector<std::pair<std::string, std::string>> parts;
  for (const char* part : {"head", "header", "footer"}) {
    RELAIS_ASSIGN_OR_RETURN(
        std::string text,
        ReadFile(web_dir + "/pages/_" + part + ".html", 1 << 20));
    parts.emplace_back(std::string("<!--") + part + "-->", std::move(text));
  }
  for (const Page& page : kPages) {
    RELAIS_ASSIGN_OR_RETURN(std::string html,
                            ReadFile(web_dir + "/pages/" + page.file, 1 << 20));
    for (const auto& [mark, text] : parts) {
      if (const size_t at = html.find(mark); at != std::string::npos) {
        html.replace(at, mark.size(), text);
      }
    }
    pages_[page.file] = std::move(html);
  }
  if (!server_->set_mount_point("/dsfr", dsfr) ||
      !server_->set_mount_point("/static", web_dir + "/static")) {
    return Status::InvalidArgument("the console cannot serve " + web_dir);
  }
  return Status::OK();
}

void ConsoleServer::RoutePages() {
  for (const Page& page : kPages) {
    const std::string* html = &pages_.at(page.file);
    const bool needs_session = page.needs_session;
    server_->Get(page.pattern,
                 [this, html, needs_session](const httplib::Request& req,
                                             httplib::Response& res) {
                   if (needs_session &&
                       !api_.SignedInLogin(req.get_header_value("Cookie"))) {
                     res.status = 303;
                     res.set_header("Location", "/connexion");
                     return;
                   }
                   res.set_content(*html, "text/html; charset=utf-8");
                 });
  }
}

void ConsoleServer::RouteEvents(CaseIndex* index) {
  server_->Get("/api/events", [this, index](const httplib::Request& req,
                                            httplib::Response& res) {
    std::string cookie = req.get_header_value("Cookie");
    if (!api_.SignedInLogin(cookie)) {
      Reply(res, ApiError(401, "not_signed_in",
                          "Connectez-vous pour accéder à la console."));
      return;
    }
    if (streams_.fetch_add(1) >= kMaxStreams) {
      streams_.fetch_sub(1);
      Reply(res, ApiError(503, "too_many_streams",
                          "Trop de pages suivent les dossiers en direct ; "
                          "celle-ci se mettra à jour en rechargeant."));
      return;
    }
    // First the reconnection delay; then an event each time the index
    // changes, a comment when nothing did for kStreamKeepAlive. The
    // stream ends when its session does, or the server stops.
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, index, cookie = std::move(cookie), seen = index->changes(),
         started = false](size_t, httplib::DataSink& sink) mutable {
          if (!started) {
            started = true;
            const std::string hello = "retry: 3000\n\n";
            return sink.write(hello.data(), hello.size());
          }
          const uint64_t now = index->WaitForChange(seen, kStreamKeepAlive);
          if (stopping_.load() || !sink.is_writable() ||
              !api_.SignedInLogin(cookie, /*touch=*/false)) {
            return false;
          }
          const std::string message =
              now == seen
                  ? std::string(": nothing new\n\n")
                  : "event: cases\ndata: {\"changes\": " + std::to_string(now) +
                        "}\n\n";
          seen = now;
          return sink.write(message.data(), message.size());
        },
        [this](bool) { streams_.fetch_sub(1); });
  });
}

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
  options.site_name = config.site_name;
  options.max_attachment_bytes =
      static_cast<size_t>(config.attachments_max_kib) * 1024;
  std::unique_ptr<ConsoleServer> s(new ConsoleServer(options, clock));
  // An opening with its attachments is the largest body (ConsoleApi holds
  // every other to 64 KiB).
  RELAIS_ASSIGN_OR_RETURN(
      s->server_,
      MakeServer(config, MaxOpeningBytes(options.max_attachment_bytes)));
  httplib::Server& server = *s->server_;
  if (!config.web_dir.empty()) {
    RELAIS_RETURN_IF_ERROR(s->LoadPages(config.web_dir));
    s->RoutePages();
  }
  if (desk != nullptr) {
    s->index_ = &desk->index();
    s->RouteEvents(s->index_);
  }
  RouteApi(server, &s->api_);
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
  spdlog::info("console: serving {} (agents file {}{}{})", s->url_,
               config.agents_file, config.web_dir.empty() ? "" : ", pages in ",
               config.web_dir);
  return s;
}

ConsoleServer::~ConsoleServer() { Stop(); }

void ConsoleServer::Stop() {
  stopping_.store(true);
  // The live-update streams wait on the index: wake them so they end, and
  // keep one that was about to wait from waiting.
  if (index_ != nullptr) index_->StopWaits();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void ConsoleServer::WriteMetrics(metrics::TextWriter& w) const {
  using Type = metrics::TextWriter::Type;
  w.Family("relais_console_agent_sessions", "Agents signed in now.",
           Type::kGauge);
  w.Sample({}, static_cast<uint64_t>(api_.open_sessions()));
  w.Family("relais_console_live_streams",
           "Pages following the cases live (GET /api/events).", Type::kGauge);
  w.Sample({}, static_cast<int64_t>(streams_.load()));
}

}  // namespace relais::console
