// libFuzzer target: what the France services console's API reads from a
// request before anything else does (adapters/france_services/
// api_requests.h, case_requests.h): the sign-in body, the Cookie header,
// the body of a case opening or check, and the query of the case list.
// The input is
//
//   COOKIE-HEADER-OR-QUERY \n BODY
//
// Nothing may crash or throw; a session token read is 64 lowercase hex
// digits or nothing; a sign-in read has a non-empty login and password
// that are valid UTF-8 (they came out of JSON strings) and a body within
// the limit; attachments read are at most 10, named by the rules, and
// PDF, PNG or JPEG by their first bytes, within the size limit; a
// refusal's message is UTF-8 text without control characters
// that repeats nothing of the body.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/france_services/api_requests.h"
#include "adapters/france_services/case_requests.h"
#include "core/text.h"

using namespace relais;

namespace {

// A refusal is clean French text that repeats nothing sent (no quote).
void CheckRefusal(const Status& st) {
  if (st.code() != Status::Code::kInvalidArgument) std::abort();
  if (!IsCleanText(st.message())) std::abort();
  if (st.message().find('"') != std::string::npos) std::abort();
}

void CheckCaseRequests(std::string_view query, std::string_view body) {
  for (bool opening : {false, true}) {
    auto r = console::ParseCaseRequest(body, opening);
    if (!r.ok()) {
      CheckRefusal(r.status());
      continue;
    }
    if (body.size() >
        console::MaxOpeningBytes(console::kDefaultMaxAttachmentBytes)) {
      std::abort();
    }
    // Attachments read are few, small enough, and what they say they are.
    if (r->attachments.size() > kMaxAttachments) std::abort();
    size_t total = 0;
    for (const auto& a : r->attachments) {
      if (!CheckAttachmentName(a.name).ok()) std::abort();
      if (a.content.empty() || SniffMediaType(a.content) != a.media_type) {
        std::abort();
      }
      total += a.content.size();
    }
    if (total > console::kDefaultMaxAttachmentBytes) std::abort();
    if (opening && (r->request_id.size() < 16 || r->request_id.size() > 64)) {
      std::abort();
    }
    if (!r->event.is_object()) std::abort();
    if (r->mandate_kind != "Oral" && r->mandate_kind != "Written") {
      std::abort();
    }
    if (r->recipients &&
        (r->recipients->empty() ||
         r->recipients->size() > console::kMaxCaseRecipients)) {
      std::abort();
    }
  }
  auto q = console::ParseListQuery(query);
  if (!q.ok()) {
    CheckRefusal(q.status());
    return;
  }
  if (q->limit < 1 || q->limit > 500) std::abort();
  for (const std::string* v : {&q->state, &q->q}) {
    if (v->size() > 200 || !IsCleanText(*v)) std::abort();
  }
}

}  // namespace

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
  CheckCaseRequests(cookie, body);
  return 0;
}
