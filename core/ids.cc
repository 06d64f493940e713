#include "core/ids.h"

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"

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

}  // namespace relais
