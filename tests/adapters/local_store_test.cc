#include "adapters/sdk/local_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "tests/support/fixtures.h"

namespace relais::sdk {
namespace {

// Processed ids with no outcome other than kProcessed and no hand-off.
std::vector<LocalStore::Entry> Ids(std::initializer_list<const char*> ids) {
  std::vector<LocalStore::Entry> out;
  for (const char* id : ids) {
    out.push_back({id, LocalStore::Outcome::kProcessed, {}});
  }
  return out;
}

namespace fs = std::filesystem;
using std::chrono::hours;

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/local_store_test_" +
           std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Reopen(LocalStore::Options options = {}) {
    store_.reset();
    auto s = LocalStore::Open(dir_, options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  std::string dir_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, OutboxKeepsUntilForgottenInOrderAcrossRestarts) {
  auto keys = store_->Keep({"first", "second", "third"});
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_LT((*keys)[0], (*keys)[1]);
  EXPECT_LT((*keys)[1], (*keys)[2]);
  ASSERT_TRUE(store_->Forget({(*keys)[1]}).ok());
  Reopen();
  auto kept = store_->Outbox();
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].envelope, "first");
  EXPECT_EQ((*kept)[1].envelope, "third");
  // New keys come after the restored ones, so the order holds.
  auto more = store_->Keep({"fourth"});
  ASSERT_TRUE(more.ok());
  EXPECT_GT((*more)[0], (*kept)[1].key);
  ASSERT_TRUE(store_->Forget({(*kept)[0].key}).ok());
  kept = store_->Outbox();
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].envelope, "third");
  EXPECT_EQ((*kept)[1].envelope, "fourth");
  // A keep also removes the answered ones it is given, in the same write.
  ASSERT_TRUE(store_->Keep({"fifth"}, {(*kept)[0].key}).ok());
  Reopen();
  kept = store_->Outbox();
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].envelope, "fourth");
  EXPECT_EQ((*kept)[1].envelope, "fifth");
  ASSERT_TRUE(store_->Forget({(*kept)[0].key, (*kept)[1].key}).ok());
  Reopen();
  kept = store_->Outbox();
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->empty());
}

// The client sends a submit under a reserved key while the keeper keeps
// it: an answer may then come before the keep, and the keep's own write
// must not leave it behind.
TEST_F(LocalStoreTest, ReservedKeysKeepTheOrderAndAnAnswerBeforeTheKeepWins) {
  const uint64_t first = store_->ReserveOutboxKeys(3);
  const uint64_t next = store_->ReserveOutboxKeys(1);
  EXPECT_EQ(next, first + 3);
  // Kept out of order, listed in key order; the second was answered before
  // its keep was written.
  ASSERT_TRUE(store_
                  ->KeepUnder({{first + 2, "third"}, {next, "fourth"}},
                              /*answered=*/{})
                  .ok());
  ASSERT_TRUE(store_
                  ->KeepUnder({{first, "first"}, {first + 1, "second"}},
                              /*answered=*/{first + 1})
                  .ok());
  Reopen();
  auto kept = store_->Outbox();
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_EQ((*kept)[0].envelope, "first");
  EXPECT_EQ((*kept)[1].envelope, "third");
  EXPECT_EQ((*kept)[2].envelope, "fourth");
  // Keys reserved after a restart come after every kept one.
  EXPECT_GT(store_->ReserveOutboxKeys(1), (*kept)[2].key);
}

TEST_F(LocalStoreTest, EffectsAreCommittedWithTheProcessedIds) {
  Effects batch = store_->NewEffects();
  batch.Put("count", "1");
  Effects delivery = batch.Stage();
  delivery.Put("last", "m1");
  EXPECT_EQ(*delivery.Get("count"), std::optional<std::string>("1"));
  EXPECT_EQ(*delivery.Get("last"), std::optional<std::string>("m1"));
  // A dropped stage (a handler that asked to retry) leaves nothing.
  Effects dropped = batch.Stage();
  dropped.Put("ghost", "x");
  batch.Absorb(std::move(delivery));
  // Nothing is visible in the store before the commit.
  EXPECT_FALSE(store_->GetEffect("count")->has_value());
  ASSERT_TRUE(store_
                  ->Commit({{"m1", LocalStore::Outcome::kProcessed, {}},
                            {"m2", LocalStore::Outcome::kRejected, {}}},
                           batch, 1000)
                  .ok());
  Reopen();
  LocalStore::Outcome outcome{};
  EXPECT_TRUE(*store_->Contains("m1", &outcome));
  EXPECT_EQ(outcome, LocalStore::Outcome::kProcessed);
  EXPECT_TRUE(*store_->Contains("m2", &outcome));
  EXPECT_EQ(outcome, LocalStore::Outcome::kRejected);
  EXPECT_FALSE(*store_->Contains("m3"));
  EXPECT_EQ(*store_->GetEffect("count"), std::optional<std::string>("1"));
  EXPECT_EQ(*store_->GetEffect("last"), std::optional<std::string>("m1"));
  EXPECT_FALSE(store_->GetEffect("ghost")->has_value());
  // Deleting through a later batch.
  Effects next = store_->NewEffects();
  next.Delete("last");
  EXPECT_FALSE(next.Get("last")->has_value());
  ASSERT_TRUE(store_->Commit({}, next, 2000).ok());
  EXPECT_FALSE(store_->GetEffect("last")->has_value());
  std::vector<std::string> keys;
  ASSERT_TRUE(store_
                  ->ForEachEffect("",
                                  [&](std::string_view k, std::string_view) {
                                    keys.emplace_back(k);
                                    return true;
                                  })
                  .ok());
  EXPECT_EQ(keys, std::vector<std::string>{"count"});
}

TEST_F(LocalStoreTest, ProcessedIdsAreForgottenAfterTheRetention) {
  Reopen({.retention = hours(24)});
  const int64_t day_ms = 24 * 3600 * 1000LL;
  const int64_t t0 = 100 * day_ms;
  Effects none = store_->NewEffects();
  ASSERT_TRUE(store_->Commit(Ids({"old-1", "old-2"}), none, t0).ok());
  ASSERT_TRUE(store_->Commit(Ids({"recent"}), none, t0 + day_ms / 2).ok());
  // Within the retention nothing goes.
  EXPECT_EQ(*store_->Prune(t0 + day_ms - 1), 0u);
  EXPECT_TRUE(*store_->Contains("old-1"));
  // A day after t0 the first two go, the recent one stays.
  auto pruned = store_->Prune(t0 + day_ms + 1);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2u);
  EXPECT_FALSE(*store_->Contains("old-1"));
  EXPECT_FALSE(*store_->Contains("old-2"));
  EXPECT_TRUE(*store_->Contains("recent"));
  // At most `limit` per call.
  ASSERT_TRUE(store_->Commit(Ids({"a", "b", "c"}), none, t0 + day_ms).ok());
  EXPECT_EQ(*store_->Prune(t0 + 3 * day_ms, 2), 2u);
  EXPECT_EQ(*store_->Prune(t0 + 3 * day_ms), 2u);  // "c" and "recent"
  EXPECT_FALSE(*store_->Contains("recent"));
}

// Every file under `dir`: its inode and its bytes, by relative path.
std::map<std::string, std::pair<ino_t, std::string>> Snapshot(
    const std::string& dir) {
  std::map<std::string, std::pair<ino_t, std::string>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    struct stat st {};
    EXPECT_EQ(::stat(e.path().c_str(), &st), 0) << e.path();
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    out[fs::relative(e.path(), dir).string()] = {st.st_ino, std::move(bytes)};
  }
  return out;
}

TEST_F(LocalStoreTest, DamagedStoreIsRefusedNotReset) {
  ASSERT_TRUE(store_->Commit(Ids({"m1"}), store_->NewEffects(), 1).ok());
  store_.reset();
  std::ofstream(dir_ + "/CURRENT", std::ios::trunc) << "MANIFEST-999999\n";
  const auto damaged = Snapshot(dir_);
  ASSERT_TRUE(damaged.count("CURRENT"));
  auto s = LocalStore::Open(dir_, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(dir_), std::string::npos)
      << s.status().ToString();
  // Not reset: the same files, byte for byte and none written anew (same
  // inodes), and none added.
  const auto after = Snapshot(dir_);
  EXPECT_EQ(after.size(), damaged.size());
  for (const auto& [name, file] : damaged) {
    SCOPED_TRACE(name);
    auto it = after.find(name);
    ASSERT_NE(it, after.end()) << "removed";
    EXPECT_EQ(it->second.first, file.first) << "recreated";
    EXPECT_TRUE(it->second.second == file.second) << "rewritten";
  }
  for (const auto& [name, file] : after) {
    EXPECT_TRUE(damaged.count(name)) << name << " was created";
  }
}

// A failed write (here the process's file size limit) is refused with an
// error; once the disk takes writes again, the next write makes the store
// writable (RocksDB needs a reopen after a failed log write), and nothing
// committed before is lost.
TEST_F(LocalStoreTest, RecoversAfterAFailedWrite) {
  ASSERT_TRUE(store_->Commit(Ids({"before"}), store_->NewEffects(), 1).ok());
  auto kept = store_->Keep({"kept before"});
  ASSERT_TRUE(kept.ok());
  {
    relais::testing::FileSizeLimit limit(0);
    EXPECT_FALSE(store_->Commit(Ids({"failed"}), store_->NewEffects(), 2).ok());
    EXPECT_FALSE(store_->Keep({"refused"}).ok());  // the disk still fails
    EXPECT_TRUE(*store_->Contains("before"));      // reads go on
  }
  Status st;
  for (int i = 0; i < 40; ++i) {  // a reopen is tried once a second
    st = store_->Commit(Ids({"after"}), store_->NewEffects(), 3);
    if (st.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(*store_->Contains("before"));
  EXPECT_TRUE(*store_->Contains("after"));
  EXPECT_FALSE(*store_->Contains("failed"));
  Reopen();
  EXPECT_TRUE(*store_->Contains("after"));
  auto outbox = store_->Outbox();
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ((*outbox)[0].envelope, "kept before");
}

// A message id as the broker makes them: 16 bytes, NULs included.
std::string MessageId(char last) { return std::string(15, '\0') + last; }

TEST_F(LocalStoreTest, HandOffsAreRecordedWithTheirProcessedIds) {
  Effects effects = store_->NewEffects();
  effects.Put("count", "2");
  std::vector<uint64_t> keys;
  ASSERT_TRUE(store_
                  ->Commit({{MessageId('1'), LocalStore::Outcome::kProcessed,
                             "record one"},
                            {MessageId('2'), LocalStore::Outcome::kRejected,
                             /*hand_off=*/""},
                            {MessageId('3'), LocalStore::Outcome::kProcessed,
                             "record three"}},
                           effects, 1000, &keys)
                  .ok());
  // A key for each entry with a hand-off, in entry order.
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_LT(keys[0], keys[1]);
  auto hand_offs = store_->HandOffs();
  ASSERT_TRUE(hand_offs.ok()) << hand_offs.status().ToString();
  ASSERT_EQ(hand_offs->size(), 2u);
  EXPECT_EQ((*hand_offs)[0].key, keys[0]);
  EXPECT_EQ((*hand_offs)[0].message_id, MessageId('1'));
  EXPECT_EQ((*hand_offs)[0].record, "record one");
  EXPECT_EQ((*hand_offs)[1].key, keys[1]);
  EXPECT_EQ((*hand_offs)[1].message_id, MessageId('3'));
  EXPECT_EQ((*hand_offs)[1].record, "record three");
  // In the same write as the processed ids and the effects.
  EXPECT_TRUE(*store_->Contains(MessageId('1')));
  EXPECT_TRUE(*store_->Contains(MessageId('2')));
  EXPECT_EQ(*store_->GetEffect("count"), std::optional<std::string>("2"));
}

TEST_F(LocalStoreTest, HandOffsStayUntilForgottenAcrossRestarts) {
  std::vector<uint64_t> first;
  ASSERT_TRUE(
      store_
          ->Commit({{MessageId('1'), LocalStore::Outcome::kProcessed, "one"},
                    {MessageId('2'), LocalStore::Outcome::kProcessed, "two"}},
                   store_->NewEffects(), 1000, &first)
          .ok());
  ASSERT_EQ(first.size(), 2u);
  Reopen();
  auto restored = store_->HandOffs();
  ASSERT_TRUE(restored.ok());
  ASSERT_EQ(restored->size(), 2u);
  EXPECT_EQ((*restored)[0].key, first[0]);
  EXPECT_EQ((*restored)[0].message_id, MessageId('1'));
  EXPECT_EQ((*restored)[0].record, "one");
  EXPECT_EQ((*restored)[1].key, first[1]);
  // Keys continue after the restored ones, so the order holds.
  std::vector<uint64_t> second;
  ASSERT_TRUE(
      store_
          ->Commit({{MessageId('3'), LocalStore::Outcome::kProcessed, "three"}},
                   store_->NewEffects(), 2000, &second)
          .ok());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_GT(second[0], first[1]);
  ASSERT_TRUE(store_->ForgetHandOffs({first[0], first[1]}).ok());
  Reopen();
  auto left = store_->HandOffs();
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].key, second[0]);
  EXPECT_EQ((*left)[0].message_id, MessageId('3'));
  EXPECT_EQ((*left)[0].record, "three");
  // Forgetting them does not forget the processed ids.
  EXPECT_TRUE(*store_->Contains(MessageId('1')));
  ASSERT_TRUE(store_->ForgetHandOffs({second[0]}).ok());
  EXPECT_TRUE(store_->HandOffs()->empty());
}

TEST_F(LocalStoreTest, CommitWithoutHandOffsRecordsNone) {
  std::vector<uint64_t> keys;
  ASSERT_TRUE(
      store_
          ->Commit({{MessageId('1'), LocalStore::Outcome::kProcessed, ""}},
                   store_->NewEffects(), 1000, &keys)
          .ok());
  EXPECT_TRUE(keys.empty());
  EXPECT_TRUE(store_->HandOffs()->empty());
  EXPECT_TRUE(store_->ForgetHandOffs({}).ok());
}

// All or nothing: a hand-off whose write failed is not there to complete,
// and its delivery (not recorded either) is handled again.
TEST_F(LocalStoreTest, AHandOffInAFailedCommitIsNotRecorded) {
  {
    relais::testing::FileSizeLimit limit(0);
    EXPECT_FALSE(
        store_
            ->Commit({{MessageId('1'), LocalStore::Outcome::kProcessed, "one"}},
                     store_->NewEffects(), 1000)
            .ok());
  }
  EXPECT_TRUE(store_->HandOffs()->empty());
  EXPECT_FALSE(*store_->Contains(MessageId('1')));
  Reopen();
  EXPECT_TRUE(store_->HandOffs()->empty());
  EXPECT_FALSE(*store_->Contains(MessageId('1')));
}

}  // namespace
}  // namespace relais::sdk
