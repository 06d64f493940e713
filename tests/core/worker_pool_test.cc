#include "core/worker_pool.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_name.h"

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

std::string NameOf(pthread_t thread) {
  char name[32] = {};
  pthread_getname_np(thread, name, sizeof(name));
  return name;
}

// Threads carry names that top -H, ps -L and perf show; Linux keeps 15
// bytes of them.
TEST(ThreadNameTest, NamesTheCallingThreadCutTo15Bytes) {
  std::string short_name, long_name;
  std::thread([&] {
    NameThisThread("journal-writer");
    short_name = NameOf(pthread_self());
    NameThisThread("a-name-of-twenty-bytes");
    long_name = NameOf(pthread_self());
  }).join();
  EXPECT_EQ(short_name, "journal-writer");
  EXPECT_EQ(long_name, "a-name-of-twent");
}

TEST(ThreadNameTest, APoolNamesItsHelpers) {
  WorkerPool pool(3, "sdk-verify");
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> helped{false};
  std::mutex mu;
  std::set<std::string> names;
  pool.ForEach(64, [&](size_t) {
    if (std::this_thread::get_id() == caller) {
      // Leave the items to the helpers until one has run (10 s at most),
      // however late they wake.
      for (int i = 0; i < 10000 && !helped.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    } else {
      helped = true;
    }
    std::lock_guard<std::mutex> lock(mu);
    names.insert(NameOf(pthread_self()));
  });
  // The caller keeps its own name; the helpers that ran items have the
  // pool's.
  ASSERT_TRUE(helped.load());
  names.erase(NameOf(pthread_self()));
  EXPECT_EQ(names, std::set<std::string>{"sdk-verify"});
}

}  // namespace
}  // namespace relais
