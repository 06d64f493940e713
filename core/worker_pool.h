#pragma once

// WorkerPool: runs one job's items on several threads at once, the
// caller's among them, and returns when every item is done. For work that
// must be spread over the cores but whose results are used in order by
// one thread (the SDK verifies a batch of deliveries in parallel, then
// hands them to the handler in arrival order).
//
// Thread-safety: ForEach may be called from one thread at a time (calls
// are serialised); `fn` runs concurrently on up to `threads` threads and
// must be safe for that.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace relais {

class WorkerPool {
 public:
  // `threads` counts the caller: 0 or 1 starts no helper (ForEach then runs
  // everything on the caller's thread). The helpers are named `name`
  // (core/thread_name.h).
  explicit WorkerPool(size_t threads, const char* name = "worker-pool");
  ~WorkerPool();  // joins the helpers
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Calls fn(i) once for each i in [0, n), spread over the helpers and the
  // caller; returns once all n calls have returned.
  void ForEach(size_t n, const std::function<void(size_t)>& fn);

  size_t threads() const { return helpers_.size() + 1; }

 private:
  void Help();
  // Takes items of the current job until none is left.
  void Drain(const std::function<void(size_t)>& fn, size_t n);

  std::mutex call_mu_;  // one ForEach at a time
  std::mutex mu_;
  std::condition_variable work_cv_;  // helpers: a new job, or stopping
  std::condition_variable done_cv_;  // caller: the job is finished
  // The current job, guarded by mu_.
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t n_ = 0;
  size_t next_ = 0;   // next item to take
  size_t done_ = 0;   // items finished
  size_t busy_ = 0;   // helpers inside the current job
  uint64_t job_ = 0;  // counts jobs, so a helper takes each one once
  bool stopping_ = false;
  std::vector<std::thread> helpers_;
};

}  // namespace relais
