#include "core/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace relais {
namespace {

// Every item runs exactly once, whatever the number of threads and items,
// over many jobs in a row (helpers that wake late must not run an item of
// a finished job, or miss one of the next).
TEST(WorkerPoolTest, EveryItemRunsOnceInEveryJob) {
  for (size_t threads : {0, 1, 2, 4}) {
    WorkerPool pool(threads);
    EXPECT_EQ(pool.threads(), threads == 0 ? 1 : threads);
    for (size_t n : {0, 1, 2, 7, 64, 1000}) {
      for (int job = 0; job < 20; ++job) {
        std::vector<std::atomic<int>> runs(n);
        pool.ForEach(n, [&](size_t i) { runs[i].fetch_add(1); });
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(runs[i].load(), 1)
              << "item " << i << " of " << n << " with " << threads;
        }
      }
    }
  }
}

// The items really run on several threads at once: with 3 threads, three
// items that each wait for the others all get in (one thread alone would
// wait forever, so the test would time out rather than pass).
TEST(WorkerPoolTest, ItemsRunConcurrently) {
  WorkerPool pool(3);
  std::atomic<int> inside{0};
  std::mutex mu;
  std::set<std::thread::id> ids;
  pool.ForEach(3, [&](size_t) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
    }
    inside.fetch_add(1);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (inside.load() < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  });
  EXPECT_EQ(inside.load(), 3);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(ids.count(std::this_thread::get_id()));  // the caller helped
}

}  // namespace
}  // namespace relais
