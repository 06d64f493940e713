// storage/rocks.h on a real RocksDB in a temporary folder: the bounds,
// limits and stops of ForEach, a visitor's error passed on, and the
// statuses of FromRocks.

#include "storage/rocks.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"

namespace relais::storage {
namespace {

class ForEachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_, &db).ok());
    db_.reset(db);
    for (const char* key : {"a1", "a2", "a3", "b1", "c1"}) {
      ASSERT_TRUE(
          db_->Put(rocksdb::WriteOptions(), key, std::string("v") + key).ok());
    }
    ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), "a2").ok());
  }

  // The keys ForEach visits in `range`, stopping after `stop_at` if given.
  std::vector<std::string> Visited(const KeyRange& range,
                                   const std::string& stop_at = "") {
    std::vector<std::string> keys;
    Status st = ForEach(
        *db_, db_->DefaultColumnFamily(), range,
        [&](std::string_view key, std::string_view value) -> Result<Next> {
          EXPECT_EQ(value, "v" + std::string(key));
          keys.emplace_back(key);
          return key == stop_at ? Next::kStop : Next::kContinue;
        },
        "test scan");
    EXPECT_TRUE(st.ok()) << st.ToString();
    return keys;
  }

  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  const std::string dir_ = testing::MakeTestDir();
  std::unique_ptr<rocksdb::DB> db_;
};

using Keys = std::vector<std::string>;

TEST_F(ForEachTest, VisitsFromBeginBelowEndInOrder) {
  EXPECT_EQ(Visited({}), (Keys{"a1", "a3", "b1", "c1"}));  // a2 was deleted
  EXPECT_EQ(Visited({"a", "b"}), (Keys{"a1", "a3"}));
  EXPECT_EQ(Visited({"a3", "c1"}), (Keys{"a3", "b1"}));  // end excluded
  EXPECT_EQ(Visited({"b", {}}), (Keys{"b1", "c1"}));     // no upper bound
  EXPECT_EQ(Visited({"d", {}}), Keys{});
}

TEST_F(ForEachTest, StopsAtMaxOrWhenTheVisitorSaysSo) {
  EXPECT_EQ(Visited({{}, {}, 2}), (Keys{"a1", "a3"}));
  EXPECT_EQ(Visited({{}, {}, 0}), Keys{});
  EXPECT_EQ(Visited({}, "a3"), (Keys{"a1", "a3"}));
}

TEST_F(ForEachTest, AVisitorsErrorEndsTheScanAndIsReturned) {
  int visited = 0;
  Status st = ForEach(
      *db_, db_->DefaultColumnFamily(), {},
      [&](std::string_view, std::string_view) -> Result<Next> {
        ++visited;
        return Status::Corruption("malformed key");
      },
      "test scan");
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_EQ(st.message(), "malformed key");
  EXPECT_EQ(visited, 1);
}

TEST(FromRocksTest, EachRocksDbStatusHasItsCode) {
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK(), "x").ok());
  const Status missing = FromRocks(rocksdb::Status::NotFound(), "reading x");
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);
  EXPECT_EQ(missing.message(), "reading x");
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("bad block"), "x").code(),
            Status::Code::kCorruption);
  EXPECT_EQ(FromRocks(rocksdb::Status::NoSpace("full"), "x").code(),
            Status::Code::kNoSpace);
  const Status io = FromRocks(rocksdb::Status::IOError("EIO"), "writing x");
  EXPECT_EQ(io.code(), Status::Code::kIOError);
  EXPECT_NE(io.message().find("writing x: "), std::string::npos);
  EXPECT_NE(io.message().find("EIO"), std::string::npos);
}

}  // namespace
}  // namespace relais::storage
