#include "adapters/france_services/sessions.h"

#include <algorithm>
#include <utility>

#include "core/bytes.h"
#include "core/crypto.h"

namespace relais::console {
namespace {

constexpr size_t kTokenBytes = 32;

Result<std::string> NewToken() {
  RELAIS_ASSIGN_OR_RETURN(std::string raw, crypto::RandomBytes(kTokenBytes));
  return HexEncode(raw);
}

}  // namespace

Sessions::Sessions(const Clock* clock, SessionLimits limits)
    : clock_(clock ? clock : Clock::System()), limits_(limits) {}

Result<Session> Sessions::Open(const std::string& login) {
  Session s;
  RELAIS_ASSIGN_OR_RETURN(s.token, NewToken());
  RELAIS_ASSIGN_OR_RETURN(s.csrf, NewToken());
  s.login = login;
  s.created_ms = s.last_ms = clock_->NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  if (by_hash_.size() >= limits_.max_sessions) {
    std::erase_if(by_hash_, [&](const auto& kv) {
      return Expired(kv.second, s.created_ms);
    });
  }
  while (!by_hash_.empty() && by_hash_.size() >= limits_.max_sessions) {
    EvictIdlest();
  }
  by_hash_[crypto::Sha256(s.token)] = s;
  return s;
}

std::optional<Session> Sessions::Find(std::string_view token, bool touch) {
  const std::string key = crypto::Sha256(token);
  const int64_t now = clock_->NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(key);
  if (it == by_hash_.end()) return std::nullopt;
  if (Expired(it->second, now)) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  if (touch) it->second.last_ms = now;
  return it->second;
}

bool Sessions::CsrfMatches(const Session& session, std::string_view csrf) {
  return csrf.size() == session.csrf.size() &&
         crypto::ConstantTimeEquals(csrf, session.csrf);
}

void Sessions::Close(std::string_view token) {
  const std::string key = crypto::Sha256(token);
  std::lock_guard<std::mutex> lock(mu_);
  by_hash_.erase(key);
}

size_t Sessions::CloseAllOf(std::string_view login) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::erase_if(
      by_hash_, [&](const auto& kv) { return kv.second.login == login; });
}

size_t Sessions::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.size();
}

bool Sessions::Expired(const Session& s, int64_t now) const {
  return now - s.last_ms >= limits_.idle_ms ||
         now - s.created_ms >= limits_.absolute_ms;
}

void Sessions::EvictIdlest() {
  auto idlest = std::min_element(by_hash_.begin(), by_hash_.end(),
                                 [](const auto& a, const auto& b) {
                                   return a.second.last_ms < b.second.last_ms;
                                 });
  by_hash_.erase(idlest);
}

}  // namespace relais::console
