// libFuzzer target: what the France services console's API reads from a
// request before anything else does (adapters/france_services/
// api_requests.h): the sign-in body and the Cookie header. The input is
//
//   COOKIE-HEADER \n SIGN-IN-BODY
//
// Nothing may crash or throw; a session token read is 64 lowercase hex
// digits or nothing; a sign-in read has a non-empty login and password
// that are valid UTF-8 (they came out of JSON strings) and a body within
// the limit; a refusal's message is UTF-8 text without control characters
// that repeats nothing of the body.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/france_services/api_requests.h"
#include "core/text.h"

using namespace relais;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view cookie = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos
                                    ? std::string_view()
                                    : input.substr(newline + 1);

  const std::string token = console::SessionTokenOf(cookie);
  if (!token.empty()) {
    if (token.size() != 64) std::abort();
    for (char c : token) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) std::abort();
    }
    if (cookie.find(token) == std::string_view::npos) std::abort();
  }

  auto signin = console::ParseSignIn(body);
  if (signin.ok()) {
    if (body.size() > console::kMaxSignInBytes) std::abort();
    if (signin->login.empty() || signin->password.empty()) std::abort();
    if (InvalidUtf8At(signin->login) != signin->login.size() ||
        InvalidUtf8At(signin->password) != signin->password.size()) {
      std::abort();
    }
  } else {
    const Status refusal = signin.status();
    const std::string& message = refusal.message();
    if (!IsCleanText(message)) std::abort();
    // Every refusal is one of the fixed French sentences: none holds a
    // double quote, which any JSON body needs.
    if (message.find('"') != std::string::npos) std::abort();
  }
  return 0;
}
