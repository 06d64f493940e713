#include "broker/delivery/recent_envelopes.h"

#include <gtest/gtest.h>

namespace relais::broker::delivery {
namespace {

TEST(RecentEnvelopesTest, KeepsTheLatestWithinItsBudget) {
  RecentEnvelopes recent(10);
  recent.Remember("a", "1234");
  recent.Remember("b", "5678");
  ASSERT_NE(recent.Find("a"), nullptr);
  EXPECT_EQ(*recent.Find("a"), "1234");
  EXPECT_EQ(recent.bytes(), 8u);
  // A third of 4 bytes: the oldest goes.
  recent.Remember("c", "9abc");
  EXPECT_EQ(recent.Find("a"), nullptr);
  EXPECT_EQ(*recent.Find("b"), "5678");
  EXPECT_EQ(*recent.Find("c"), "9abc");
  EXPECT_EQ(recent.bytes(), 8u);
  EXPECT_EQ(recent.size(), 2u);
}

TEST(RecentEnvelopesTest, AnIdKeepsItsFirstBytesAndTheOversizedAreNotKept) {
  RecentEnvelopes recent(10);
  recent.Remember("a", "1234");
  recent.Remember("a", "other");
  EXPECT_EQ(*recent.Find("a"), "1234");
  EXPECT_EQ(recent.bytes(), 4u);
  recent.Remember("big", std::string(11, 'x'));
  EXPECT_EQ(recent.Find("big"), nullptr);
  EXPECT_EQ(*recent.Find("a"), "1234");  // nothing evicted for it
  // One that needs the whole budget evicts everything else.
  recent.Remember("whole", std::string(10, 'y'));
  EXPECT_EQ(recent.Find("a"), nullptr);
  EXPECT_EQ(recent.bytes(), 10u);
  EXPECT_EQ(recent.size(), 1u);
}

}  // namespace
}  // namespace relais::broker::delivery
