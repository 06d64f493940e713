#include "adapters/france_services/sessions.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "adapters/france_services/sign_in_guard.h"

namespace relais::console {
namespace {

constexpr int64_t kMinute = 60 * 1000;

// Starts at the real time: nothing here mixes a fixed date with the clock.
class SessionsTest : public ::testing::Test {
 protected:
  FakeClock clock_{Clock::System()->NowMs()};
};

TEST_F(SessionsTest, ASessionIsFoundByItsTokenOnly) {
  Sessions sessions(&clock_);
  auto a = sessions.Open("a.martin");
  auto b = sessions.Open("a.martin");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->token.size(), 64u);
  EXPECT_EQ(a->csrf.size(), 64u);
  const std::set<std::string> distinct = {a->token, a->csrf, b->token, b->csrf};
  EXPECT_EQ(distinct.size(), 4u);
  auto found = sessions.Find(a->token);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->login, "a.martin");
  EXPECT_EQ(found->csrf, a->csrf);
  EXPECT_FALSE(sessions.Find(a->csrf).has_value());
  EXPECT_FALSE(sessions.Find("").has_value());
  std::string near = a->token;
  near.back() = near.back() == '0' ? '1' : '0';
  EXPECT_FALSE(sessions.Find(near).has_value());
}

TEST_F(SessionsTest, TheCsrfTokenMustBeTheSessionsOwn) {
  Sessions sessions(&clock_);
  auto a = sessions.Open("a.martin");
  auto b = sessions.Open("b.durand");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(Sessions::CsrfMatches(*a, a->csrf));
  EXPECT_FALSE(Sessions::CsrfMatches(*a, b->csrf));
  EXPECT_FALSE(Sessions::CsrfMatches(*a, ""));
  EXPECT_FALSE(Sessions::CsrfMatches(*a, a->csrf.substr(1)));
  EXPECT_FALSE(Sessions::CsrfMatches(*a, a->token));
}

TEST_F(SessionsTest, ASessionEndsWhenIdleOrTooOld) {
  Sessions sessions(&clock_, {.idle_ms = 30 * kMinute,
                              .absolute_ms = 60 * kMinute,
                              .max_sessions = 100});
  auto s = sessions.Open("a.martin");
  ASSERT_TRUE(s.ok());
  // Used every 20 minutes: alive until the hour is up.
  for (int i = 0; i < 2; ++i) {
    clock_.Advance(20 * kMinute);
    EXPECT_TRUE(sessions.Find(s->token).has_value()) << i;
  }
  clock_.Advance(20 * kMinute);  // 60 minutes old
  EXPECT_FALSE(sessions.Find(s->token).has_value());
  EXPECT_EQ(sessions.size(), 0u);

  auto idle = sessions.Open("a.martin");
  ASSERT_TRUE(idle.ok());
  clock_.Advance(30 * kMinute);
  EXPECT_FALSE(sessions.Find(idle->token).has_value());
}

TEST_F(SessionsTest, SignOutAndDisablingEndSessions) {
  Sessions sessions(&clock_);
  auto a1 = sessions.Open("a.martin");
  auto a2 = sessions.Open("a.martin");
  auto b = sessions.Open("b.durand");
  ASSERT_TRUE(a1.ok() && a2.ok() && b.ok());
  sessions.Close(a1->token);
  EXPECT_FALSE(sessions.Find(a1->token).has_value());
  EXPECT_TRUE(sessions.Find(a2->token).has_value());
  EXPECT_EQ(sessions.CloseAllOf("a.martin"), 1u);
  EXPECT_FALSE(sessions.Find(a2->token).has_value());
  EXPECT_TRUE(sessions.Find(b->token).has_value());
}

TEST_F(SessionsTest, AFullTableEndsTheIdlestSession) {
  Sessions sessions(&clock_, {.max_sessions = 3});
  auto first = sessions.Open("a");
  clock_.Advance(1000);
  auto second = sessions.Open("b");
  clock_.Advance(1000);
  auto third = sessions.Open("c");
  ASSERT_TRUE(first.ok() && second.ok() && third.ok());
  clock_.Advance(1000);
  ASSERT_TRUE(sessions.Find(first->token).has_value());  // now the freshest
  auto fourth = sessions.Open("d");
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_FALSE(sessions.Find(second->token).has_value());
  EXPECT_TRUE(sessions.Find(first->token).has_value());
  EXPECT_TRUE(sessions.Find(third->token).has_value());
  EXPECT_TRUE(sessions.Find(fourth->token).has_value());
}

class SignInGuardTest : public SessionsTest {};

TEST_F(SignInGuardTest, PausesGrowAfterTheFreeFailures) {
  SignInGuard guard(&clock_, {.free_failures = 3,
                              .window_ms = 15 * kMinute,
                              .first_pause_ms = 30 * 1000,
                              .max_pause_ms = 2 * kMinute});
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(guard.WaitMs("a.martin", "10.0.0.1"), 0);
    guard.Failed("a.martin", "10.0.0.1");
  }
  EXPECT_EQ(guard.WaitMs("a.martin", "10.0.0.1"), 0);
  guard.Failed("a.martin", "10.0.0.1");  // the third: a pause begins
  EXPECT_EQ(guard.WaitMs("a.martin", "10.0.0.1"), 30 * 1000);
  // The same login from elsewhere, and elsewhere from this address, wait
  // too.
  EXPECT_EQ(guard.WaitMs("a.martin", "10.0.0.2"), 30 * 1000);
  EXPECT_EQ(guard.WaitMs("b.durand", "10.0.0.1"), 30 * 1000);
  EXPECT_EQ(guard.WaitMs("b.durand", "10.0.0.2"), 0);
  clock_.Advance(30 * 1000);
  EXPECT_EQ(guard.WaitMs("a.martin", "10.0.0.1"), 0);
  guard.Failed("a.martin", "10.0.0.1");
  EXPECT_EQ(guard.WaitMs("a.martin", "10.0.0.1"), 60 * 1000);
  clock_.Advance(60 * 1000);
  guard.Failed("a.martin", "10.0.0.1");
  EXPECT_EQ(guard.WaitMs("a.martin", "10.0.0.1"), 2 * kMinute);  // capped
  clock_.Advance(2 * kMinute);
  guard.Failed("a.martin", "10.0.0.1");
  EXPECT_EQ(guard.WaitMs("a.martin", "10.0.0.1"), 2 * kMinute);
}

TEST_F(SignInGuardTest, ASuccessOrTheWindowClearsTheCount) {
  SignInGuard guard(&clock_, {.free_failures = 1,
                              .window_ms = 15 * kMinute,
                              .first_pause_ms = 1000,
                              .max_pause_ms = 60 * 1000});
  guard.Failed("a.martin", "10.0.0.1");
  EXPECT_GT(guard.WaitMs("a.martin", "10.0.0.9"), 0);
  guard.Succeeded("a.martin");
  EXPECT_EQ(guard.WaitMs("a.martin", "10.0.0.9"), 0);
  EXPECT_GT(guard.WaitMs("b.durand", "10.0.0.1"), 0) << "the address's count";
  clock_.Advance(15 * kMinute);
  EXPECT_EQ(guard.WaitMs("b.durand", "10.0.0.1"), 0);
  guard.Failed("b.durand", "10.0.0.1");  // a new window: one free failure
  EXPECT_EQ(guard.WaitMs("b.durand", "10.0.0.3"), 1000);
}

TEST_F(SignInGuardTest, TheTablesStayBounded) {
  SignInGuard guard(&clock_, {.free_failures = 1,
                              .window_ms = 15 * kMinute,
                              .first_pause_ms = 1000,
                              .max_pause_ms = 60 * 1000,
                              .max_entries = 10});
  guard.Failed("first", "10.0.0.0");
  for (int i = 1; i <= 20; ++i) {
    clock_.Advance(1);
    guard.Failed("login" + std::to_string(i), "10.0.1." + std::to_string(i));
  }
  EXPECT_EQ(guard.WaitMs("first", "elsewhere"), 0) << "forgotten, oldest first";
  EXPECT_GT(guard.WaitMs("login20", "elsewhere"), 0);
}

}  // namespace
}  // namespace relais::console
