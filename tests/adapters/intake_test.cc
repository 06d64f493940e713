#include "adapters/sdk/intake.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "tests/support/fixtures.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;
using testing::FileNames;
using testing::MakeTestDir;
using testing::Slurp;
using testing::Spit;
using Json = nlohmann::ordered_json;
using NameList = std::vector<std::string>;

constexpr char kHelloSha256[] =
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
// An intake id as Take makes them (13 digits of ms, 8 hex).
constexpr char kOldId[] = "0000000000001-0000abcd";

Json ReadJson(const fs::path& path) { return Json::parse(Slurp(path)); }

// The broker's receipt entry for `envelope`.
Json Receipt(const std::string& envelope) {
  return Json{{"case_id", "c-" + std::to_string(envelope.size())},
              {"envelope", envelope}};
}

// The translator and the broker, faked; they record what they were asked.
struct FakeSteps {
  bool accept_all = false;           // else only names ending in .json
  bool seal_unavailable = false;     // seal: Unavailable (no broker to route)
  bool journal_unavailable = false;  // submit: 501 for every message
  std::optional<size_t> refuse;      // submit: 301 for this message (from 0)
  NameList sealed;                   // each seal's file name
  std::vector<std::vector<std::string>> submitted;  // each submit's envelopes

  // Two envelopes per file, different at each seal (as fresh message ids
  // would be): "envelope <k> of seal <n>: <start of the contents>".
  IntakeSteps Steps() {
    return {
        [this](const std::string& name) {
          return accept_all || name.ends_with(".json");
        },
        [this](const std::string& name,
               std::string_view contents) -> Result<std::vector<std::string>> {
          sealed.push_back(name);
          if (contents == "bad") {
            return Status::InvalidArgument("the file holds no case");
          }
          if (contents == "latin1") {
            return Status::InvalidArgument("field nom: 'LER\xD4Y'");
          }
          if (seal_unavailable) return Status::Unavailable("broker away");
          std::vector<std::string> out;
          for (int k = 1; k <= 2; ++k) {
            out.push_back("envelope " + std::to_string(k) + " of seal " +
                          std::to_string(sealed.size()) + ": " +
                          std::string(contents.substr(0, 32)));
          }
          return out;
        },
        [this](const std::vector<std::string>& envelopes) {
          submitted.push_back(envelopes);
          std::vector<Result<Json>> out;
          for (size_t k = 0; k < envelopes.size(); ++k) {
            if (journal_unavailable) {
              out.push_back(Result<Json>(Status::Rejected(
                  wire::RejectCode::JournalUnavailable, "journal down")));
            } else if (refuse == k) {
              out.push_back(Result<Json>(
                  Status::Rejected(wire::RejectCode::NotAuthorised,
                                   "not authorised for this case type")));
            } else {
              out.push_back(Receipt(envelopes[k]));
            }
          }
          return out;
        },
        "*.json"};
  }
};

bool Never() { return false; }

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(root_);
    for (const auto* dir : {&inbox_, &done_, &rejected_, &intake_}) {
      fs::create_directories(*dir);
    }
  }
  void TearDown() override { fs::remove_all(root_); }

  // A fresh start: a new Intake over the folders, resumed.
  std::unique_ptr<Intake> Start() {
    auto intake = std::make_unique<Intake>(
        IntakeFolders{inbox_.string(), done_.string(), rejected_.string(),
                      intake_.string()},
        fake_.Steps());
    intake->Resume();
    return intake;
  }
  void Drop(const std::string& name, const std::string& contents) {
    Spit(inbox_ / name, contents);
  }
  // The one file taken and waiting in inbox/ (hidden).
  std::string TakenFile() const {
    const NameList names = FileNames(inbox_);
    const auto it = std::find_if(names.begin(), names.end(), [](auto& n) {
      return n.starts_with(".relais-in-");
    });
    return it == names.end() ? std::string() : *it;
  }
  // The manifest of the one intake left.
  Json Manifest() const {
    const NameList ids = FileNames(intake_);
    return ids.size() == 1 ? ReadJson(intake_ / ids[0] / "manifest.json")
                           : Json();
  }
  // Drops a.json ("hello") while the broker refuses every message: the
  // one intake left is sealed. Its folder; empty if there is not one.
  fs::path SealedWithTheBrokerAway() {
    fake_.journal_unavailable = true;
    Drop("a.json", "hello");
    Start()->Scan(Never);
    const NameList ids = FileNames(intake_);
    return ids.size() == 1 ? intake_ / ids[0] : fs::path();
  }
  // done/<as> holds `contents` and its receipt says it came as `file`.
  void ExpectDone(const std::string& as, const std::string& file,
                  const std::string& contents,
                  const std::vector<std::string>& envelopes) {
    EXPECT_EQ(Slurp(done_ / as), contents) << as;
    const Json receipt = ReadJson(done_ / (as + ".receipt.json"));
    EXPECT_EQ(receipt["file"], file);
    if (as == file) {
      EXPECT_FALSE(receipt.contains("as"));
    } else {
      EXPECT_EQ(receipt["as"], as);
    }
    EXPECT_EQ(receipt["sha256"], HexEncode(crypto::Sha256(contents)));
    Json cases = Json::array();
    for (const auto& e : envelopes) cases.push_back(Receipt(e));
    EXPECT_EQ(receipt["cases"], cases) << as;
  }

  const fs::path root_ = fs::path(MakeTestDir());
  const fs::path inbox_ = root_ / "inbox";
  const fs::path done_ = root_ / "done";
  const fs::path rejected_ = root_ / "rejected";
  const fs::path intake_ = root_ / "state" / "intake";
  FakeSteps fake_;
};

TEST_F(IntakeTest, AFileGoesToDoneWithItsReceipt) {
  Drop("a.json", "hello");
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList{"a.json"});
  ASSERT_EQ(fake_.submitted.size(), 1u);
  EXPECT_EQ(fake_.submitted[0], NameList({"envelope 1 of seal 1: hello",
                                          "envelope 2 of seal 1: hello"}));
  EXPECT_EQ(FileNames(done_), NameList({"a.json", "a.json.receipt.json"}));
  ExpectDone("a.json", "a.json", "hello", fake_.submitted[0]);
  EXPECT_EQ(ReadJson(done_ / "a.json.receipt.json")["sha256"], kHelloSha256);
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(rejected_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
  EXPECT_EQ(intake->pending(), 0u);
}

// A partner writing a file under its final name, slowly: the file waits in
// inbox/ until its writer closes it, and is then sent whole. The files
// after it are not held up.
TEST_F(IntakeTest, AFileStillBeingWrittenWaitsForItsWriter) {
  std::ofstream slow(inbox_ / "a.json", std::ios::binary);
  slow << "hel" << std::flush;
  Drop("b.json", "other");
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList{"b.json"});
  EXPECT_EQ(FileNames(inbox_), NameList{"a.json"});
  slow << "lo";
  slow.close();
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList({"b.json", "a.json"}));
  ExpectDone("a.json", "a.json", "hello", fake_.submitted[1]);
}

TEST_F(IntakeTest, FilesAreTakenInNameOrderAndStopIsCheckedBetweenThem) {
  for (const char* name : {"c.json", "a.json", "b.json"}) Drop(name, name);
  auto intake = Start();
  intake->Scan([] { return true; });
  EXPECT_TRUE(fake_.sealed.empty());
  EXPECT_EQ(FileNames(inbox_), NameList({"a.json", "b.json", "c.json"}));
  intake->Scan([&] { return fake_.sealed.size() == 1; });
  EXPECT_EQ(fake_.sealed, NameList{"a.json"});
  EXPECT_EQ(FileNames(inbox_), NameList({"b.json", "c.json"}));
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList({"a.json", "b.json", "c.json"}));
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_EQ(FileNames(done_).size(), 6u);
}

TEST_F(IntakeTest, AFileTheTranslatorRefusesGoesToRejectedWithTheReason) {
  Drop("bad.json", "bad");
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList{"bad.json"});
  EXPECT_TRUE(fake_.submitted.empty());
  EXPECT_EQ(FileNames(rejected_), NameList({"bad.json", "bad.json.error"}));
  EXPECT_EQ(Slurp(rejected_ / "bad.json"), "bad");
  EXPECT_EQ(Slurp(rejected_ / "bad.json.error"), "the file holds no case\n");
  EXPECT_TRUE(FileNames(done_).empty());
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
}

// A reason that quotes bytes which are not UTF-8 used to throw out of the
// manifest's JSON and abort the adapter (a fuzz target showed it).
TEST_F(IntakeTest, AReasonThatIsNotUtf8StillRejectsTheFile) {
  Drop("latin1.json", "latin1");
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_EQ(FileNames(rejected_),
            NameList({"latin1.json", "latin1.json.error"}));
  EXPECT_EQ(Slurp(rejected_ / "latin1.json.error").rfind("field nom: ", 0), 0u);
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
}

TEST_F(IntakeTest, ARefusalForGoodRejectsTheFileNamingTheMessage) {
  fake_.refuse = 0;
  Drop("a.json", "hello");
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_EQ(FileNames(rejected_), NameList({"a.json", "a.json.error"}));
  EXPECT_EQ(Slurp(rejected_ / "a.json"), "hello");
  EXPECT_EQ(Slurp(rejected_ / "a.json.error"),
            "message 1 of 2 refused by the broker: Rejected(301 "
            "NotAuthorised): not authorised for this case type; accepted, and "
            "not to be sent again: message(s) 2 (case c-27)\n");
  EXPECT_TRUE(FileNames(done_).empty());
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
  intake->Scan(Never);
  EXPECT_EQ(fake_.submitted.size(), 1u);  // never tried again
}

// 501: the file waits, taken (hidden, its name free for the partner), and
// the rest of the inbox waits behind it; it goes on, with the same
// envelopes, once the journal is back.
TEST_F(IntakeTest, ARetryableRefusalKeepsTheFileTakenUntilTheBrokerTakesIt) {
  fake_.journal_unavailable = true;
  Drop("a.json", "hello");
  auto intake = Start();
  intake->Scan(Never);
  const std::string taken = TakenFile();
  ASSERT_FALSE(taken.empty());
  EXPECT_EQ(FileNames(inbox_), NameList{taken});
  EXPECT_EQ(Slurp(inbox_ / taken), "hello");
  EXPECT_EQ(intake->pending(), 1u);
  EXPECT_EQ(Manifest()["state"], "sealed");
  EXPECT_TRUE(FileNames(done_).empty());
  EXPECT_TRUE(FileNames(rejected_).empty());
  Drop("b.json", "world");
  intake->Scan(Never);
  EXPECT_EQ(FileNames(inbox_), NameList({taken, "b.json"}));
  EXPECT_EQ(fake_.sealed, NameList{"a.json"});
  ASSERT_EQ(fake_.submitted.size(), 2u);
  EXPECT_EQ(fake_.submitted[1], fake_.submitted[0]);
  fake_.journal_unavailable = false;
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList({"a.json", "b.json"}));
  ASSERT_EQ(fake_.submitted.size(), 4u);
  EXPECT_EQ(fake_.submitted[2], fake_.submitted[0]);
  ExpectDone("a.json", "a.json", "hello", fake_.submitted[0]);
  ExpectDone("b.json", "b.json", "world", fake_.submitted[3]);
  EXPECT_EQ(FileNames(done_).size(), 4u);
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
  EXPECT_EQ(intake->pending(), 0u);
}

// A seal that needs the broker (routing) and cannot reach it: sealed again
// at each scan until it can.
TEST_F(IntakeTest, AnUnavailableSealKeepsTheFileTakenAndIsTriedAgain) {
  fake_.seal_unavailable = true;
  Drop("a.json", "hello");
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_FALSE(TakenFile().empty());
  EXPECT_EQ(FileNames(inbox_).size(), 1u);
  EXPECT_EQ(intake->pending(), 1u);
  EXPECT_EQ(Manifest()["state"], "taken");
  EXPECT_TRUE(fake_.submitted.empty());
  fake_.seal_unavailable = false;
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList({"a.json", "a.json"}));
  ASSERT_EQ(fake_.submitted.size(), 1u);
  ExpectDone("a.json", "a.json", "hello", fake_.submitted[0]);
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
  EXPECT_EQ(intake->pending(), 0u);
}

// --- after a restart: each state the manifest can be left in

TEST_F(IntakeTest, ASealedIntakeIsSubmittedWithTheSameEnvelopesAfterARestart) {
  fake_.journal_unavailable = true;
  Drop("a.json", "hello");
  Start()->Scan(Never);
  const Json manifest = Manifest();
  EXPECT_EQ(manifest["state"], "sealed");
  EXPECT_EQ(manifest["sha256"], kHelloSha256);
  EXPECT_EQ(manifest["messages"], 2);
  fake_.journal_unavailable = false;
  auto intake = Start();  // Resume alone finishes it
  EXPECT_EQ(fake_.sealed, NameList{"a.json"});
  ASSERT_EQ(fake_.submitted.size(), 2u);
  EXPECT_EQ(fake_.submitted[1], fake_.submitted[0]);
  ExpectDone("a.json", "a.json", "hello", fake_.submitted[0]);
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
  EXPECT_EQ(intake->pending(), 0u);
}

// The envelopes of one file are kept in one file, with one sync.
TEST_F(IntakeTest, ASealedIntakeKeepsItsEnvelopesInOneFile) {
  const fs::path dir = SealedWithTheBrokerAway();
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(FileNames(dir), NameList({"envelopes", "manifest.json"}));
  std::string expected;
  for (const auto& e : fake_.submitted[0]) {
    PutBigEndian64(&expected, e.size());
    expected += e;
  }
  EXPECT_EQ(Slurp(dir / "envelopes"), expected);
}

// An intake an earlier version sealed (one <k>.env file per envelope) is
// submitted from those files after the upgrade.
TEST_F(IntakeTest, AnIntakeSealedByAnEarlierVersionIsSubmittedFromItsFiles) {
  const fs::path dir = SealedWithTheBrokerAway();
  ASSERT_FALSE(dir.empty());
  fs::remove(dir / "envelopes");
  const std::vector<std::string> sealed = fake_.submitted[0];
  for (size_t k = 0; k < sealed.size(); ++k) {
    Spit(dir / (std::to_string(k) + ".env"), sealed[k]);
  }
  fake_.journal_unavailable = false;
  auto intake = Start();
  ASSERT_EQ(fake_.submitted.size(), 2u);
  EXPECT_EQ(fake_.submitted[1], sealed);
  ExpectDone("a.json", "a.json", "hello", sealed);
  EXPECT_EQ(intake->pending(), 0u);
}

// A cut-short envelopes file (a damaged disk: it was synced before the
// manifest said sealed) submits nothing, and the intake is kept.
TEST_F(IntakeTest, ACutShortEnvelopesFileSubmitsNothingAndIsKept) {
  const fs::path dir = SealedWithTheBrokerAway();
  ASSERT_FALSE(dir.empty());
  const fs::path file = dir / "envelopes";
  const std::string all = Slurp(file);
  for (size_t keep : {all.size() - 1, size_t{4}, size_t{0}}) {
    Spit(file, all.substr(0, keep));
    fake_.journal_unavailable = false;
    fake_.submitted.clear();
    auto intake = Start();
    EXPECT_TRUE(fake_.submitted.empty()) << keep;
    EXPECT_EQ(intake->pending(), 1u) << keep;
    EXPECT_EQ(Manifest()["state"], "sealed") << keep;
    EXPECT_TRUE(FileNames(done_).empty()) << keep;
  }
}

TEST_F(IntakeTest, ATakenIntakeIsSealedAfterARestart) {
  fake_.seal_unavailable = true;
  Drop("a.json", "hello");
  Start()->Scan(Never);
  EXPECT_EQ(Manifest()["state"], "taken");
  fake_.seal_unavailable = false;
  auto intake = Start();
  EXPECT_EQ(fake_.sealed, NameList({"a.json", "a.json"}));
  ASSERT_EQ(fake_.submitted.size(), 1u);
  ExpectDone("a.json", "a.json", "hello", fake_.submitted[0]);
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
}

// A crash between the manifest and the rename: the file is still in the
// inbox under its name. The intake goes; the file is taken again.
TEST_F(IntakeTest, ATakenIntakeWithoutItsHiddenFileIsDroppedAndTheFileRetaken) {
  fs::create_directories(intake_ / kOldId);
  Spit(intake_ / kOldId / "manifest.json",
       R"({"file": "a.json", "state": "taken"})");
  Drop("a.json", "hello");
  auto intake = Start();
  EXPECT_TRUE(FileNames(intake_).empty());
  EXPECT_EQ(FileNames(inbox_), NameList{"a.json"});
  EXPECT_TRUE(fake_.sealed.empty());
  EXPECT_EQ(intake->pending(), 0u);
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList{"a.json"});
  ASSERT_EQ(fake_.submitted.size(), 1u);
  ExpectDone("a.json", "a.json", "hello", fake_.submitted[0]);
  EXPECT_EQ(FileNames(done_).size(), 2u);
}

// done/ cannot be written: the intake stays accepted, its receipts kept.
// After the restart the file is moved without submitting again.
TEST_F(IntakeTest, AnAcceptedIntakeIsFinishedAfterARestartWithoutSubmitting) {
  fs::remove(done_);
  Drop("a.json", "hello");
  auto first = Start();
  first->Scan(Never);
  EXPECT_EQ(first->pending(), 1u);
  EXPECT_EQ(Manifest()["state"], "accepted");
  EXPECT_FALSE(TakenFile().empty());
  first.reset();
  fs::create_directories(done_);
  auto intake = Start();
  EXPECT_EQ(fake_.sealed.size(), 1u);
  ASSERT_EQ(fake_.submitted.size(), 1u);
  EXPECT_EQ(FileNames(done_), NameList({"a.json", "a.json.receipt.json"}));
  ExpectDone("a.json", "a.json", "hello", fake_.submitted[0]);
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
  EXPECT_EQ(intake->pending(), 0u);
}

// A crash after the rename into done/: nothing is moved or sent again, and
// no second copy appears.
// A crash after the receipt and the move, before the intake was removed:
// nothing is written again, whether the partner left the files or took them.
TEST_F(IntakeTest, AnAcceptedIntakeWhoseFileIsInDoneIsJustRemoved) {
  fs::remove(done_);
  Drop("a.json", "hello");
  Start()->Scan(Never);
  EXPECT_EQ(Manifest()["state"], "accepted");
  fs::create_directories(done_);
  {
    std::ofstream(done_ / "a.json.receipt.json") << "the receipt written then";
  }
  fs::rename(inbox_ / TakenFile(), done_ / "a.json");
  auto intake = Start();
  EXPECT_EQ(fake_.submitted.size(), 1u);
  EXPECT_EQ(FileNames(done_), NameList({"a.json", "a.json.receipt.json"}));
  EXPECT_EQ(Slurp(done_ / "a.json.receipt.json"), "the receipt written then");
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
}

TEST_F(IntakeTest, AnAcceptedIntakeWhoseFilesThePartnerTookWritesNothing) {
  fs::remove(done_);
  Drop("a.json", "hello");
  Start()->Scan(Never);
  EXPECT_EQ(Manifest()["state"], "accepted");
  fs::create_directories(done_);
  fs::remove(inbox_ / TakenFile());  // moved, then taken with its receipt
  auto intake = Start();
  EXPECT_EQ(fake_.submitted.size(), 1u);
  EXPECT_TRUE(FileNames(done_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
}

TEST_F(IntakeTest, ARejectedIntakeIsFinishedAfterARestartWithoutSealing) {
  fs::remove(rejected_);
  Drop("bad.json", "bad");
  Start()->Scan(Never);
  EXPECT_EQ(Manifest()["state"], "rejected");
  EXPECT_FALSE(TakenFile().empty());
  fs::create_directories(rejected_);
  auto intake = Start();
  EXPECT_EQ(fake_.sealed.size(), 1u);
  EXPECT_EQ(FileNames(rejected_), NameList({"bad.json", "bad.json.error"}));
  EXPECT_EQ(Slurp(rejected_ / "bad.json"), "bad");
  EXPECT_EQ(Slurp(rejected_ / "bad.json.error"), "the file holds no case\n");
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
}

// A crash between the rename into rejected/ and the .error: the reason is
// written next to the file already there, not to a second copy.
TEST_F(IntakeTest, ARejectedIntakeWhoseFileIsInRejectedGetsItsReason) {
  fs::remove(rejected_);
  Drop("bad.json", "bad");
  Start()->Scan(Never);
  fs::create_directories(rejected_);
  fs::rename(inbox_ / TakenFile(), rejected_ / "bad.json");
  auto intake = Start();
  EXPECT_EQ(FileNames(rejected_), NameList({"bad.json", "bad.json.error"}));
  EXPECT_EQ(Slurp(rejected_ / "bad.json.error"), "the file holds no case\n");
  EXPECT_TRUE(FileNames(intake_).empty());
}

TEST_F(IntakeTest, LeftoversThatCannotGoOnAreKeptNotDropped) {
  // Finished before the restart: removed.
  fs::create_directories(intake_ / (std::string(kOldId) + ".finished"));
  // A hidden inbox file without its intake: left for an operator.
  const std::string orphan = ".relais-in-0000000000002-0000beef";
  Spit(inbox_ / orphan, "hello");
  // An intake whose manifest cannot be read: kept, and the inbox waits.
  fs::create_directories(intake_ / "0000000000003-00000001");
  Spit(intake_ / "0000000000003-00000001" / "manifest.json", "not json");
  Drop("b.json", "world");
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_EQ(FileNames(intake_), NameList{"0000000000003-00000001"});
  EXPECT_EQ(FileNames(inbox_), NameList({orphan, "b.json"}));
  EXPECT_EQ(intake->pending(), 1u);
  EXPECT_TRUE(fake_.sealed.empty());
  EXPECT_TRUE(FileNames(done_).empty());
}

// --- names

TEST_F(IntakeTest, ANewFileWithAnOldNameIsANewCase) {
  Drop("a.json", "one");
  auto intake = Start();
  intake->Scan(Never);
  const std::string first_receipt = Slurp(done_ / "a.json.receipt.json");
  Drop("a.json", "two");
  intake->Scan(Never);
  Drop("a.json", "one");  // the same contents again: still a new case
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList({"a.json", "a.json", "a.json"}));
  ASSERT_EQ(fake_.submitted.size(), 3u);
  EXPECT_EQ(FileNames(done_), NameList({"a.2.json", "a.2.json.receipt.json",
                                        "a.3.json", "a.3.json.receipt.json",
                                        "a.json", "a.json.receipt.json"}));
  ExpectDone("a.json", "a.json", "one", fake_.submitted[0]);
  EXPECT_EQ(Slurp(done_ / "a.json.receipt.json"), first_receipt);
  ExpectDone("a.2.json", "a.json", "two", fake_.submitted[1]);
  ExpectDone("a.3.json", "a.json", "one", fake_.submitted[2]);
  EXPECT_NE(fake_.submitted[2], fake_.submitted[0]);
  // The same in rejected/.
  Drop("bad.json", "bad");
  intake->Scan(Never);
  Drop("bad.json", "bad");
  intake->Scan(Never);
  EXPECT_EQ(FileNames(rejected_), NameList({"bad.2.json", "bad.2.json.error",
                                            "bad.json", "bad.json.error"}));
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
}

TEST_F(IntakeTest, AFileLargerThanTheLimitIsRejectedSayingSo) {
  Drop("big.json", std::string(Intake::kMaxFileBytes + 1, 'x'));
  Drop("max.json", std::string(Intake::kMaxFileBytes, 'x'));
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList{"max.json"});
  EXPECT_EQ(FileNames(rejected_), NameList({"big.json", "big.json.error"}));
  EXPECT_EQ(fs::file_size(rejected_ / "big.json"), Intake::kMaxFileBytes + 1);
  const std::string reason = Slurp(rejected_ / "big.json.error");
  EXPECT_NE(reason.find("larger than 16.0 MiB (16777216 bytes)"),
            std::string::npos)
      << reason;
  EXPECT_EQ(FileNames(done_), NameList({"max.json", "max.json.receipt.json"}));
  EXPECT_TRUE(FileNames(inbox_).empty());
}

// A file the translator does not read is not left in inbox/ unnoticed: it
// goes to rejected/ unread, its .error saying what this adapter reads.
TEST_F(IntakeTest, FilesNotForTheTranslatorGoToRejectedSayingWhatItReads) {
  Drop("a.txt", "not for this adapter");
  Drop("NOTES", "no extension");
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_TRUE(fake_.sealed.empty());
  EXPECT_TRUE(fake_.submitted.empty());
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_EQ(FileNames(rejected_),
            NameList({"NOTES", "NOTES.error", "a.txt", "a.txt.error"}));
  EXPECT_EQ(Slurp(rejected_ / "a.txt"), "not for this adapter");
  EXPECT_EQ(Slurp(rejected_ / "a.txt.error"),
            "not a file this adapter reads (it reads *.json)\n");
  EXPECT_EQ(Slurp(rejected_ / "NOTES.error"),
            "not a file this adapter reads (it reads *.json)\n");
  EXPECT_TRUE(FileNames(done_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
  // The same name again: a second file and a second reason.
  Drop("a.txt", "again");
  intake->Scan(Never);
  EXPECT_EQ(FileNames(rejected_),
            NameList({"NOTES", "NOTES.error", "a.2.txt", "a.2.txt.error",
                      "a.txt", "a.txt.error"}));
  EXPECT_EQ(Slurp(rejected_ / "a.2.txt"), "again");
  EXPECT_EQ(Slurp(rejected_ / "a.txt"), "not for this adapter");
}

// Files being written (the partner's write-then-rename: hidden, .tmp,
// .part) and the adapter's own hidden files are never taken, whatever their
// type; nor are folders.
TEST_F(IntakeTest, HiddenAndIncompleteFilesAreNeverTaken) {
  for (const char* n : {".hidden.json", "b.json.part", "b.json.tmp", "c.tmp",
                        ".lock", "d.txt.part", ".relais-in-x"}) {
    Drop(n, "x");
  }
  fs::create_directories(inbox_ / "sub.json");  // a folder
  fs::create_directories(inbox_ / "sub.txt");
  Drop("e.json", "hello");
  auto intake = Start();
  intake->Scan(Never);
  EXPECT_EQ(fake_.sealed, NameList{"e.json"});
  EXPECT_EQ(
      FileNames(inbox_),
      NameList({".hidden.json", ".lock", ".relais-in-x", "b.json.part",
                "b.json.tmp", "c.tmp", "d.txt.part", "sub.json", "sub.txt"}));
  EXPECT_EQ(FileNames(done_), NameList({"e.json", "e.json.receipt.json"}));
  EXPECT_TRUE(FileNames(rejected_).empty());
}

// Two files of one name, one accepted and one refused, then refused twice:
// every file, receipt and reason is kept under a name of its own.
TEST_F(IntakeTest, TheSameNameTwiceKeepsEveryFileReceiptAndReason) {
  auto intake = Start();
  Drop("a.json", "hello");
  intake->Scan(Never);
  Drop("a.json", "bad");
  intake->Scan(Never);
  EXPECT_EQ(FileNames(done_), NameList({"a.json", "a.json.receipt.json"}));
  EXPECT_EQ(FileNames(rejected_), NameList({"a.json", "a.json.error"}));
  Drop("a.json", "bad");
  intake->Scan(Never);
  fake_.refuse = 1;  // refused by the broker, after the translator's refusal
  Drop("a.json", "world");
  intake->Scan(Never);
  fake_.refuse.reset();
  Drop("a.json", "again");
  intake->Scan(Never);
  EXPECT_EQ(FileNames(rejected_),
            NameList({"a.2.json", "a.2.json.error", "a.3.json",
                      "a.3.json.error", "a.json", "a.json.error"}));
  EXPECT_EQ(Slurp(rejected_ / "a.json"), "bad");
  EXPECT_EQ(Slurp(rejected_ / "a.json.error"), "the file holds no case\n");
  EXPECT_EQ(Slurp(rejected_ / "a.2.json"), "bad");
  EXPECT_EQ(Slurp(rejected_ / "a.2.json.error"), "the file holds no case\n");
  EXPECT_EQ(Slurp(rejected_ / "a.3.json"), "world");
  EXPECT_NE(Slurp(rejected_ / "a.3.json.error").find("message 2 of 2 refused"),
            std::string::npos);
  ASSERT_EQ(fake_.submitted.size(), 3u);
  EXPECT_EQ(FileNames(done_), NameList({"a.2.json", "a.2.json.receipt.json",
                                        "a.json", "a.json.receipt.json"}));
  ExpectDone("a.json", "a.json", "hello", fake_.submitted[0]);
  ExpectDone("a.2.json", "a.json", "again", fake_.submitted[2]);
  // A reason the partner left alone (it took the file) still holds its
  // name, and so does a receipt.
  const std::string first_receipt = Slurp(done_ / "a.json.receipt.json");
  fs::remove(rejected_ / "a.json");
  fs::remove(done_ / "a.json");
  Drop("a.json", "bad");
  intake->Scan(Never);
  Drop("a.json", "hello");
  intake->Scan(Never);
  EXPECT_EQ(Slurp(rejected_ / "a.4.json"), "bad");
  EXPECT_EQ(Slurp(rejected_ / "a.json.error"), "the file holds no case\n");
  ExpectDone("a.3.json", "a.json", "hello", fake_.submitted[3]);
  ExpectDone("a.2.json", "a.json", "again", fake_.submitted[2]);
  EXPECT_EQ(Slurp(done_ / "a.json.receipt.json"), first_receipt);
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
}

// --- FreeName

class FreeNameTest : public IntakeTest {};

TEST_F(FreeNameTest, ANameIsItselfWhileFree) {
  EXPECT_EQ(FreeName(done_.string(), "a.json", ".receipt.json"), "a.json");
}

TEST_F(FreeNameTest, ATakenNameGetsANumberBeforeItsExtension) {
  Spit(done_ / "a.json", "");
  EXPECT_EQ(FreeName(done_.string(), "a.json", ".receipt.json"), "a.2.json");
  Spit(done_ / "a.2.json", "");
  EXPECT_EQ(FreeName(done_.string(), "a.json", ".receipt.json"), "a.3.json");
  Spit(done_ / "a.tar.gz", "");
  EXPECT_EQ(FreeName(done_.string(), "a.tar.gz", ""), "a.tar.2.gz");
}

TEST_F(FreeNameTest, NamesWithoutExtensionAndHiddenNamesGetASuffix) {
  Spit(done_ / "README", "");
  EXPECT_EQ(FreeName(done_.string(), "README", ""), "README.2");
  Spit(done_ / ".profile", "");
  EXPECT_EQ(FreeName(done_.string(), ".profile", ""), ".profile.2");
}

// A name near the file system's limit (255 bytes) would leave no room for
// its receipt or .error and their temporary names: the intake would wait
// on it, and every later file with it.
TEST_F(IntakeTest, ANameTooLongForItsReceiptIsShortenedInDoneAndRejected) {
  const std::string stem(240, 'x');
  Drop(stem + ".json", "hello");
  Drop(stem + "y.json", "bad");
  Drop("z.json", "hello");
  auto intake = Start();
  intake->Scan(Never);
  const std::string kept = std::string(kMaxKeptName - 6, 'x') + "~.json";
  EXPECT_EQ(FileNames(done_), NameList({kept, kept + ".receipt.json", "z.json",
                                        "z.json.receipt.json"}));
  EXPECT_EQ(FileNames(rejected_), NameList({kept, kept + ".error"}));
  EXPECT_EQ(Slurp(rejected_ / (kept + ".error")), "the file holds no case\n");
  EXPECT_TRUE(FileNames(inbox_).empty());
  EXPECT_TRUE(FileNames(intake_).empty());
}

// A link would be followed out of the inbox (to a file the partner may not
// send, or one that holds anything), a pipe would block the reader: each
// goes to rejected/, unread, with its reason. A folder is left alone
// (another folder of the adapter may be inside the inbox).
TEST_F(IntakeTest, LinksAndPipesAreRejectedUnreadAndFoldersLeftAlone) {
  Spit(root_ / "outside.json", "hello");
  fs::create_symlink(root_ / "outside.json", inbox_ / "link.json");
  ASSERT_EQ(::mkfifo((inbox_ / "pipe.json").c_str(), 0600), 0);
  fs::create_directories(inbox_ / "nested");
  Drop("z.json", "hello");
  auto intake = Start();
  intake->Scan(Never);
  const std::string why =
      "not a plain file (a symbolic link, a pipe...): not read; drop the "
      "file itself\n";
  EXPECT_EQ(FileNames(rejected_), NameList({"link.json", "link.json.error",
                                            "pipe.json", "pipe.json.error"}));
  EXPECT_EQ(Slurp(rejected_ / "link.json.error"), why);
  EXPECT_EQ(Slurp(rejected_ / "pipe.json.error"), why);
  EXPECT_TRUE(fs::is_symlink(rejected_ / "link.json"));
  EXPECT_EQ(fake_.sealed, NameList{"z.json"});  // neither was read
  EXPECT_EQ(FileNames(done_), NameList({"z.json", "z.json.receipt.json"}));
  EXPECT_TRUE(fs::is_directory(inbox_ / "nested"));
}

TEST_F(FreeNameTest, ALongNameKeepsItsStartAndExtensionWholeCharacters) {
  EXPECT_EQ(FittedName(std::string(200, 'a')), std::string(200, 'a'));
  EXPECT_EQ(FittedName(std::string(201, 'a')), std::string(199, 'a') + "~");
  // "é" is two bytes: never cut in two.
  std::string accents;
  for (int i = 0; i < 120; ++i) accents += "\xC3\xA9";
  const std::string fitted = FittedName(accents + ".csv");
  EXPECT_EQ(fitted, accents.substr(0, 194) + "~.csv");
  // An extension longer than 16 bytes is not kept.
  EXPECT_EQ(FittedName(std::string(300, 'a') + "." + std::string(20, 'e')),
            std::string(199, 'a') + "~");
}

// A receipt (or .error) left alone still holds its name: a new file must not
// pick up someone else's receipt.
TEST_F(FreeNameTest, ANameWhoseSuffixFileExistsIsTaken) {
  Spit(done_ / "a.json.receipt.json", "");
  EXPECT_EQ(FreeName(done_.string(), "a.json", ".receipt.json"), "a.2.json");
  EXPECT_EQ(FreeName(done_.string(), "a.json", ""), "a.json");
}

}  // namespace
}  // namespace relais::sdk
