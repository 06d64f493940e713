// Fault: relaisd's journal cannot write for a while, or its files are
// damaged between two runs.
//
// - While the journal cannot write, new messages are refused with 501
//   JournalUnavailable and relaisd keeps answering; once it can write
//   again it recovers by itself, and nothing it accepted is lost, through a
//   SIGKILL as well.
// - On a damaged journal (table file, MANIFEST, CURRENT, a log record
//   before the tail) relaisd refuses to start, naming the journal and the
//   damage; it neither skips data nor starts empty, so once the file is
//   restored everything is delivered. A torn last log record is normal
//   after a crash: relaisd starts and keeps everything before it.
//
// The write fault is a file size limit set on the running relaisd
// (RLIMIT_FSIZE through prlimit(2), which needs no privilege on a child of
// the same user): every write that extends a file then fails with EFBIG,
// as RocksDB's log writes do on a disk that fails. A tiny tmpfs that fills
// up would be closer to a full disk, but mounting one needs root.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
constexpr char kDesk[] = "france-services/paris-15";

struct Sent {
  std::string message_id;
  std::string case_id;
};

// Has `n` messages from the desk to caf accepted, through the SDK.
void SubmitToCaf(sdk::Client* desk, int n, std::vector<Sent>* sent) {
  for (int i = 0; i < n; ++i) {
    auto env = desk->Seal(SampleDraft(kDesk, {"caf"}));
    ASSERT_TRUE(env.ok());
    auto receipt = desk->Submit(*env, seconds(10));
    ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
    auto parsed = ParseEnvelope(env->bytes);
    ASSERT_TRUE(parsed.ok());
    sent->push_back({env->message_id, std::string(parsed->case_id)});
  }
}

// relaisd's file size limit (soft; the hard one stays unlimited).
void SetFileSizeLimit(pid_t pid, rlim_t limit) {
  rlimit rl{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, nullptr, &rl), 0)
      << std::strerror(errno);
  rl.rlim_cur = limit;
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, &rl, nullptr), 0)
      << std::strerror(errno);
}

// Connects caf with `counter` and waits until each of `sent` was handed
// over at least once, then until a marker the desk sends after them was:
// caf's queue comes in order, so by then anything else still queued for
// caf before the marker (a duplicate, a message that should be gone) was
// handed over too. The client is returned connected.
std::unique_ptr<sdk::Client> ReceiveAll(TestStack& stack,
                                        DeliveryCounter& counter,
                                        const std::vector<Sent>& sent) {
  auto client = stack.Connect("caf", counter.Handler());
  EXPECT_TRUE(client.ok());
  if (!client.ok()) return nullptr;
  for (const auto& s : sent) {
    EXPECT_TRUE(WaitUntil([&] { return counter.count(s.message_id) >= 1; }))
        << stack.BrokerLog();
  }
  auto desk = stack.Connect(kDesk);
  EXPECT_TRUE(desk.ok());
  if (!desk.ok()) return nullptr;
  auto marker = SubmitMarker(**desk, "caf");
  EXPECT_TRUE(marker.ok()) << marker.status().ToString();
  if (!marker.ok()) return nullptr;
  EXPECT_TRUE(WaitUntil([&] { return counter.count(*marker) == 1; }))
      << stack.BrokerLog();
  return std::move(*client);
}

TEST(JournalWriteFaultTest,
     RefusesWhileItCannotWriteThenRecoversLosingNothing) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  auto desk = stack.Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  std::vector<Sent> accepted;
  SubmitToCaf(desk->get(), 5, &accepted);  // caf is offline throughout
  ASSERT_FALSE(::testing::Test::HasFailure());
  RawClient raw(stack.endpoint(), stack.BrokerCurvePublic(),
                stack.IdentityOf(kDesk).curve);
  raw.Send(HelloFrame(1, kDesk, 0, "journal-fault-test"));
  ASSERT_TRUE(raw.ReceiveType(wire::Body::Welcome, seconds(5)).has_value());

  // (a) relaisd cannot extend any file: its journal log included (its own
  // log file too, so what it logs meanwhile is lost). Its attempts to
  // recover show as the write probe it creates in the journal folder.
  CreatedFiles created(stack.layout().JournalDir());
  SetFileSizeLimit(stack.broker_pid(), 0);
  std::vector<SealedEnvelope> refused;
  uint64_t request = 10;
  for (int i = 0; i < 3; ++i) {
    auto env = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
    ASSERT_TRUE(env.ok());
    auto answer = SubmitRaw(raw, ++request, *env, seconds(5));
    ASSERT_TRUE(answer.has_value()) << "no answer while the journal fails";
    const wire::Frame* f = *ParseFrame(*answer);
    ASSERT_EQ(f->body_type(), wire::Body::Rejected);
    EXPECT_EQ(f->body_as_Rejected()->code(),
              wire::RejectCode::JournalUnavailable);
    EXPECT_THAT(std::string(StringView(f->body_as_Rejected()->reason())),
                HasSubstr("journal"));
    refused.push_back(std::move(*env));
  }
  // Still failing when relaisd tries to recover (100 ms after the failure
  // at the earliest, on its 500 ms timer): that attempt, seen by its write
  // probe, must fail without disturbing anything.
  ASSERT_TRUE(WaitUntil([&] { return created.Seen(".relais-write-probe"); }))
      << "relaisd did not try to recover";
  {
    auto env = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
    ASSERT_TRUE(env.ok());
    auto answer = SubmitRaw(raw, ++request, *env, seconds(5));
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ((*ParseFrame(*answer))->body_type(), wire::Body::Rejected);
    refused.push_back(std::move(*env));
  }
  // It still answers what needs no write, reads included.
  raw.Send(HeartbeatFrame(++request, Clock::System()->NowMs()));
  EXPECT_TRUE(raw.ReceiveType(wire::Body::Heartbeat, seconds(5)).has_value());
  auto state = (*desk)->QueryCase(accepted[0].case_id, seconds(5));
  EXPECT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_TRUE(stack.BrokerRunning()) << stack.BrokerLog();

  // (b) Writable again: it recovers by itself. The refused messages were
  // not journaled: sent again, they are accepted as new, not as duplicates.
  SetFileSizeLimit(stack.broker_pid(), RLIM_INFINITY);
  const auto lifted = std::chrono::steady_clock::now();
  for (const auto& env : refused) {
    std::optional<std::string> answer;
    ASSERT_TRUE(WaitUntil(
        [&] {
          answer = SubmitRaw(raw, ++request, env, seconds(3));
          return answer &&
                 (*ParseFrame(*answer))->body_type() == wire::Body::Accepted;
        },
        seconds(15)))
        << "not accepted again once writable:\n"
        << stack.BrokerLog();
    EXPECT_FALSE((*ParseFrame(*answer))->body_as_Accepted()->duplicate());
    accepted.push_back({env.message_id, ""});
  }
  const auto recovery = std::chrono::steady_clock::now() - lifted;
  EXPECT_LT(recovery, seconds(5));
  SubmitToCaf(desk->get(), 3, &accepted);
  const std::string log = stack.BrokerLog();
  // Said in its log, with the failure it recovered from.
  EXPECT_THAT(log, HasSubstr("recovered (closed and opened again)"));
  EXPECT_THAT(log, HasSubstr("File too large"));
  ASSERT_TRUE(stack.BrokerRunning());

  // (d) SIGKILL after the recovery, and a restart: then (c) caf gets every
  // accepted message, from before the fault and after it, once.
  stack.KillBroker();
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  DeliveryCounter caf;
  auto client = ReceiveAll(stack, caf, accepted);
  ASSERT_NE(client, nullptr);
  for (const auto& s : accepted) EXPECT_EQ(caf.count(s.message_id), 1);
  EXPECT_EQ(client->stats().redeliveries_suppressed.load(), 0u);
}

// ---- Damaged journal files ----

std::string Slurp(const fs::path& path) {
  auto bytes = ReadFile(path.string());
  EXPECT_TRUE(bytes.ok()) << path;
  return bytes.ok() ? *bytes : std::string();
}

void Spit(const fs::path& path, const std::string& bytes) {
  ASSERT_TRUE(WriteFileAtomic(path.string(), bytes).ok()) << path;
}

// The journal's files whose names end with `suffix` (".log", ".sst"), in
// name order, i.e. oldest first.
std::vector<fs::path> JournalFiles(const std::string& dir,
                                   const std::string& suffix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

fs::path LargestTable(const std::string& dir) {
  auto tables = JournalFiles(dir, ".sst");
  if (tables.empty()) return {};
  return *std::max_element(tables.begin(), tables.end(),
                           [](const fs::path& a, const fs::path& b) {
                             return fs::file_size(a) < fs::file_size(b);
                           });
}

// Where the physical records of a RocksDB log file start, and their
// payload sizes. The write-ahead log and the MANIFEST share leveldb's
// format: 32 KiB blocks; a record is crc32c (4), length (2, little
// endian), type (1), payload; a block's last < 7 bytes are padding.
struct LogRecord {
  size_t offset;
  size_t length;
};
std::vector<LogRecord> LogRecords(const std::string& bytes) {
  constexpr size_t kBlock = 32768, kHeader = 7;
  std::vector<LogRecord> out;
  size_t pos = 0;
  while (pos + kHeader <= bytes.size()) {
    const size_t left = kBlock - pos % kBlock;
    if (left < kHeader) {
      pos += left;
      continue;
    }
    const size_t length = static_cast<uint8_t>(bytes[pos + 4]) |
                          static_cast<uint8_t>(bytes[pos + 5]) << 8;
    if (bytes[pos + 6] == 0 || pos + kHeader + length > bytes.size()) break;
    out.push_back({pos, length});
    pos += kHeader + length;
  }
  return out;
}

// Flips a byte in the payload of the record in the middle of the log file
// `path` (never its last record).
void DamageMiddleRecord(const fs::path& path) {
  std::string bytes = Slurp(path);
  const auto records = LogRecords(bytes);
  ASSERT_GE(records.size(), 3u) << path;
  const LogRecord& r = records[records.size() / 2];
  ASSERT_GT(r.length, 0u);
  bytes[r.offset + 7 + r.length / 2] ^= 0x5a;
  Spit(path, bytes);
}

// Starts relaisd, has `n` messages accepted for caf (offline), and stops
// it: with SIGKILL, or cleanly (SIGTERM), which flushes the journal's
// memtables to table files.
void Fill(TestStack& stack, int n, bool clean, std::vector<Sent>* sent) {
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  {
    auto desk = stack.Connect(kDesk);
    ASSERT_TRUE(desk.ok());
    SubmitToCaf(desk->get(), n, sent);
  }
  if (clean) {
    ASSERT_EQ(stack.StopBroker(), 0) << stack.BrokerLog();
  } else {
    stack.KillBroker();
  }
}

// relaisd must exit by itself, unsuccessfully, saying in its last words
// which journal is damaged and how (each of `what`).
void ExpectRefusal(TestStack& stack, const std::vector<std::string>& what) {
  std::string output;
  const auto start = std::chrono::steady_clock::now();
  auto status = stack.RunBrokerUntilExit(seconds(20), &output);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_NE(*status, 0) << output;
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
  const size_t at = output.find("cannot start: ");
  ASSERT_NE(at, std::string::npos) << output;
  const std::string last = output.substr(at, output.find('\n', at) - at);
  EXPECT_THAT(last, HasSubstr("journal " + stack.layout().JournalDir() +
                              " is damaged"));
  for (const auto& w : what) EXPECT_THAT(last, HasSubstr(w));
}

// Starts relaisd; caf then gets every one of `sent`, once (`caf` counts
// what it got).
void ExpectAllDelivered(TestStack& stack, const std::vector<Sent>& sent,
                        DeliveryCounter& caf) {
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  auto client = ReceiveAll(stack, caf, sent);
  ASSERT_NE(client, nullptr);
  for (const auto& s : sent) EXPECT_EQ(caf.count(s.message_id), 1);
}

void ExpectAllDelivered(TestStack& stack, const std::vector<Sent>& sent) {
  DeliveryCounter caf;
  ExpectAllDelivered(stack, sent, caf);
}

TEST(JournalDamageTest, DamagedLogRecordBeforeTheTailStopsTheStart) {
  TestStack stack;
  std::vector<Sent> sent;
  Fill(stack, 12, /*clean=*/false, &sent);
  ASSERT_FALSE(::testing::Test::HasFailure());
  const fs::path log = JournalFiles(stack.layout().JournalDir(), ".log").back();
  const std::string original = Slurp(log);
  DamageMiddleRecord(log);
  ExpectRefusal(stack, {"checksum mismatch", log.filename().string()});
  Spit(log, original);
  ExpectAllDelivered(stack, sent);
}

TEST(JournalDamageTest, TornLastLogRecordIsDroppedAndTheRestKept) {
  TestStack stack;
  std::vector<Sent> sent;
  Fill(stack, 12, /*clean=*/false, &sent);
  ASSERT_FALSE(::testing::Test::HasFailure());
  // What a crash in the middle of the last write leaves. That write was
  // acknowledged here, so it is lost with its tail: in a real crash it
  // would not have been.
  const fs::path log = JournalFiles(stack.layout().JournalDir(), ".log").back();
  fs::resize_file(log, fs::file_size(log) - 5);
  const Sent torn = sent.back();
  sent.pop_back();
  DeliveryCounter caf;
  ExpectAllDelivered(stack, sent, caf);
  EXPECT_EQ(caf.count(torn.message_id), 0);  // the tear did hit that record
}

TEST(JournalDamageTest, DamagedManifestStopsTheStart) {
  TestStack stack;
  std::vector<Sent> sent;
  Fill(stack, 5, /*clean=*/true, &sent);
  ASSERT_FALSE(::testing::Test::HasFailure());
  const std::string dir = stack.layout().JournalDir();
  std::string current = Slurp(dir + "/CURRENT");
  while (!current.empty() && current.back() == '\n') current.pop_back();
  const fs::path manifest = fs::path(dir) / current;
  const std::string original = Slurp(manifest);
  DamageMiddleRecord(manifest);
  ExpectRefusal(stack, {"checksum mismatch", manifest.filename().string()});
  Spit(manifest, original);
  ExpectAllDelivered(stack, sent);
}

TEST(JournalDamageTest, DamagedOrMissingCurrentStopsTheStart) {
  TestStack stack;
  std::vector<Sent> sent;
  Fill(stack, 5, /*clean=*/true, &sent);
  ASSERT_FALSE(::testing::Test::HasFailure());
  const fs::path current = fs::path(stack.layout().JournalDir()) / "CURRENT";
  const std::string original = Slurp(current);
  Spit(current, "\x01\x7fnot a manifest name");
  ExpectRefusal(stack, {"CURRENT"});
  // Without CURRENT, RocksDB would create an empty journal over the files.
  fs::remove(current);
  ExpectRefusal(stack, {"but no CURRENT file"});
  EXPECT_FALSE(fs::exists(current));
  Spit(current, original);
  ExpectAllDelivered(stack, sent);
}

TEST(JournalDamageTest, TruncatedTableFileStopsTheStart) {
  TestStack stack;
  std::vector<Sent> sent;
  Fill(stack, 40, /*clean=*/true, &sent);
  ASSERT_FALSE(::testing::Test::HasFailure());
  const fs::path table = LargestTable(stack.layout().JournalDir());
  ASSERT_FALSE(table.empty()) << "a clean stop leaves table files";
  const std::string original = Slurp(table);
  fs::resize_file(table, original.size() / 2);
  ExpectRefusal(stack, {table.filename().string()});
  Spit(table, original);
  ExpectAllDelivered(stack, sent);
}

TEST(JournalDamageTest, DamagedTableBlockIsFoundByTheStartCheck) {
  deploy::StackSpec spec;
  spec.broker_extra = "journal_verify_on_start = true\n";
  TestStack stack(spec);
  std::vector<Sent> sent;
  Fill(stack, 40, /*clean=*/true, &sent);
  ASSERT_FALSE(::testing::Test::HasFailure());
  // A sound journal passes the check.
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  ASSERT_EQ(stack.StopBroker(), 0);
  EXPECT_THAT(stack.BrokerLog(), HasSubstr("checksums verified"));

  const fs::path table = LargestTable(stack.layout().JournalDir());
  ASSERT_FALSE(table.empty());
  const std::string original = Slurp(table);
  std::string damaged = original;
  for (size_t i = 0; i < 64; ++i) damaged[damaged.size() / 2 + i] ^= 0x5a;
  Spit(table, damaged);
  ExpectRefusal(stack, {"checksum mismatch", table.filename().string()});
  Spit(table, original);
  ExpectAllDelivered(stack, sent);
}

}  // namespace
}  // namespace relais::testing
