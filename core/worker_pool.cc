#include "core/worker_pool.h"

#include "core/thread_name.h"

namespace relais {

WorkerPool::WorkerPool(size_t threads, const char* name) {
  for (size_t i = 1; i < threads; ++i) {
    helpers_.emplace_back([this, name] {
      NameThisThread(name);
      Help();
    });
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : helpers_) t.join();
}

void WorkerPool::Drain(const std::function<void(size_t)>& fn, size_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  while (next_ < n) {
    const size_t i = next_++;
    lock.unlock();
    fn(i);
    lock.lock();
    if (++done_ == n) done_cv_.notify_all();
  }
}

void WorkerPool::Help() {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(size_t)>* fn = nullptr;
    size_t n = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || job_ != seen; });
      if (stopping_) return;
      seen = job_;
      if (fn_ == nullptr) continue;  // that job is over already
      fn = fn_;
      n = n_;
      ++busy_;
    }
    Drain(*fn, n);
    std::lock_guard<std::mutex> lock(mu_);
    if (--busy_ == 0) done_cv_.notify_all();
  }
}

void WorkerPool::ForEach(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (helpers_.empty() || n == 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::lock_guard<std::mutex> call(call_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    n_ = n;
    next_ = 0;
    done_ = 0;
    ++job_;
  }
  work_cv_.notify_all();
  Drain(fn, n);
  std::unique_lock<std::mutex> lock(mu_);
  // Every item done, and no helper still holds `fn` (it lives on the
  // caller's stack).
  done_cv_.wait(lock, [&] { return done_ == n && busy_ == 0; });
  fn_ = nullptr;
}

}  // namespace relais
