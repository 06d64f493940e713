#include "core/stop_signals.h"

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

#include "core/thread_name.h"

namespace relais {
namespace {
std::mutex g_mu;
std::function<void()> g_on_stop;  // guarded by g_mu
std::atomic<bool> g_requested{false};

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

StopSignals& StopSignals::Install() {
  static StopSignals* instance = [] {
    auto* s = new StopSignals();
    const sigset_t set = StopSet();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([s, set] {
      NameThisThread("stop-signals");
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) == 0) s->Deliver();
      }
    }).detach();
    return s;
  }();
  return *instance;
}

void StopSignals::Deliver() {
  g_requested.store(true);
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_on_stop) g_on_stop();
}

void StopSignals::OnStop(std::function<void()> on_stop) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_on_stop = std::move(on_stop);
  if (g_requested.load() && g_on_stop) g_on_stop();
}

void StopSignals::Clear() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_on_stop = nullptr;
}

bool StopSignals::requested() const { return g_requested.load(); }

}  // namespace relais
