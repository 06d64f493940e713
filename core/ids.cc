#include "core/ids.h"

#include <algorithm>
#include <iterator>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/identifiers.h"
#include "core/text.h"

namespace relais {
namespace {

bool IsSegment(std::string_view s) {
  if (s.empty()) return false;
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

bool IsAgency(std::string_view participant_id) {
  return std::find(std::begin(kAgencyIds), std::end(kAgencyIds),
                   participant_id) != std::end(kAgencyIds);
}

bool IsValidParticipantId(std::string_view id) {
  if (id.empty() || id.size() > kMaxParticipantIdSize) return false;
  const size_t slash = id.find('/');
  if (slash == std::string_view::npos) return IsSegment(id);
  return IsSegment(id.substr(0, slash)) && IsSegment(id.substr(slash + 1));
}

bool IsValidCaseId(std::string_view id) {
  if (id.empty() || id.size() > kMaxCaseIdSize) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string CaseIdProblem(std::string_view id) {
  if (!IsValidCaseId(id)) {
    return "must be 1 to 64 characters of A-Z a-z 0-9 . _ : -";
  }
  if (HoldsNir(id)) {
    return "holds a NIR (15 characters with a valid key); a case id is "
           "logged and shown to every party of the case: use one with no "
           "personal data";
  }
  return "";
}

Result<std::string> NewMessageId() {
  return crypto::RandomBytes(kMessageIdSize);
}

Result<std::string> NewCaseId(int64_t now_ms) {
  RELAIS_ASSIGN_OR_RETURN(std::string random, crypto::RandomBytes(6));
  const std::string date = FormatTimestamp(now_ms).substr(0, 10);
  std::string compact;
  for (char c : date) {
    if (c != '-') compact.push_back(c);
  }
  return "c-" + compact + "-" + HexEncode(random);
}

std::string KeyIdOf(std::string_view raw_public_key) {
  return HexEncode(crypto::Sha256(raw_public_key).substr(0, 8));
}

std::string FileNameOf(std::string_view participant_id) {
  std::string out(participant_id);
  for (char& c : out) {
    if (c == '/') c = '_';
  }
  return out;
}

Status CheckTcpEndpoint(std::string_view endpoint, bool listening,
                        std::string_view what) {
  auto bad = [&] {
    return Status::InvalidArgument(
        std::string(what) + ": '" + Escaped(endpoint, 128) +
        "' is not a TCP endpoint tcp://HOST:PORT (e.g. tcp://127.0.0.1:7400" +
        (listening ? "; port 0 picks a free port)" : ")"));
  };
  constexpr std::string_view kScheme = "tcp://";
  if (!endpoint.starts_with(kScheme)) return bad();
  const std::string_view rest = endpoint.substr(kScheme.size());
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  const std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return bad();
  }
  const int number = std::stoi(std::string(port));
  if (number > 65535 || (number == 0 && !listening)) return bad();
  if (host == "*") return listening ? Status::OK() : bad();
  if (host.front() == '[') {
    const bool ok = host.size() > 2 && host.back() == ']' &&
                    std::all_of(host.begin() + 1, host.end() - 1, [](char c) {
                      return std::isxdigit(static_cast<unsigned char>(c)) ||
                             c == ':' || c == '.';
                    });
    return ok ? Status::OK() : bad();
  }
  const bool ok =
      host.size() <= 253 && std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
               c == '.';
      });
  return ok ? Status::OK() : bad();
}

}  // namespace relais
