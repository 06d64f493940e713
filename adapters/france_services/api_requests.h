#pragma once

// What the console's JSON API reads from a request before anything else
// looks at it: the sign-in body and the session cookie. Every byte here
// comes from a browser or a script on the network; errors name the field,
// never what was sent, and are in French (the API's answers are shown to
// agents). Fuzz target: tests/fuzz/console_request_fuzz.cc.
//
// Thread-safety: pure functions.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace relais::console {

// The cookie that carries a session's token.
inline constexpr std::string_view kSessionCookie = "relais_session";
// The header that carries a session's CSRF token on every change.
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";
// The largest sign-in body read.
inline constexpr size_t kMaxSignInBytes = 4096;

struct SignInRequest {
  std::string login;
  std::string password;
};

// The body of POST /api/session: a JSON object with the strings "login"
// and "password" and nothing else. InvalidArgument (in French, naming the
// field) otherwise.
Result<SignInRequest> ParseSignIn(std::string_view body);

// InvalidArgument, in the agent's words, if an object of the JSON `body`
// names a key twice (the parser would keep the last one silently: a
// sign-in as another login, a field changed): says where, not the key.
Status RefuseRepeatedKeys(std::string_view body);

// The value of the session cookie in a Cookie header ("a=1; relais_session=
// <token>; b=2"); empty if there is none, or if it is not 64 lowercase
// hexadecimal digits (a token this console could have made).
std::string SessionTokenOf(std::string_view cookie_header);

}  // namespace relais::console
