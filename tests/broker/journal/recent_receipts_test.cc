#include "broker/journal/recent_receipts.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace relais::broker::journal {
namespace {

// The acceptance of `id` at `sequence` (its other fields derived from it).
std::pair<std::string, DedupEntry> Accepted(const std::string& id,
                                            uint64_t sequence) {
  return {id,
          DedupEntry{sequence, 1795392000000 + static_cast<int64_t>(sequence),
                     "sha of " + id, "sender of " + id}};
}

// Remembers batches first..last, batch n accepting "m<n>" at sequence 10n
// (and batch 2 also "m2b").
void RememberBatches(RecentReceipts* r, uint64_t first, uint64_t last) {
  for (uint64_t n = first; n <= last; ++n) {
    std::vector<std::pair<std::string, DedupEntry>> accepted = {
        Accepted("m" + std::to_string(n), 10 * n)};
    if (n == 2) accepted.push_back(Accepted("m2b", 21));
    r->Remember(n, std::move(accepted));
  }
}

// FindAfter finds an acceptance only in a batch numbered above the one
// given, with the entry as remembered.
TEST(RecentReceiptsTest, FindAfterFindsOnlyLaterBatches) {
  RecentReceipts r;
  RememberBatches(&r, 1, 3);
  const DedupEntry* e = r.FindAfter("m2", 1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->sequence, 20u);
  EXPECT_EQ(e->accepted_at_ms, 1795392000020);
  EXPECT_EQ(e->header_sha256, "sha of m2");
  EXPECT_EQ(e->sender, "sender of m2");
  ASSERT_NE(r.FindAfter("m2b", 0), nullptr);
  EXPECT_EQ(r.FindAfter("m2b", 0)->sequence, 21u);

  // Batch 2's acceptances are not after batch 2, nor after 3.
  EXPECT_EQ(r.FindAfter("m2", 2), nullptr);
  EXPECT_EQ(r.FindAfter("m2b", 2), nullptr);
  EXPECT_EQ(r.FindAfter("m2", 3), nullptr);
  EXPECT_NE(r.FindAfter("m3", 2), nullptr);
  EXPECT_NE(r.FindAfter("m1", 0), nullptr);
  EXPECT_EQ(r.FindAfter("m1", 1), nullptr);
  // Ids never accepted, and a prefix of one that was.
  EXPECT_EQ(r.FindAfter("m4", 0), nullptr);
  EXPECT_EQ(r.FindAfter("m", 0), nullptr);
  EXPECT_EQ(r.FindAfter("", 0), nullptr);
}

// Before anything is remembered, lookups made at batch 0 (or later) are
// covered: there is nothing after them to miss.
TEST(RecentReceiptsTest, AFreshOneCoversEverything) {
  RecentReceipts r(4);
  EXPECT_TRUE(r.Covers(0));
  EXPECT_TRUE(r.Covers(5));
  EXPECT_EQ(r.FindAfter("m1", 0), nullptr);
}

// Only the last `batches_kept` batches are kept: a lookup made before the
// oldest kept one is no longer covered, and the evicted batches'
// acceptances are not found any more.
TEST(RecentReceiptsTest, EvictionRaisesWhatIsCovered) {
  RecentReceipts r(3);
  RememberBatches(&r, 1, 3);
  EXPECT_TRUE(r.Covers(0));
  RememberBatches(&r, 4, 5);  // batches 1 and 2 evicted
  EXPECT_FALSE(r.Covers(0));
  EXPECT_FALSE(r.Covers(1));
  EXPECT_TRUE(r.Covers(2));  // batches 3, 4, 5 are all there
  EXPECT_TRUE(r.Covers(5));
  EXPECT_EQ(r.FindAfter("m1", 0), nullptr);
  EXPECT_EQ(r.FindAfter("m2", 0), nullptr);
  EXPECT_EQ(r.FindAfter("m2b", 0), nullptr);
  ASSERT_NE(r.FindAfter("m3", 2), nullptr);
  EXPECT_EQ(r.FindAfter("m3", 2)->sequence, 30u);
  EXPECT_NE(r.FindAfter("m5", 4), nullptr);

  RememberBatches(&r, 6, 6);  // batch 3 evicted
  EXPECT_FALSE(r.Covers(2));
  EXPECT_TRUE(r.Covers(3));
  EXPECT_EQ(r.FindAfter("m3", 2), nullptr);
  EXPECT_NE(r.FindAfter("m4", 3), nullptr);
}

// Large batches are evicted by their acceptances, not their number; the
// latest batch stays whatever its size.
TEST(RecentReceiptsTest, LargeBatchesAreEvictedByTheirAcceptances) {
  RecentReceipts r(100, 3);
  RememberBatches(&r, 1, 2);  // batch 2 holds two: three in all
  EXPECT_TRUE(r.Covers(0));
  EXPECT_NE(r.FindAfter("m1", 0), nullptr);
  RememberBatches(&r, 3, 3);  // four: batch 1 goes
  EXPECT_FALSE(r.Covers(0));
  EXPECT_TRUE(r.Covers(1));
  EXPECT_EQ(r.FindAfter("m1", 0), nullptr);
  EXPECT_NE(r.FindAfter("m2b", 1), nullptr);
  std::vector<std::pair<std::string, DedupEntry>> big;
  for (int i = 0; i < 5; ++i)
    big.push_back(Accepted("b" + std::to_string(i), 100 + i));
  r.Remember(4, std::move(big));  // five alone: every earlier batch goes
  EXPECT_FALSE(r.Covers(2));
  EXPECT_TRUE(r.Covers(3));
  EXPECT_EQ(r.FindAfter("m3", 2), nullptr);
  ASSERT_NE(r.FindAfter("b4", 3), nullptr);
  EXPECT_EQ(r.FindAfter("b4", 3)->sequence, 104u);
}

// An id remembered again by a later batch outlives the eviction of the
// earlier one.
TEST(RecentReceiptsTest, AnIdRememberedAgainSurvivesTheOlderBatch) {
  RecentReceipts r(2);
  r.Remember(1, {Accepted("dup", 10)});
  r.Remember(2, {Accepted("dup", 20)});
  r.Remember(3, {Accepted("other", 30)});  // batch 1 evicted
  const DedupEntry* e = r.FindAfter("dup", 1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->sequence, 20u);
}

// After Forget(n), lookups made before batch n are not covered and nothing
// remembered before is found; lookups made at n or later are covered, and
// the batches remembered after it are found again.
TEST(RecentReceiptsTest, ForgetDistrustsEarlierLookups) {
  RecentReceipts r;
  RememberBatches(&r, 1, 5);
  r.Forget(5);
  EXPECT_FALSE(r.Covers(0));
  EXPECT_FALSE(r.Covers(4));
  EXPECT_TRUE(r.Covers(5));
  for (const char* id : {"m1", "m2", "m2b", "m3", "m4", "m5"}) {
    EXPECT_EQ(r.FindAfter(id, 0), nullptr) << id;
  }
  RememberBatches(&r, 6, 7);
  EXPECT_FALSE(r.Covers(4));
  EXPECT_TRUE(r.Covers(5));
  ASSERT_NE(r.FindAfter("m6", 5), nullptr);
  EXPECT_EQ(r.FindAfter("m6", 5)->sequence, 60u);
  EXPECT_EQ(r.FindAfter("m6", 6), nullptr);
  EXPECT_NE(r.FindAfter("m7", 6), nullptr);
}

// Eviction after a Forget never lowers what is covered below the Forget.
TEST(RecentReceiptsTest, EvictionAfterForgetKeepsTheFloorRising) {
  RecentReceipts r(2);
  RememberBatches(&r, 1, 3);
  r.Forget(10);
  RememberBatches(&r, 11, 12);
  EXPECT_FALSE(r.Covers(9));
  EXPECT_TRUE(r.Covers(10));
  RememberBatches(&r, 13, 13);  // batch 11 evicted
  EXPECT_FALSE(r.Covers(10));
  EXPECT_TRUE(r.Covers(11));
  EXPECT_EQ(r.FindAfter("m11", 10), nullptr);
  EXPECT_NE(r.FindAfter("m12", 11), nullptr);
}

}  // namespace
}  // namespace relais::broker::journal
