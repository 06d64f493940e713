// Fault: the file system that holds relaisd's journal and an adapter's
// folders fills up. It is a real one, a small tmpfs mounted for the test
// (root only: the test is skipped, saying so, where mounting is not
// allowed), filled with a ballast file and freed by removing it.
//
// - relaisd refuses new messages with 501 JournalUnavailable, says which
//   folder is full and how much is free, keeps what it accepted, and
//   accepts again by itself once space returns.
// - relaisd started on a full disk waits, says so, and starts once space
//   returns; SIGTERM meanwhile stops it cleanly.
// - An adapter started on a full disk waits for its local store; an inbox
//   file and a delivery that come while the disk is full wait, saying why,
//   and go through once space returns.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/cases.h"
#include "core/files.h"
#include "core/frame.h"
#include "deploy/lib/process.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr char kDesk[] = "france-services/paris-15";

// A tmpfs of `mib` MiB at a new temporary folder, unmounted at the end.
class SmallDisk {
 public:
  explicit SmallDisk(int mib) : dir_(MakeTestDir()), mount_(dir_ + "/disk") {
    fs::create_directories(mount_);
    const std::string options = "size=" + std::to_string(mib) + "m";
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      why_not_ = std::strerror(errno);
    } else {
      mounted_ = true;
    }
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(mount_.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool mounted() const { return mounted_; }
  // A folder of the test on the ordinary disk.
  std::string outside() const { return dir_; }
  const std::string& why_not() const { return why_not_; }
  const std::string& path() const { return mount_; }

  // Takes every free byte (a ballast file), so that the next write fails
  // with ENOSPC.
  void Fill() {
    const std::string ballast = mount_ + "/ballast";
    const int fd = ::open(ballast.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    auto free = FreeBytes(mount_);
    ASSERT_TRUE(free.ok());
    if (*free > 0) {
      // ENOSPC: a process of the stack wrote to this disk since it was
      // measured; the blocks below take what is left.
      const int taken = ::posix_fallocate(fd, 0, static_cast<off_t>(*free));
      ASSERT_TRUE(taken == 0 || taken == ENOSPC) << std::strerror(taken);
    }
    // What fallocate could not take, byte blocks can.
    static const char block[4096] = {};
    while (::write(fd, block, sizeof(block)) > 0) {
    }
    while (::write(fd, block, 1) > 0) {
    }
    ::close(fd);
    ASSERT_EQ(*FreeBytes(mount_), 0u);
  }
  void Free() { fs::remove(mount_ + "/ballast"); }

 private:
  std::string dir_, mount_, why_not_;
  bool mounted_ = false;
};

uint16_t RejectCodeOf(const std::string& frame) {
  auto f = ParseFrame(frame);
  if (!f.ok() || (*f)->body_type() != wire::Body::Rejected) return 0;
  return static_cast<uint16_t>((*f)->body_as_Rejected()->code());
}

std::string LogOf(const std::string& path) {
  auto text = ReadFile(path, 16 << 20);
  return text.ok() ? *text : std::string();
}

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << disk_.why_not()
                   << "): the full-disk tests need root";
    }
    deploy::StackSpec spec;
    spec.dir = disk_.path() + "/stack";
    // A small journal write buffer: RocksDB preallocates its log by about
    // a tenth more than a write buffer, room that writes use before ENOSPC.
    spec.broker_extra = "journal_write_buffer_mb = 4";
    stack_.emplace(spec);
    // Logs on the ordinary disk: on the full one they would be lost.
    stack_->set_log_dir(disk_.outside());
  }
  void TearDown() override {
    disk_.Free();
    stack_.reset();
  }
  TestStack& stack() { return *stack_; }

  SmallDisk disk_{48};
  std::optional<TestStack> stack_;
};

TEST_F(DiskFullTest, FullJournalRefuses501ThenRecoversAndLosesNothing) {
  ASSERT_TRUE(stack().StartBroker().ok()) << stack().BrokerLog();
  auto desk = stack().Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  RawClient raw(stack().endpoint(), stack().BrokerCurvePublic(),
                stack().IdentityOf(kDesk).curve);
  raw.Send(HelloFrame(1, kDesk, 0, "disk-full-test"));
  ASSERT_TRUE(raw.ReceiveType(wire::Body::Welcome, seconds(5)).has_value());

  disk_.Fill();
  // Submits go through while the log's preallocated room lasts, then 501.
  std::vector<std::string> accepted;
  uint64_t request = 10;
  bool refused = false;
  for (int i = 0; i < 20000 && !refused; ++i) {
    auto env = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
    ASSERT_TRUE(env.ok());
    auto answer = SubmitRaw(raw, ++request, *env, seconds(10));
    ASSERT_TRUE(answer.has_value()) << "no answer: " << stack().BrokerLog();
    const uint16_t code = RejectCodeOf(*answer);
    if (code == 0) {
      accepted.push_back(env->message_id);
    } else {
      ASSERT_EQ(code, 501) << "refused with another code";
      refused = true;
    }
  }
  ASSERT_TRUE(refused) << "the journal never ran out of space";
  // The operator is told which folder is full and what is free.
  EXPECT_THAT(
      stack().BrokerLog(),
      HasSubstr("journal " + stack().layout().JournalDir() + " cannot write"));
  EXPECT_THAT(stack().BrokerLog(), HasSubstr("The disk is full (0 B free)"));
  // Still refused while full; relaisd answers (it is up).
  auto again = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
  auto answer = SubmitRaw(raw, ++request, *again, seconds(10));
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(RejectCodeOf(*answer), 501);

  disk_.Free();
  // It recovers by itself: the same message is accepted on a retry.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto a = SubmitRaw(raw, ++request, *again, seconds(5));
        return a.has_value() && RejectCodeOf(*a) == 0;
      },
      seconds(30)))
      << stack().BrokerLog();
  accepted.push_back(again->message_id);
  EXPECT_THAT(stack().BrokerLog(), HasSubstr("recovered"));

  // Everything accepted is there after a SIGKILL.
  stack().KillBroker();
  ASSERT_TRUE(stack().StartBroker().ok()) << stack().BrokerLog();
  DeliveryCounter caf;
  auto client = stack().Connect("caf", caf.Handler());
  ASSERT_TRUE(client.ok());
  for (const auto& id : accepted) {
    ASSERT_TRUE(WaitUntil([&] { return caf.count(id) >= 1; }, seconds(60)))
        << accepted.size() << " accepted, one never delivered";
  }
}

TEST_F(DiskFullTest, RelaisdStartedOnAFullDiskWaitsThenStarts) {
  // Twice: the second start keeps the port the first one bound, which
  // rewrites relaisd.toml; nothing needs to be written after the fill.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(stack().StartBroker().ok()) << stack().BrokerLog();
    ASSERT_EQ(stack().StopBroker(), 0);
  }
  disk_.Fill();
  const std::string log = stack().BrokerLogPath();
  ASSERT_TRUE(stack().LaunchBroker().ok());
  // It says why it waits, and does not exit.
  ASSERT_TRUE(WaitUntil([&] {
    return !stack().BrokerRunning() ||
           LogOf(log).find("Waiting: it starts by itself") != std::string::npos;
  })) << LogOf(log);
  ASSERT_TRUE(stack().BrokerRunning()) << LogOf(log);
  EXPECT_THAT(LogOf(log),
              HasSubstr("0 B free in " + stack().layout().JournalDir()));
  disk_.Free();
  ASSERT_TRUE(stack().WaitBrokerReady(seconds(30)).ok()) << LogOf(log);
  auto desk = stack().Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  auto env = (*desk)->Seal(SampleDraft(kDesk, {"caf"}));
  EXPECT_TRUE((*desk)->Submit(*env, seconds(10)).ok());

  // And a SIGTERM while it waits stops it cleanly.
  ASSERT_EQ(stack().StopBroker(), 0);
  disk_.Fill();
  ASSERT_TRUE(stack().LaunchBroker().ok());
  ASSERT_TRUE(WaitUntil([&] {
    return LogOf(log).find("stopped while waiting") != std::string::npos ||
           LogOf(log).rfind("Waiting: it starts by itself") >
               LogOf(log).find("Waiting: it starts by itself");
  })) << LogOf(log);
  EXPECT_EQ(stack().StopBroker(), 0);
}

TEST_F(DiskFullTest, AdapterWaitsOnAFullDiskThenHandsEverythingOver) {
  // Only the adapter's disk fills: the journal is elsewhere, so that the
  // broker goes on accepting what the adapter must wait to hand over.
  const std::string journal = disk_.outside() + "/journal";
  auto config = ReadFile(stack().layout().BrokerConfig());
  ASSERT_TRUE(config.ok());
  std::string text = *config;
  const std::string key = "journal_dir = \"journal\"";
  ASSERT_NE(text.find(key), std::string::npos);
  text.replace(text.find(key), key.size(), "journal_dir = \"" + journal + "\"");
  ASSERT_TRUE(WriteFileAtomic(stack().layout().BrokerConfig(), text).ok());
  ASSERT_TRUE(stack().StartBroker().ok()) << stack().BrokerLog();
  const std::string log = stack().AdapterLogPath("cpam");

  // Started on a full disk: it waits for its local store.
  disk_.Fill();
  ASSERT_TRUE(stack().LaunchAdapter("cpam").ok());
  ASSERT_TRUE(WaitUntil([&] {
    return !stack().AdapterRunning("cpam") ||
           LogOf(log).find("Waiting: it starts by itself") != std::string::npos;
  })) << LogOf(log);
  ASSERT_TRUE(stack().AdapterRunning("cpam")) << LogOf(log);
  EXPECT_THAT(LogOf(log), HasSubstr("0 B free in "));
  disk_.Free();
  ASSERT_TRUE(WaitUntil([&] {
    return LogOf(log).find("local store open: going on") != std::string::npos;
  })) << LogOf(log);
  ASSERT_TRUE(WaitUntil([&] {
    return LogOf(log).find("cpam adapter ready") != std::string::npos;
  })) << LogOf(log);

  // A file dropped just before the disk fills, and a delivery that comes
  // while it is full, wait, saying why.
  auto sample = ReadFile(SourcePath("deploy/samples/cpam/birth.json"));
  ASSERT_TRUE(sample.ok());
  const std::string inbox = stack().layout().Inbox("cpam");
  auto desk = stack().Connect(kDesk);
  ASSERT_TRUE(desk.ok());
  auto address = nlohmann::json::parse(*ReadFile(
      SourcePath("deploy/samples/france_services/address_change.json")));
  EnvelopeDraft d;
  d.case_id = "c-disk-full-1";
  d.recipients = {"cpam"};
  d.case_type = wire::CaseType::AddressChange;
  d.payload = *CaseEventFromJson(address["event"].dump());
  auto sealed = (*desk)->Seal(d);
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(WriteFileAtomic(inbox + "/.birth.json", *sample).ok());
  disk_.Fill();
  fs::rename(inbox + "/.birth.json", inbox + "/birth.json");
  ASSERT_TRUE((*desk)->Submit(*sealed, seconds(10)).ok());
  ASSERT_TRUE(WaitUntil([&] {
    const std::string l = LogOf(log);
    return l.find("birth.json waits: NoSpace") != std::string::npos &&
           l.find("handler will retry") != std::string::npos;
  })) << LogOf(log);
  EXPECT_THAT(LogOf(log), HasSubstr("0 B free for state/intake"));
  EXPECT_TRUE(fs::exists(inbox + "/birth.json"));  // not taken while full
  ASSERT_TRUE(stack().AdapterRunning("cpam"));

  disk_.Free();
  const std::string done = stack().layout().Done("cpam");
  EXPECT_TRUE(
      WaitUntil([&] { return fs::exists(done + "/birth.json.receipt.json"); },
                seconds(60)))
      << LogOf(log);
  EXPECT_TRUE(WaitUntil(
      [&] {
        std::error_code ec;
        for (const auto& e :
             fs::directory_iterator(stack().layout().Outbox("cpam"), ec)) {
          if (e.path().filename().string().starts_with("c-disk-full-1"))
            return true;
        }
        return false;
      },
      seconds(60)))
      << LogOf(log);
  EXPECT_EQ(stack().StopAdapter("cpam"), 0);
}

}  // namespace
}  // namespace relais::testing
