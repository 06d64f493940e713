#include "core/files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/support/test_dir.h"

namespace relais {
namespace {

namespace fs = std::filesystem;
using testing::FileNames;
using testing::MakeTestDir;
using testing::Slurp;
using testing::Spit;

// Makes every write(2) to a descriptor above stderr fail with `err` in this
// process, for good (seccomp: no root needed). False if the kernel refuses.
bool FailWritesWith(int err) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                "the filter reads the low half of the fd argument");
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 2, 0, 1),
      BPF_STMT(
          BPF_RET | BPF_K,
          SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

constexpr int kNoFilter = 100;

// Runs `fn` in a child process whose writes fail with `err`; returns the
// child's exit status (fn's result), or kNoFilter if seccomp is refused.
int InChildWithWritesFailing(int err, const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!FailWritesWith(err)) ::_exit(kNoFilter);
    ::_exit(fn());
  }
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

int CodeOf(const Status& st) { return static_cast<int>(st.code()); }

using FilesTest = ::relais::testing::TestDirFixture;

TEST_F(FilesTest, WriteFileAtomicReplacesTheFileAndLeavesNoTemporary) {
  Spit(Path("f"), "old contents");
  ASSERT_TRUE(WriteFileAtomic(Path("f"), "new", 0600).ok());
  EXPECT_EQ(Slurp(Path("f")), "new");
  EXPECT_EQ(fs::status(Path("f")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(FileNames(dir_), std::vector<std::string>{"f"});
}

// EFBIG (the process's file size limit) is an I/O error, not a full disk:
// waiting for space would never help.
TEST_F(FilesTest, WriteFileAtomicOverTheFileSizeLimitIsIOErrorNotNoSpace) {
  Spit(Path("f"), "old contents");
  Status st;
  {
    relais::testing::FileSizeLimit limit(0);
    st = WriteFileAtomic(Path("f"), "new contents");
  }
  EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
  EXPECT_NE(st.message().find(".f.tmp"), std::string::npos) << st.ToString();
  EXPECT_EQ(Slurp(Path("f")), "old contents");
  EXPECT_EQ(FileNames(dir_), std::vector<std::string>{"f"});
}

TEST_F(FilesTest, WriteFileAtomicOnAFullDiskIsNoSpace) {
  Spit(Path("f"), "old contents");
  const int code = InChildWithWritesFailing(ENOSPC, [&] {
    return CodeOf(WriteFileAtomic(Path("f"), "new contents"));
  });
  if (code == kNoFilter) GTEST_SKIP() << "seccomp filters are refused here";
  EXPECT_EQ(code, CodeOf(Status::NoSpace("")));
  EXPECT_EQ(Slurp(Path("f")), "old contents");
  EXPECT_EQ(FileNames(dir_), std::vector<std::string>{"f"});
}

TEST_F(FilesTest, WriteFileAtomicOverQuotaIsNoSpace) {
  const int code = InChildWithWritesFailing(
      EDQUOT, [&] { return CodeOf(WriteFileAtomic(Path("f"), "contents")); });
  if (code == kNoFilter) GTEST_SKIP() << "seccomp filters are refused here";
  EXPECT_EQ(code, CodeOf(Status::NoSpace("")));
  EXPECT_TRUE(FileNames(dir_).empty());
}

TEST_F(FilesTest, ProbeWriteSaysWhetherTheDiskTakesWrites) {
  EXPECT_TRUE(ProbeWrite(dir_.string()).ok());
  EXPECT_TRUE(FileNames(dir_).empty());
  {
    relais::testing::FileSizeLimit limit(0);
    EXPECT_EQ(ProbeWrite(dir_.string()).code(), Status::Code::kIOError);
  }
  EXPECT_TRUE(FileNames(dir_).empty());
  const int code = InChildWithWritesFailing(
      ENOSPC, [&] { return CodeOf(ProbeWrite(dir_.string())); });
  if (code == kNoFilter) GTEST_SKIP() << "seccomp filters are refused here";
  EXPECT_EQ(code, CodeOf(Status::NoSpace("")));
  EXPECT_TRUE(FileNames(dir_).empty());
}

// A file still open for writing (a partner writing under its final name)
// is not ready: reading it now could take half of it.
TEST_F(FilesTest, AFileStillOpenForWritingIsNotReady) {
  Spit(Path("complete.json"), "{}");
  const int writer =
      ::open(Path("writing.json").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(writer, 0);
  ASSERT_EQ(::write(writer, "{\"half\":", 9), 9);
  EXPECT_TRUE(StillBeingWritten(Path("writing.json")));
  EXPECT_FALSE(StillBeingWritten(Path("complete.json")));
  ASSERT_EQ(::write(writer, "1}", 2), 2);
  ::close(writer);
  EXPECT_FALSE(StillBeingWritten(Path("writing.json")));
  // Nothing to open: not being written (its reader says what is wrong).
  EXPECT_FALSE(StillBeingWritten(Path("absent")));
}

// Where no lease can be taken (here: another user's file, without
// CAP_LEASE), a file changed less than the settle time ago is not ready
// yet (a minute here, so that the test does not race the clock).
TEST_F(FilesTest, WithoutALeaseAFileIsReadyOnceLeftUnchanged) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root, to read the file as another user";
  }
  fs::permissions(dir_, fs::perms::all, fs::perm_options::add);
  Spit(Path("fresh.json"), "{}");
  Spit(Path("settled.json"), "{}");
  ASSERT_EQ(::chmod(Path("fresh.json").c_str(), 0644), 0);
  ASSERT_EQ(::chmod(Path("settled.json").c_str(), 0644), 0);
  const timespec long_ago[2] = {{::time(nullptr) - 3600, 0},
                                {::time(nullptr) - 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("settled.json").c_str(), long_ago, 0),
            0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // nobody: no CAP_LEASE, and not the files' owner.
    if (::setresuid(65534, 65534, 65534) != 0) ::_exit(10);
    const int open_fd = ::open(Path("fresh.json").c_str(), O_RDONLY);
    if (open_fd < 0) ::_exit(11);
    const bool no_lease = ::fcntl(open_fd, F_SETLEASE, F_RDLCK) != 0;
    ::close(open_fd);
    if (!no_lease) ::_exit(12);
    const std::chrono::minutes settle(1);
    ::_exit((StillBeingWritten(Path("fresh.json"), settle) ? 0 : 1) |
            (StillBeingWritten(Path("settled.json"), settle) ? 2 : 0));
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0)
      << "1: a fresh file was ready, 2: a settled one was not; 10-12: the "
         "child could not become another user";
}

TEST_F(FilesTest, ReadFileNotFoundAndSizeLimit) {
  auto missing = ReadFile(Path("missing"));
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  Spit(Path("f"), "12345");
  auto exact = ReadFile(Path("f"), 5);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(*exact, "12345");
  EXPECT_EQ(ReadFile(Path("f"), 4).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(FilesTest, RenameSyncedReplacesTheTarget) {
  Spit(Path("from"), "moved");
  Spit(Path("to"), "replaced");
  ASSERT_TRUE(RenameSynced(Path("from"), Path("to")).ok());
  EXPECT_EQ(Slurp(Path("to")), "moved");
  EXPECT_EQ(FileNames(dir_), std::vector<std::string>{"to"});
}

TEST_F(FilesTest, RenameSyncedAcrossFolders) {
  fs::create_directories(dir_ / "a");
  fs::create_directories(dir_ / "b");
  Spit(dir_ / "a" / "f", "moved");
  ASSERT_TRUE(
      RenameSynced((dir_ / "a" / "f").string(), (dir_ / "b" / "g").string())
          .ok());
  EXPECT_TRUE(FileNames(dir_ / "a").empty());
  EXPECT_EQ(Slurp(dir_ / "b" / "g"), "moved");
}

TEST_F(FilesTest, RenameSyncedOfAMissingFileIsNotFound) {
  Spit(Path("to"), "kept");
  Status st = RenameSynced(Path("missing"), Path("to"));
  EXPECT_EQ(st.code(), Status::Code::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find(Path("missing")), std::string::npos);
  EXPECT_EQ(Slurp(Path("to")), "kept");
}

TEST_F(FilesTest, FreeBytesOfAFolderAndOfNone) {
  auto free = FreeBytes(dir_.string());
  ASSERT_TRUE(free.ok()) << free.status().ToString();
  EXPECT_GT(*free, 0u);
  auto none = FreeBytes(Path("missing"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kIOError);
  EXPECT_NE(none.status().message().find(Path("missing")), std::string::npos);
}

TEST(HumanBytesTest, OneDecimalFromKiBOn) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1.0 KiB");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(1536 * 1024), "1.5 MiB");
  EXPECT_EQ(HumanBytes(uint64_t{5} << 30), "5.0 GiB");
  EXPECT_EQ(HumanBytes(uint64_t{2} << 40), "2.0 TiB");
  // TiB is the largest unit.
  EXPECT_EQ(HumanBytes(uint64_t{1} << 50), "1024.0 TiB");
}

}  // namespace
}  // namespace relais
