#include "broker/journal/journal.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "broker/journal/journal_format.h"
#include "core/bytes.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::broker::journal {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTestDir();
    dir_ = root_ + "/journal";
    auto j = Journal::Open(dir_, JournalOptions());
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
  }
  void TearDown() override {
    journal_.reset();
    std::filesystem::remove_all(root_);
  }
  std::string root_;  // this run's own folder
  std::string dir_;
  std::unique_ptr<Journal> journal_;
};

TEST_F(JournalTest, WriteReadAndAck) {
  auto b = journal_->NewBatch();
  b->PutMessage("id-1", "envelope one");
  b->PutOutbox("caf", 1, "id-1");
  b->PutOutbox("cpam", 1, "id-1");
  b->PutMessage("id-2", "envelope two");
  b->PutOutbox("caf", 2, "id-2");
  ASSERT_TRUE(journal_->Commit(b.get()).ok());

  EXPECT_EQ(*journal_->GetMessage("id-2"), "envelope two");
  EXPECT_EQ(journal_->GetMessage("id-3").status().code(),
            Status::Code::kNotFound);
  std::vector<OutboxEntry> out;
  ASSERT_TRUE(journal_->ReadOutbox("caf", 0, 10, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].sequence, 1u);
  EXPECT_EQ(out[1].message_id, "id-2");

  // Ack: the entry leaves caf's outbox only.
  auto ack = journal_->NewBatch();
  ack->DeleteOutbox("caf", 1);
  ASSERT_TRUE(journal_->Commit(ack.get()).ok());
  out.clear();
  ASSERT_TRUE(journal_->ReadOutbox("caf", 0, 10, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sequence, 2u);
  EXPECT_EQ(*journal_->CountOutbox("cpam"), 1u);
}

TEST_F(JournalTest, OutboxReadsStayInsideTheRecipientAndFromTheCursor) {
  auto b = journal_->NewBatch();
  // "caf" must not see "caf-x" (a longer id sharing the prefix).
  for (uint64_t s = 1; s <= 300; ++s)
    b->PutOutbox("caf", s, "m" + std::to_string(s));
  b->PutOutbox("caf-x", 5, "other");
  b->PutOutbox("ca", 7, "other");
  ASSERT_TRUE(journal_->Commit(b.get()).ok());
  std::vector<OutboxEntry> out;
  ASSERT_TRUE(journal_->ReadOutbox("caf", 250, 1000, &out).ok());
  ASSERT_EQ(out.size(), 51u);
  EXPECT_EQ(out.front().sequence, 250u);
  EXPECT_EQ(out.back().sequence, 300u);
  out.clear();
  ASSERT_TRUE(journal_->ReadOutbox("caf", 0, 7, &out).ok());
  EXPECT_EQ(out.size(), 7u);  // the limit is honoured
  EXPECT_EQ(*journal_->CountOutbox("caf"), 300u);
  EXPECT_EQ(*journal_->CountOutbox("caf-x"), 1u);
}

TEST_F(JournalTest, SurvivesReopen) {
  auto b = journal_->NewBatch();
  b->PutMessage("id-1", "kept");
  b->PutDedup("id-1", DedupEntry{42, 1000, std::string(32, 'h'), "caf"});
  b->PutMeta(kMetaNextSequence, "12345678");
  ASSERT_TRUE(journal_->Commit(b.get()).ok());
  journal_.reset();
  auto j = Journal::Open(dir_, JournalOptions());
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*(*j)->GetMessage("id-1"), "kept");
  auto dedup = (*j)->GetDedup("id-1");
  ASSERT_TRUE(dedup.ok());
  EXPECT_EQ(dedup->sequence, 42u);
  EXPECT_EQ(dedup->sender, "caf");
  EXPECT_EQ(dedup->header_sha256, std::string(32, 'h'));
}

TEST_F(JournalTest, CloseFlushesToTableFilesAndRefusesWrites) {
  auto b = journal_->NewBatch();
  b->PutMessage("id-1", "kept");
  ASSERT_TRUE(journal_->Commit(b.get()).ok());
  ASSERT_TRUE(journal_->Close().ok());
  EXPECT_FALSE(journal_->healthy());
  EXPECT_FALSE(journal_->Commit(journal_->NewBatch().get()).ok());
  EXPECT_FALSE(journal_->GetMessage("id-1").ok());
  bool tables = false;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    tables |= e.path().extension() == ".sst";
  }
  EXPECT_TRUE(tables);
  journal_.reset();
  auto j = Journal::Open(dir_, JournalOptions());
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(*(*j)->GetMessage("id-1"), "kept");
}

TEST_F(JournalTest, LogFilesWithoutCurrentAreRefusedNotStartedOver) {
  auto b = journal_->NewBatch();
  b->PutMessage("id-1", "kept");
  ASSERT_TRUE(journal_->Commit(b.get()).ok());
  journal_.reset();  // no flush: the message is in the log only
  std::filesystem::remove(dir_ + "/CURRENT");
  auto j = Journal::Open(dir_, JournalOptions());
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), Status::Code::kCorruption);
  EXPECT_NE(j.status().message().find(dir_), std::string::npos);
  EXPECT_NE(j.status().message().find("no CURRENT file"), std::string::npos)
      << j.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/CURRENT"));
}

TEST_F(JournalTest, RecoversFromAFailedWriteByReopening) {
  using relais::testing::FileSizeLimit;
  auto b = journal_->NewBatch();
  b->PutMessage("before", "kept");
  ASSERT_TRUE(journal_->Commit(b.get()).ok());
  FileSizeLimit limit(0);
  b = journal_->NewBatch();
  b->PutMessage("failed", "never visible");
  EXPECT_EQ(journal_->Commit(b.get()).code(), Status::Code::kIOError);
  EXPECT_FALSE(journal_->healthy());
  // Refused at once, without writing, until it recovers.
  b = journal_->NewBatch();
  b->PutMessage("refused", "never visible");
  EXPECT_FALSE(journal_->Commit(b.get()).ok());
  // An attempt while the disk still fails changes nothing: the probe
  // fails, so the database stays open for reads. (Recover() tries nothing
  // before its backoff ran out: wait for the probe that shows it tried.)
  testing::CreatedFiles created(dir_);
  ASSERT_TRUE(testing::WaitUntil([&] {
    EXPECT_FALSE(journal_->Recover().ok());
    return created.Seen(".relais-write-probe");
  }));
  EXPECT_FALSE(journal_->healthy());
  EXPECT_EQ(journal_->generation(), 0u);
  EXPECT_EQ(*journal_->GetMessage("before"), "kept");

  limit.Lift();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!journal_->Recover().ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(journal_->healthy());
  EXPECT_EQ(journal_->generation(), 1u);  // a failed log write is fatal
  EXPECT_EQ(*journal_->GetMessage("before"), "kept");
  EXPECT_EQ(journal_->GetMessage("failed").status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(journal_->GetMessage("refused").status().code(),
            Status::Code::kNotFound);
  b = journal_->NewBatch();
  b->PutMessage("after", "kept too");
  ASSERT_TRUE(journal_->Commit(b.get()).ok());
  journal_.reset();
  auto j = Journal::Open(dir_, JournalOptions());
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(*(*j)->GetMessage("before"), "kept");
  EXPECT_EQ(*(*j)->GetMessage("after"), "kept too");
}

// The purge index and deleting an envelope: what retention uses.
TEST_F(JournalTest, ThePurgeIndexReadsWhatIsDueAndEnvelopesCanBeDeleted) {
  auto b = journal_->NewBatch();
  b->PutMessage("id-1", "envelope one");
  b->PutMessage("id-2", "envelope two");
  const std::string id1(16, '1'), id2(16, '2');
  b->PutPurge(5000, 2, id2, {"caf"});
  b->PutPurge(3000, 1, id1, {"caf", "france-travail"});
  b->PutExpiry(1000, 1, "id-1");
  ASSERT_TRUE(journal_->Commit(b.get()).ok());
  std::vector<DueEntry> due;
  ASSERT_TRUE(journal_->ReadDue(TimeIndex::kPurge, 4999, 10, &due).ok());
  ASSERT_EQ(due.size(), 1u);  // not the expiry index's entry
  EXPECT_EQ(due[0].due_ms, 3000);
  EXPECT_EQ(due[0].sequence, 1u);
  std::string id;
  std::vector<std::string> recipients;
  ASSERT_TRUE(DecodePurge(due[0].value, &id, &recipients));
  EXPECT_EQ(id, id1);
  EXPECT_EQ(recipients, (std::vector<std::string>{"caf", "france-travail"}));
  EXPECT_FALSE(DecodePurge("short", &id, &recipients));
  EXPECT_FALSE(DecodePurge(id1 + "caf", &id, &recipients));  // no 0x00
  due.clear();
  ASSERT_TRUE(journal_->ReadDue(TimeIndex::kPurge, 5000, 10, &due).ok());
  EXPECT_EQ(due.size(), 2u);
  due.clear();
  ASSERT_TRUE(journal_->ReadDue(TimeIndex::kExpiry, 5000, 10, &due).ok());
  EXPECT_EQ(due.size(), 1u);

  auto purge = journal_->NewBatch();
  purge->DeleteMessage("id-1");
  purge->DeletePurge(3000, 1);
  ASSERT_TRUE(journal_->Commit(purge.get()).ok());
  EXPECT_EQ(journal_->GetMessage("id-1").status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(*journal_->GetMessage("id-2"), "envelope two");
  due.clear();
  ASSERT_TRUE(journal_->ReadDue(TimeIndex::kPurge, 9000, 10, &due).ok());
  ASSERT_EQ(due.size(), 1u);
  ASSERT_TRUE(DecodePurge(due[0].value, &id, &recipients));
  EXPECT_EQ(id, id2);
  EXPECT_TRUE(*journal_->HasMessage("id-2"));
  EXPECT_FALSE(*journal_->HasMessage("id-1"));
}

// A journal written before the purge index existed (its ten column
// families) opens, keeps what it held, and gains the index.
TEST(JournalOpenTest, AJournalFromBeforeThePurgeIndexOpensAndGainsIt) {
  const std::string root = testing::MakeTestDir();
  const std::string dir = root + "/journal";
  {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name :
         {"default", kMessagesFamily, kOutboxFamily, kDedupFamily, kCasesFamily,
          kAuditFamily, kMetaFamily, kDeadFamily, kExpiryFamily,
          kSubjectsFamily}) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir, families, &handles, &db).ok());
    std::string version;
    PutBigEndian64(&version, kSchemaVersion);
    ASSERT_TRUE(db->Put({}, handles[6], kMetaSchemaVersion, version).ok());
    ASSERT_TRUE(db->Put({}, handles[1], "id-old", "an old envelope").ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
    delete db;
  }
  auto j = Journal::Open(dir, JournalOptions());
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(*(*j)->GetMessage("id-old"), "an old envelope");
  auto b = (*j)->NewBatch();
  b->PutPurge(10, 1, std::string(16, 'o'), {"caf"});
  ASSERT_TRUE((*j)->Commit(b.get()).ok());
  std::vector<DueEntry> due;
  ASSERT_TRUE((*j)->ReadDue(TimeIndex::kPurge, 10, 10, &due).ok());
  EXPECT_EQ(due.size(), 1u);
  j->reset();
  std::filesystem::remove_all(root);
}

TEST(JournalFormatTest, KeysOrderNumerically) {
  EXPECT_LT(OutboxKey("caf", 2), OutboxKey("caf", 10));
  EXPECT_LT(OutboxKey("caf", 255), OutboxKey("caf", 256));
  EXPECT_LT(OutboxKey("caf", UINT64_MAX), OutboxEnd("caf"));
  EXPECT_GT(OutboxKey("caf", 0), OutboxBegin("caf"));
  std::string_view r;
  uint64_t seq;
  const std::string key = OutboxKey("france-services/x", 77);
  ASSERT_TRUE(ParseOutboxKey(key, &r, &seq));
  EXPECT_EQ(r, "france-services/x");
  EXPECT_EQ(seq, 77u);
  EXPECT_FALSE(ParseOutboxKey("short", &r, &seq));
}

TEST(JournalOpenTest, UnusableDirectoryIsAnError) {
  auto j = Journal::Open("/proc/relais-cannot-exist/journal", JournalOptions());
  EXPECT_FALSE(j.ok());
}

}  // namespace
}  // namespace relais::broker::journal
