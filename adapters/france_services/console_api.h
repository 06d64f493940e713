#pragma once

// The console's JSON API (docs/CONSOLE.md, "API"): what it answers to one
// request, decided from the request's method, path, headers and body, the
// agents file, the sessions and the sign-in pauses. console_server.h puts
// it behind HTTP; tests call it directly.
//
//   POST   /api/session  sign in: {"login", "password"} -> 200 {"agent",
//                        "site_name", "csrf", "limits"} and the session cookie
//   GET    /api/session  who is signed in: the same
//   DELETE /api/session  sign out (the CSRF header required): 204
//   GET    /api/case-types        the eight case types, named in French
//   POST   /api/cases/check       the checks of an opening, nothing sent
//   POST   /api/cases             opens a case (idempotent by request id)
//   GET    /api/cases?state=&q=   the site's cases, newest first
//   GET    /api/cases/<case id>   one case, each agency's status, history
//
// Every other /api/ path needs a session (401 without one) and is 404.
// Every error is {"code": "<stable code>", "message": "<French>"}
// (docs/CONSOLE.md lists them).
//
// Thread-safety: Handle may be called from several threads at once.

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/france_services/agent_book.h"
#include "adapters/france_services/case_desk.h"
#include "adapters/france_services/sessions.h"
#include "adapters/france_services/sign_in_guard.h"
#include "core/clock.h"

namespace relais::console {

struct ApiRequest {
  std::string_view method;        // "GET", "POST", ...
  std::string_view path;          // decoded, without the query
  std::string_view query;         // the raw query string, without '?'
  std::string_view content_type;  // the header's value; empty if none
  std::string_view cookie;        // the Cookie header; empty if none
  std::string_view csrf;          // the X-CSRF-Token header; empty if none
  std::string_view body;
  std::string_view address;  // the client's IP address
};

// The implicit move is noexcept as nlohmann::ordered_json's is; clang-tidy
// cannot see through the library's invariant checks.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct ApiReply {
  int status = 200;
  nlohmann::ordered_json body;  // null: no body (204)
  std::string set_cookie;       // a Set-Cookie header's value, or empty
  std::string allow;            // the Allow header of a 405, or empty
  int retry_after_s = 0;        // a Retry-After header (429), or 0
};

// True for "application/json", with or without parameters.
bool IsJsonContentType(std::string_view content_type);
// An error answer: {"code", "message"}.
ApiReply ApiError(int status, std::string_view code, std::string message);
// 415 unsupported_media_type: a body that should have been JSON.
ApiReply NotJson();

struct ApiOptions {
  std::string agents_file;
  SessionLimits sessions;
  GuardLimits guard;
  bool secure_cookie = false;  // served over TLS: the cookie says Secure
  // The console's site (its participant id): only its agents sign in.
  // Empty: any agent of the file.
  std::string site;
  // The site's name for people ("France services Paris 15e"); empty: its
  // participant id.
  std::string site_name;
  // The site's cases (must outlive the API); null: no case endpoints
  // (404), for tests of the sessions alone.
  CaseDesk* desk = nullptr;
  // The attachments' total size per case (console.toml).
  size_t max_attachment_bytes = kDefaultMaxAttachmentBytes;
};

class ConsoleApi {
 public:
  // `clock` must outlive this (null: the system clock).
  explicit ConsoleApi(ApiOptions options, const Clock* clock = nullptr);

  ApiReply Handle(const ApiRequest& request);
  // Agents signed in now (sessions not yet ended or expired).
  size_t open_sessions() const { return sessions_.size(); }
  // The login of the agent whose session `cookie` (a Cookie header)
  // carries, if the session is live and the agent may still sign in; the
  // session's last request is now unless `touch` is false.
  std::optional<std::string> SignedInLogin(std::string_view cookie,
                                           bool touch = true);

 private:
  struct SignedIn {
    Session session;
    Agent agent;
  };

  ApiReply SignIn(const ApiRequest& request);
  ApiReply SignOut(const ApiRequest& request, const SignedIn& who);
  // The case endpoints (case_api.cc), for a signed-in agent.
  ApiReply Cases(const ApiRequest& request, const SignedIn& who);
  ApiReply CheckCase(const ApiRequest& request);
  ApiReply OpenCase(const ApiRequest& request, const SignedIn& who);
  ApiReply ListCases(const ApiRequest& request);
  ApiReply ShowCase(std::string_view case_id);
  // The signed-in agent of `request`; nullopt with `*refusal` set (401, or
  // 503 if the agents file cannot be read) if there is none.
  std::optional<SignedIn> Authenticate(const ApiRequest& request,
                                       ApiReply* refusal, bool touch = true);
  // The agents file as it is now: read again when it changed on disk.
  Result<std::shared_ptr<const AgentBook>> Book();
  std::string Cookie(const std::string& token, int64_t max_age_s) const;
  nlohmann::ordered_json SessionJson(const Agent& agent,
                                     const std::string& csrf) const;
  bool OfThisSite(const Agent& agent) const;

  const ApiOptions options_;
  const Clock* clock_;
  Sessions sessions_;
  SignInGuard guard_;

  std::mutex book_mu_;
  std::shared_ptr<const AgentBook> book_;  // guarded by book_mu_
  int64_t book_mtime_ns_ = -1;             // guarded by book_mu_
  int64_t book_size_ = -1;                 // guarded by book_mu_
};

}  // namespace relais::console
