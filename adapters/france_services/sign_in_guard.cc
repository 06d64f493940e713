#include "adapters/france_services/sign_in_guard.h"

#include <algorithm>

namespace relais::console {

SignInGuard::SignInGuard(const Clock* clock, GuardLimits limits)
    : clock_(clock ? clock : Clock::System()), limits_(limits) {}

int64_t SignInGuard::PauseOf(const Table& table, std::string_view key,
                             int64_t now) const {
  auto it = table.find(std::string(key));
  if (it == table.end()) return 0;
  const Count& c = it->second;
  if (now - c.last_ms >= limits_.window_ms) return 0;
  const int over = c.failures - limits_.free_failures;
  if (over < 0) return 0;
  int64_t pause = limits_.first_pause_ms;
  for (int i = 0; i < over && pause < limits_.max_pause_ms; ++i) pause *= 2;
  pause = std::min(pause, limits_.max_pause_ms);
  return std::max<int64_t>(0, c.last_ms + pause - now);
}

void SignInGuard::Add(Table& table, std::string_view key, int64_t now) {
  auto [it, added] = table.try_emplace(std::string(key));
  Count& c = it->second;
  if (!added && now - c.last_ms >= limits_.window_ms) c.failures = 0;
  ++c.failures;
  c.last_ms = now;
  if (table.size() > limits_.max_entries) {
    std::erase_if(table, [&](const auto& kv) {
      return now - kv.second.last_ms >= limits_.window_ms;
    });
  }
  while (table.size() > limits_.max_entries) {
    table.erase(std::min_element(table.begin(), table.end(),
                                 [](const auto& a, const auto& b) {
                                   return a.second.last_ms < b.second.last_ms;
                                 }));
  }
}

int64_t SignInGuard::WaitMs(std::string_view login, std::string_view address) {
  const int64_t now = clock_->NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  return std::max(PauseOf(logins_, login, now),
                  PauseOf(addresses_, address, now));
}

void SignInGuard::Failed(std::string_view login, std::string_view address) {
  const int64_t now = clock_->NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  Add(logins_, login, now);
  Add(addresses_, address, now);
}

void SignInGuard::Succeeded(std::string_view login) {
  std::lock_guard<std::mutex> lock(mu_);
  logins_.erase(std::string(login));
}

}  // namespace relais::console
