#include "core/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace relais {
namespace {

int64_t ChronoNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- Clock::System and FakeClock --------------------------------------------

TEST(ClockTest, SystemClockIsOneClockThatReadsTheSystemTime) {
  const Clock* clock = Clock::System();
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(Clock::System(), clock);
  // Between two reads of the system clock (faked or not, both see the same
  // time).
  const int64_t before = ChronoNowMs();
  const int64_t now = clock->NowMs();
  const int64_t after = ChronoNowMs();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
  // Milliseconds, not seconds or microseconds: time(2) agrees to a second.
  const int64_t seconds = static_cast<int64_t>(std::time(nullptr));
  EXPECT_NEAR(static_cast<double>(clock->NowMs() / 1000),
              static_cast<double>(seconds), 2.0);
}

TEST(ClockTest, SystemClockMoves) {
  const int64_t first = Clock::System()->NowMs();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(Clock::System()->NowMs() - first, 15);
}

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  const int64_t start = Clock::System()->NowMs();
  FakeClock fake(start);
  const Clock& clock = fake;  // used as any clock is
  EXPECT_EQ(clock.NowMs(), start);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(clock.NowMs(), start);
  fake.Advance(1500);
  EXPECT_EQ(clock.NowMs(), start + 1500);
  fake.Advance(-2000);
  EXPECT_EQ(clock.NowMs(), start - 500);
  fake.Advance(0);
  EXPECT_EQ(clock.NowMs(), start - 500);
  fake.Set(42);
  EXPECT_EQ(clock.NowMs(), 42);
  fake.Set(-86400000);
  EXPECT_EQ(clock.NowMs(), -86400000);
}

TEST(ClockTest, FakeClockAdvancesFromSeveralThreadsLoseNothing) {
  FakeClock fake(1000);
  constexpr int kThreads = 4;
  constexpr int kSteps = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&fake, t] {
      for (int i = 0; i < kSteps; ++i) fake.Advance(t + 1);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fake.NowMs(), 1000 + int64_t{kSteps} * (1 + 2 + 3 + 4));
}

// --- FormatTimestamp and ParseTimestamp -------------------------------------

struct Known {
  int64_t ms;
  const char* text;
};

// Computed independently (Python's datetime, UTC).
constexpr Known kKnown[] = {
    {0, "1970-01-01T00:00:00.000Z"},
    {1, "1970-01-01T00:00:00.001Z"},
    {-1, "1969-12-31T23:59:59.999Z"},
    {-86400000, "1969-12-31T00:00:00.000Z"},
    {1795428245123, "2026-11-23T10:04:05.123Z"},  // clock.h's example
    {951868799999, "2000-02-29T23:59:59.999Z"},   // a leap day of a 400 year
    {951868800000, "2000-03-01T00:00:00.000Z"},
    {4107542400000, "2100-03-01T00:00:00.000Z"},   // 2100 has no 29 February
    {-5364662400000, "1800-01-01T00:00:00.000Z"},  // the first year allowed
    {32503679999999, "2999-12-31T23:59:59.999Z"},  // the last instant allowed
};

TEST(TimestampTest, FormatsKnownInstants) {
  for (const auto& k : kKnown) {
    SCOPED_TRACE(k.text);
    EXPECT_EQ(FormatTimestamp(k.ms), k.text);
  }
}

TEST(TimestampTest, ParsesKnownInstantsWithAndWithoutMilliseconds) {
  for (const auto& k : kKnown) {
    SCOPED_TRACE(k.text);
    auto ms = ParseTimestamp(k.text);
    ASSERT_TRUE(ms.ok()) << ms.status().ToString();
    EXPECT_EQ(*ms, k.ms);
  }
  EXPECT_EQ(*ParseTimestamp("2026-11-23T10:04:05Z"), 1795428245000);
  EXPECT_EQ(*ParseTimestamp("1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(*ParseTimestamp("2024-02-29T12:00:00.000Z"), 1709208000000);
}

TEST(TimestampTest, FormatThenParseGivesTheSameInstant) {
  // Instants spread over the years 1800 to 2999, at odd milliseconds.
  const int64_t first = -5364662400000;
  const int64_t last = 32503679999999;
  const int64_t step = (last - first) / 4999;
  for (int64_t ms = first; ms <= last; ms += step) {
    for (int64_t t : {ms, ms + 999, ms + 86399999}) {
      if (t > last) continue;
      const std::string text = FormatTimestamp(t);
      ASSERT_EQ(text.size(), 24u) << text;
      auto back = ParseTimestamp(text);
      ASSERT_TRUE(back.ok()) << text << ": " << back.status().ToString();
      ASSERT_EQ(*back, t) << text;
    }
  }
  // And today's time, whatever today is.
  const int64_t now = Clock::System()->NowMs();
  EXPECT_EQ(*ParseTimestamp(FormatTimestamp(now)), now);
}

TEST(TimestampTest, RefusesAnythingButUtcWithSecondsOrMilliseconds) {
  for (const char* bad : {
           "",
           "2026-11-23",
           "2026-11-23T10:04Z",
           "2026-11-23T10:04:05",        // no zone
           "2026-11-23T10:04:05z",       // lower-case zone
           "2026-11-23t10:04:05Z",       // lower-case T
           "2026-11-23 10:04:05Z",       // a space for T
           "2026-11-23T10:04:05+00:00",  // an offset, even zero
           "2026-11-23T10:04:05.123+01:00",
           "2026-11-23T10:04:05.1Z",  // 1, 2, 4 or 6 fraction digits
           "2026-11-23T10:04:05.12Z",
           "2026-11-23T10:04:05.1234Z",
           "2026-11-23T10:04:05.123456Z",
           "2026-11-23T10:04:05,123Z",  // a comma for the point
           "2026-11-23T10:04:05.Z",
           "2026-11-23T10:04:05.12xZ",
           "2026-11-23T24:00:00Z",  // hour, minute, second out of range
           "2026-11-23T10:60:00Z",
           "2026-11-23T10:04:60Z",  // no leap second
           "2026-11-23T1:04:05.000Z",
           "2026-11-23T10-04-05Z",
           "2026-13-01T00:00:00Z",  // impossible dates
           "2026-00-01T00:00:00Z",
           "2026-11-00T00:00:00Z",
           "2026-11-31T00:00:00Z",
           "2026-02-29T00:00:00Z",
           "2100-02-29T00:00:00Z",
           "1799-12-31T23:59:59Z",  // outside 1800..2999
           "3000-01-01T00:00:00Z",
           "+2026-11-23T10:04:05Z",
           "-002-11-23T10:04:05Z",
           "2026/11/23T10:04:05Z",
           " 2026-11-23T10:04:05Z",
           "2026-11-23T10:04:05Z ",
           "2026-11-23T10:04:05ZZ",
       }) {
    SCOPED_TRACE(bad);
    auto ms = ParseTimestamp(bad);
    ASSERT_FALSE(ms.ok()) << *ms;
    EXPECT_EQ(ms.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(TimestampTest, ValidDatesAreCalendarDatesOf1800To2999) {
  for (const char* good :
       {"1800-01-01", "2999-12-31", "2026-11-23", "2000-02-29", "2024-02-29",
        "1804-02-29", "2026-01-31", "2026-04-30", "2026-12-31"}) {
    EXPECT_TRUE(IsValidDate(good)) << good;
  }
  for (const char* bad : {"",           "1799-12-31",  "3000-01-01",
                          "1900-02-29", "2100-02-29",  "2026-02-29",
                          "2026-02-30", "2026-04-31",  "2026-06-31",
                          "2026-09-31", "2026-11-31",  "2026-01-32",
                          "2026-00-10", "2026-13-10",  "2026-10-00",
                          "2026-1-10",  "2026-01-1",   "26-01-10",
                          "2026/01/10", "2026-01-10 ", "2026-01-10T00:00:00Z",
                          "20260110",   "2026-0a-10",  "+026-01-10"}) {
    EXPECT_FALSE(IsValidDate(bad)) << bad;
  }
}

}  // namespace
}  // namespace relais
