#include "adapters/france_services/console_api.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <utility>

#include "adapters/france_services/api_requests.h"
#include "core/text.h"

namespace relais::console {
namespace {

using json = nlohmann::ordered_json;

ApiReply NotSignedIn() {
  return ApiError(401, "not_signed_in", "Connectez-vous pour continuer.");
}

ApiReply AgentsUnavailable() {
  return ApiError(503, "agents_unavailable",
                  "La connexion est momentanément impossible. Réessayez plus "
                  "tard ; si cela dure, prévenez l'équipe technique.");
}

json AgentJson(const Agent& a) {
  return json{{"login", a.login}, {"name", a.name}, {"site", a.site}};
}

// The key a login's failures are counted under: the login if it could be
// one, else one shared key (what is typed may be 4 KiB of anything).
std::string GuardKey(std::string_view login) {
  return CheckLogin(login).ok() ? std::string(login) : "(not a login)";
}

// "30 secondes", "1 seconde", "3 minutes" (from two minutes on, rounded
// up).
std::string InFrench(int seconds) {
  if (seconds >= 120) return std::to_string((seconds + 59) / 60) + " minutes";
  return std::to_string(seconds) + (seconds == 1 ? " seconde" : " secondes");
}

}  // namespace

bool IsJsonContentType(std::string_view content_type) {
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  return type == "application/json";
}

ApiReply ApiError(int status, std::string_view code, std::string message) {
  ApiReply r;
  r.status = status;
  r.body = json{{"code", code}, {"message", std::move(message)}};
  return r;
}

ApiReply NotJson() {
  return ApiError(415, "unsupported_media_type",
                  "La demande doit être envoyée en JSON (application/json).");
}

ConsoleApi::ConsoleApi(ApiOptions options, const Clock* clock)
    : options_(std::move(options)),
      clock_(clock ? clock : Clock::System()),
      sessions_(clock_, options_.sessions),
      guard_(clock_, options_.guard) {}

ApiReply ConsoleApi::Handle(const ApiRequest& req) {
  if (req.path.substr(0, 5) != "/api/") {
    return ApiError(404, "not_found", "Cette adresse n'existe pas.");
  }
  // Only an opening carries attachments: the server takes bodies of its
  // size, every other request is held to 64 KiB here.
  if (req.body.size() > kMaxCaseRequestBytes &&
      !(req.path == "/api/cases" && req.method == "POST")) {
    return ApiError(413, "too_large", "La demande est trop volumineuse.");
  }
  if (req.path == "/api/session") {
    if (req.method == "POST") return SignIn(req);
    if (req.method != "GET" && req.method != "HEAD" && req.method != "DELETE") {
      ApiReply r = ApiError(405, "method_not_allowed",
                            "Cette adresse n'accepte pas cette méthode.");
      r.allow = "GET, POST, DELETE";
      return r;
    }
  }
  ApiReply refusal;
  const std::optional<SignedIn> who = Authenticate(req, &refusal);
  if (!who) return refusal;
  const SignedIn& in = *who;
  if (req.method != "GET" && req.method != "HEAD" &&
      !Sessions::CsrfMatches(in.session, req.csrf)) {
    spdlog::warn("console: a change by {} without its CSRF token refused",
                 in.agent.login);
    return ApiError(403, "csrf_refused",
                    "La demande n'a pas pu être vérifiée. Rechargez la page et "
                    "recommencez.");
  }
  if (req.path == "/api/session") {
    if (req.method == "DELETE") return SignOut(req, in);
    ApiReply r;
    r.body = SessionJson(in.agent, in.session.csrf);
    return r;
  }
  if (options_.desk != nullptr) return Cases(req, in);
  return ApiError(404, "not_found", "Cette adresse n'existe pas.");
}

ApiReply ConsoleApi::SignIn(const ApiRequest& req) {
  if (!IsJsonContentType(req.content_type)) {
    return NotJson();
  }
  auto request = ParseSignIn(req.body);
  if (!request.ok()) {
    return ApiError(400, "bad_request", request.status().message());
  }
  const int64_t wait_ms = guard_.WaitMs(GuardKey(request->login), req.address);
  if (wait_ms > 0) {
    const int seconds = static_cast<int>((wait_ms + 999) / 1000);
    ApiReply r = ApiError(429, "sign_in_paused",
                          "Trop d'essais de connexion. Réessayez dans " +
                              InFrench(seconds) + ".");
    r.retry_after_s = seconds;
    return r;
  }
  auto book = Book();
  if (!book.ok()) return AgentsUnavailable();
  auto outcome = CheckSignIn(**book, request->login, request->password);
  if (!outcome.ok()) {
    spdlog::error("console: sign-in check failed: {}",
                  outcome.status().ToString());
    return AgentsUnavailable();
  }
  if (*outcome == SignIn::kRefused) {
    guard_.Failed(GuardKey(request->login), req.address);
    // Only an agent's login: what else was typed may be anything, a
    // citizen's name too.
    spdlog::warn("console: sign-in refused for {} from {}",
                 (*book)->Find(request->login)
                     ? request->login
                     : std::string("an unknown login"),
                 Escaped(req.address, 64));
    return ApiError(401, "sign_in_refused",
                    "Identifiant ou mot de passe incorrect.");
  }
  if (*outcome == SignIn::kDisabled) {
    spdlog::warn("console: sign-in of disabled agent {} refused",
                 request->login);
    return ApiError(403, "agent_disabled",
                    "Ce compte est désactivé. Adressez-vous au responsable de "
                    "votre espace France services.");
  }
  const Agent* agent = (*book)->Find(request->login);
  if (!OfThisSite(*agent)) {
    spdlog::warn("console: sign-in of {}, an agent of another site, refused",
                 request->login);
    return ApiError(403, "agent_other_site",
                    "Ce compte appartient à un autre espace France services : "
                    "connectez-vous à la console de votre espace.");
  }
  guard_.Succeeded(request->login);
  auto session = sessions_.Open(request->login);
  if (!session.ok()) {
    spdlog::error("console: {}", session.status().ToString());
    return AgentsUnavailable();
  }
  spdlog::info("console: {} signed in from {}", agent->login,
               Escaped(req.address, 64));
  ApiReply r;
  r.body = SessionJson(*agent, session->csrf);
  r.set_cookie = Cookie(session->token, options_.sessions.absolute_ms / 1000);
  return r;
}

ApiReply ConsoleApi::SignOut(const ApiRequest& req, const SignedIn& who) {
  sessions_.Close(SessionTokenOf(req.cookie));
  spdlog::info("console: {} signed out", who.agent.login);
  ApiReply r;
  r.status = 204;
  r.set_cookie = Cookie("", 0);
  return r;
}

std::optional<ConsoleApi::SignedIn> ConsoleApi::Authenticate(
    const ApiRequest& req, ApiReply* refusal, bool touch) {
  *refusal = NotSignedIn();
  const std::string token = SessionTokenOf(req.cookie);
  if (token.empty()) return std::nullopt;
  auto session = sessions_.Find(token, touch);
  if (!session) return std::nullopt;
  auto book = Book();
  if (!book.ok()) {
    *refusal = AgentsUnavailable();
    return std::nullopt;
  }
  const Agent* agent = (*book)->Find(session->login);
  if (agent == nullptr || agent->disabled || !OfThisSite(*agent)) {
    // Disabled, moved to another site (or removed by hand) since the
    // sign-in: every session ends.
    sessions_.CloseAllOf(session->login);
    spdlog::warn(
        "console: {}'s sessions ended: the agent is disabled or "
        "of another site now",
        session->login);
    return std::nullopt;
  }
  return SignedIn{std::move(*session), *agent};
}

std::optional<std::string> ConsoleApi::SignedInLogin(std::string_view cookie,
                                                     bool touch) {
  ApiRequest req;
  req.method = "GET";
  req.cookie = cookie;
  ApiReply refusal;
  auto who = Authenticate(req, &refusal, touch);
  if (!who) return std::nullopt;
  return who->agent.login;
}

nlohmann::ordered_json ConsoleApi::SessionJson(const Agent& agent,
                                               const std::string& csrf) const {
  return json{{"agent", AgentJson(agent)},
              {"site_name",
               options_.site_name.empty() ? agent.site : options_.site_name},
              {"csrf", csrf},
              {"limits",
               {{"attachments", kMaxAttachments},
                {"attachments_bytes", options_.max_attachment_bytes}}}};
}

Result<std::shared_ptr<const AgentBook>> ConsoleApi::Book() {
  struct stat st {};
  if (::stat(options_.agents_file.c_str(), &st) != 0) {
    spdlog::error("console: the agents file {} cannot be read",
                  options_.agents_file);
    return Status::Unavailable("the agents file cannot be read");
  }
  const int64_t mtime_ns =
      int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  std::lock_guard<std::mutex> lock(book_mu_);
  if (book_ && mtime_ns == book_mtime_ns_ && st.st_size == book_size_) {
    return book_;
  }
  auto loaded = AgentBook::Load(options_.agents_file);
  if (!loaded.ok()) {
    spdlog::error("console: {}", loaded.status().ToString());
    return loaded.status();
  }
  book_ = std::make_shared<const AgentBook>(std::move(*loaded));
  book_mtime_ns_ = mtime_ns;
  book_size_ = st.st_size;
  return book_;
}

bool ConsoleApi::OfThisSite(const Agent& agent) const {
  return options_.site.empty() || agent.site == options_.site;
}

std::string ConsoleApi::Cookie(const std::string& token,
                               int64_t max_age_s) const {
  std::string c = std::string(kSessionCookie) + "=" + token +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                  std::to_string(max_age_s);
  if (options_.secure_cookie) c += "; Secure";
  return c;
}

}  // namespace relais::console
