#pragma once

// SIGINT and SIGTERM as a stop request that is never lost, however early it
// comes. Install() blocks both signals in the calling thread (so in every
// thread started after it) and waits for them on a thread of its own: a
// signal that arrives while a program is still starting is kept, and the
// stop callback registered once the program is ready runs at once.
//
// Thread-safety: every method may be called from any thread. The callback
// runs on the signal thread.

#include <functional>

namespace relais {

class StopSignals {
 public:
  // Call first in main, before any thread is started (threads started
  // earlier would still take the signals' default action). Idempotent.
  static StopSignals& Install();

  // Calls `on_stop` when SIGINT or SIGTERM arrives, or at once if one has
  // already arrived. Replaces any earlier callback.
  void OnStop(std::function<void()> on_stop);
  // Removes the callback; returns once it is no longer running. Call it
  // before whatever the callback touches is destroyed.
  void Clear();
  // Whether a stop signal has arrived.
  bool requested() const;

 private:
  StopSignals() = default;
  void Deliver();
};

}  // namespace relais
