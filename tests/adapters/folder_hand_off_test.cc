#include "adapters/sdk/folder_hand_off.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "tests/support/fixtures.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;
using testing::FileNames;
using testing::MakeTestDir;
using testing::Slurp;
using testing::Spit;

// A message id as the broker makes them: 16 bytes, NULs included.
const std::string kId1(
    "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
    "\x0d\x0e\xff",
    16);
const std::string kId2(16, '\x42');

using NameList = std::vector<std::string>;

class FolderHandOffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(root_);
    fs::create_directories(outbox_);
    fs::create_directories(status_);
  }
  void TearDown() override { fs::remove_all(root_); }

  const fs::path root_ = fs::path(MakeTestDir());
  const fs::path outbox_ = root_ / "outbox";
  const fs::path status_ = root_ / "status";
  FolderHandOffs hand_offs_{
      {{"outbox", outbox_.string()}, {"status", status_.string()}}};
};

TEST_F(FolderHandOffTest, StagingNameIsHiddenAndNamesTheMessage) {
  EXPECT_EQ(FolderHandOffs::StagingName(kId1),
            ".relais-000102030405060708090a0b0c0d0eff.handoff");
}

TEST_F(FolderHandOffTest, PrepareWritesOnlyAHiddenFileAndReturnsItsRecord) {
  auto record = hand_offs_.Prepare("outbox", kId1, "case-1.json", "{\"a\":1}");
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  const std::string staging = FolderHandOffs::StagingName(kId1);
  EXPECT_EQ(FileNames(outbox_), NameList{staging});
  EXPECT_EQ(Slurp(outbox_ / staging), "{\"a\":1}");
  EXPECT_TRUE(FileNames(status_).empty());
  const auto r = nlohmann::json::parse(*record);
  EXPECT_EQ(r, (nlohmann::json{{"folder", "outbox"},
                               {"staging", staging},
                               {"file", "case-1.json"}}));
}

TEST_F(FolderHandOffTest, CompleteRenamesEachFileToItsFinalName) {
  auto a = hand_offs_.Prepare("outbox", kId1, "case-1.json", "one");
  auto b = hand_offs_.Prepare("status", kId2, "report.json", "two");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(hand_offs_.Complete({*a, *b}).ok());
  EXPECT_EQ(FileNames(outbox_), NameList{"case-1.json"});
  EXPECT_EQ(Slurp(outbox_ / "case-1.json"), "one");
  EXPECT_EQ(FileNames(status_), NameList{"report.json"});
  EXPECT_EQ(Slurp(status_ / "report.json"), "two");
  // Citizens' data: the owner and its group (the partner system's account,
  // deploy/systemd) read it, nobody else, whatever the umask.
  for (const fs::path& p : {outbox_ / "case-1.json", status_ / "report.json"}) {
    EXPECT_EQ(fs::status(p).permissions(), fs::perms::owner_read |
                                               fs::perms::owner_write |
                                               fs::perms::group_read)
        << p;
  }
}

// After a crash the same record is completed again: the rename was done
// (and the partner may have taken the file since). Nothing is created.
TEST_F(FolderHandOffTest, CompleteIsIdempotent) {
  auto record = hand_offs_.Prepare("outbox", kId1, "case-1.json", "one");
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(hand_offs_.Complete({*record}).ok());
  ASSERT_TRUE(hand_offs_.Complete({*record}).ok());
  EXPECT_EQ(FileNames(outbox_), NameList{"case-1.json"});
  EXPECT_EQ(Slurp(outbox_ / "case-1.json"), "one");
  // The partner took the file.
  fs::remove(outbox_ / "case-1.json");
  ASSERT_TRUE(hand_offs_.Complete({*record}).ok());
  EXPECT_TRUE(FileNames(outbox_).empty());
}

// The delivery comes again after a crash before it was recorded: the hidden
// file is written again, with what the handler made this time.
TEST_F(FolderHandOffTest, PrepareAgainReplacesTheHiddenFile) {
  ASSERT_TRUE(hand_offs_.Prepare("outbox", kId1, "case-1.json", "first").ok());
  auto record = hand_offs_.Prepare("outbox", kId1, "case-1.json", "second");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(FileNames(outbox_), NameList{FolderHandOffs::StagingName(kId1)});
  ASSERT_TRUE(hand_offs_.Complete({*record}).ok());
  EXPECT_EQ(Slurp(outbox_ / "case-1.json"), "second");
}

TEST_F(FolderHandOffTest, PrepareRefusesUnknownFoldersAndUnsafeNames) {
  EXPECT_EQ(hand_offs_.Prepare("inbox", kId1, "a.json", "x").status().code(),
            Status::Code::kInvalidArgument);
  for (const std::string& name :
       NameList{"", ".hidden.json", ".", "..", "../a.json", "sub/a.json",
                std::string(256, 'a')}) {
    EXPECT_EQ(hand_offs_.Prepare("outbox", kId1, name, "x").status().code(),
              Status::Code::kInvalidArgument)
        << "'" << name << "'";
  }
  EXPECT_TRUE(FileNames(outbox_).empty());
  EXPECT_TRUE(FileNames(status_).empty());
  // 255 characters is still a file name.
  EXPECT_TRUE(
      hand_offs_.Prepare("outbox", kId1, std::string(255, 'a'), "x").ok());
}

TEST_F(FolderHandOffTest, CompleteRefusesRecordsItDidNotWrite) {
  const std::string staging = FolderHandOffs::StagingName(kId1);
  auto good = hand_offs_.Prepare("outbox", kId1, "case-1.json", "one");
  ASSERT_TRUE(good.ok());
  const auto with = [&](const char* key, nlohmann::json value) {
    auto r = nlohmann::json::parse(*good);
    r[key] = std::move(value);
    return r.dump();
  };
  const auto without = [&](const char* key) {
    auto r = nlohmann::json::parse(*good);
    r.erase(key);
    return r.dump();
  };
  for (const std::string& bad : {
           std::string("not json"),
           std::string("[]"),
           without("folder"),
           without("staging"),
           without("file"),
           with("folder", 1),
           with("file", nlohmann::json::array()),
           with("folder", "inbox"),         // unknown folder
           with("file", "../escape.json"),  // out of the folder
           with("file", ".hidden.json"),
           with("file", ""),
           with("staging", "case-1.json"),  // not a staging name
           with("staging", ".relais-x/../../y"),
       }) {
    EXPECT_EQ(hand_offs_.Complete({bad}).code(), Status::Code::kCorruption)
        << bad;
  }
  // Nothing moved.
  EXPECT_EQ(FileNames(outbox_), NameList{staging});
  EXPECT_TRUE(FileNames(status_).empty());
}

// A case and its attachments: each hidden until the record completes,
// then renamed in order (the case file last), also after a crash half-way.
TEST_F(FolderHandOffTest, SeveralFilesAppearTogetherTheLastOneLast) {
  auto record = hand_offs_.PrepareAll("outbox", kId1,
                                      {{"case-1.pj1.pdf", "%PDF-1"},
                                       {"case-1.pj.json", "{}"},
                                       {"case-1.json", "{\"a\":1}"}});
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  const NameList staged = {FolderHandOffs::StagingName(kId1, 0),
                           FolderHandOffs::StagingName(kId1, 1),
                           FolderHandOffs::StagingName(kId1, 2)};
  NameList sorted = staged;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(FileNames(outbox_), sorted);
  EXPECT_EQ(FolderHandOffs::StagingName(kId1, 2),
            ".relais-000102030405060708090a0b0c0d0eff.2.handoff");
  // A crash after the first rename: the next Complete does the rest.
  fs::rename(outbox_ / staged[0], outbox_ / "case-1.pj1.pdf");
  ASSERT_TRUE(hand_offs_.Complete({*record}).ok());
  EXPECT_EQ(FileNames(outbox_),
            (NameList{"case-1.json", "case-1.pj.json", "case-1.pj1.pdf"}));
  EXPECT_EQ(Slurp(outbox_ / "case-1.pj1.pdf"), "%PDF-1");
  EXPECT_EQ(Slurp(outbox_ / "case-1.json"), "{\"a\":1}");
  ASSERT_TRUE(hand_offs_.Complete({*record}).ok()) << "idempotent";
  // Unsafe names are refused before anything is written.
  EXPECT_EQ(
      hand_offs_
          .PrepareAll("outbox", kId2, {{"ok.pdf", "x"}, {"../escape.pdf", "y"}})
          .status()
          .code(),
      Status::Code::kInvalidArgument);
  EXPECT_EQ(hand_offs_.PrepareAll("outbox", kId2, {}).status().code(),
            Status::Code::kInvalidArgument);
  // A record whose list names an unsafe file is not one of ours.
  auto forged = nlohmann::json::parse(*record);
  forged["files"][1]["file"] = "../escape.json";
  EXPECT_EQ(hand_offs_.Complete({forged.dump()}).code(),
            Status::Code::kCorruption);
  // Orphans of several files go too.
  ASSERT_TRUE(
      hand_offs_.PrepareAll("outbox", kId2, {{"b.pdf", "x"}, {"b.json", "y"}})
          .ok());
  EXPECT_EQ(hand_offs_.RemoveOrphans(), 2u);
}

// Left by a crash before the hand-off was recorded: the hidden files and
// the temporary files they are written through go; nothing else does.
TEST_F(FolderHandOffTest, RemoveOrphansRemovesOnlyHandOffFiles) {
  ASSERT_TRUE(hand_offs_.Prepare("outbox", kId1, "case-1.json", "one").ok());
  ASSERT_TRUE(hand_offs_.Prepare("status", kId2, "report.json", "two").ok());
  const std::string partial =
      "." + FolderHandOffs::StagingName(kId2) + ".tmp";  // WriteFileAtomic's
  Spit(outbox_ / partial, "half");
  const NameList kept = {".partner-hidden", ".relais-notes.txt", "case-0.json",
                         "relais-x.handoff"};
  for (const auto& n : kept) Spit(outbox_ / n, "kept");
  Spit(status_ / "report-0.json", "kept");
  EXPECT_EQ(hand_offs_.RemoveOrphans(), 3u);
  EXPECT_EQ(FileNames(outbox_), kept);
  EXPECT_EQ(FileNames(status_), NameList{"report-0.json"});
  EXPECT_EQ(hand_offs_.RemoveOrphans(), 0u);
}

TEST_F(FolderHandOffTest, RemoveOrphansWithAMissingFolderRemovesTheRest) {
  ASSERT_TRUE(hand_offs_.Prepare("status", kId2, "report.json", "two").ok());
  fs::remove_all(outbox_);
  EXPECT_EQ(hand_offs_.RemoveOrphans(), 1u);
  EXPECT_TRUE(FileNames(status_).empty());
}

}  // namespace
}  // namespace relais::sdk
