#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>

#include "core/crash_point.h"
#include "core/text.h"

namespace relais {
namespace {

// The most bytes of a path an error shows.
constexpr size_t kPathShown = 512;

// The failed call's errno as a status: NoSpace for a full disk or quota.
// The path is escaped: it may come from a person or a file, and the
// message is printed and logged.
Status Errno(const std::string& what, const std::string& path) {
  const int error = errno;
  std::string text =
      what + " " + Escaped(path, kPathShown) + ": " + std::strerror(error);
  if (error == ENOSPC || error == EDQUOT) return Status::NoSpace(text);
  return Status::IOError(text);
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

}  // namespace

namespace {

enum class Holds { kAnything, kSecret, kPlainFile };

constexpr char kNotPlain[] =
    "not a plain file (a symbolic link, a pipe...): not read; drop the file "
    "itself";

Result<std::string> Read(const std::string& path, size_t max_bytes,
                         Holds holds) {
  // A plain file's check is made on what is opened: a link is not
  // followed, a pipe does not block the open.
  const int flags = O_RDONLY | O_CLOEXEC |
                    (holds == Holds::kPlainFile ? O_NOFOLLOW | O_NONBLOCK : 0);
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Status::NotFound("no such file: " + Escaped(path, kPathShown));
    }
    if (errno == ELOOP && holds == Holds::kPlainFile) {
      return Status::InvalidArgument(kNotPlain);
    }
    return Errno("open", path);
  }
  struct stat st {};
  if (holds == Holds::kPlainFile) {
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status::InvalidArgument(kNotPlain);
    }
  }
  if (holds == Holds::kSecret) {
    if (::fstat(fd, &st) != 0) {
      Status failed = Errno("stat", path);
      ::close(fd);
      return failed;
    }
    // As ssh does with its private keys: a secret that any user of the
    // machine could read (or replace) is no longer one.
    if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
      ::close(fd);
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o",
                    static_cast<unsigned>(st.st_mode & 07777));
      return Status::InvalidArgument(
          Escaped(path, kPathShown) + " holds a secret key and every user " +
          "of this machine may read or change it (mode " + mode +
          "): make it the owner's only (chmod 600)");
    }
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status failed = Errno("read", path);
      ::close(fd);
      return failed;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      if (holds == Holds::kPlainFile) {
        return Status::InvalidArgument("the file is larger than " +
                                       HumanBytes(max_bytes) + " (" +
                                       std::to_string(max_bytes) + " bytes)");
      }
      return Status::InvalidArgument(Escaped(path, kPathShown) +
                                     " is larger than " +
                                     std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  return Read(path, max_bytes, Holds::kAnything);
}

Result<std::string> ReadSecretFile(const std::string& path, size_t max_bytes) {
  return Read(path, max_bytes, Holds::kSecret);
}

Result<std::string> ReadPlainFile(const std::string& path, size_t max_bytes) {
  return Read(path, max_bytes, Holds::kPlainFile);
}

Status WriteFileAtomic(const std::string& path, std::string_view contents,
                       unsigned mode) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : ".";
  const std::string tmp =
      (dir / ("." + target.filename().string() + ".tmp")).string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                        static_cast<mode_t>(mode));
  if (fd < 0) return Errno("open", tmp);
  Status st = WriteAll(fd, contents, tmp);
  if (st.ok() && ::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    st = Errno("fchmod", tmp);
  }
  if (st.ok() && ::fsync(fd) != 0) st = Errno("fsync", tmp);
  ::close(fd);
  if (st.ok()) CrashPoint("files.atomic.synced");
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Errno("rename", path);
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  CrashPoint("files.atomic.renamed");
  return SyncDir(dir.string());
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  Status st;
  if (::fsync(fd) != 0) st = Errno("fsync", dir);
  ::close(fd);
  return st;
}

Status RenameSynced(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    if (errno == ENOENT && ::access(from.c_str(), F_OK) != 0) {
      return Status::NotFound("no such file: " + from);
    }
    return Errno("rename " + from + " to", to);
  }
  const std::filesystem::path a(from), b(to);
  const std::string to_dir = b.has_parent_path() ? b.parent_path() : ".";
  const std::string from_dir = a.has_parent_path() ? a.parent_path() : ".";
  RELAIS_RETURN_IF_ERROR(SyncDir(to_dir));
  if (from_dir != to_dir) RELAIS_RETURN_IF_ERROR(SyncDir(from_dir));
  return Status::OK();
}

Result<uint64_t> FreeBytes(const std::string& dir) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return Errno("statvfs", dir);
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  // 1023.96 KiB reads "1.0 MiB", not "1024.0 KiB".
  while (v >= 1023.95 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) v = static_cast<double>(bytes);
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

Status ProbeWrite(const std::string& dir) {
  const std::string path = dir + "/.relais-write-probe";
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path);
  const std::string block(4096, '\0');
  const bool ok = ::write(fd, block.data(), block.size()) ==
                      static_cast<ssize_t>(block.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  ::unlink(path.c_str());
  if (!ok) {
    errno = err;
    return Errno("cannot write", path);
  }
  return Status::OK();
}

bool IsInProgress(std::string_view name) {
  return name.empty() || name.front() == '.' || name.ends_with(".tmp") ||
         name.ends_with(".part");
}

bool StillBeingWritten(const std::string& path,
                       std::chrono::milliseconds settle) {
  // Only a regular file is opened: opening a pipe would meet its writer.
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0 || !S_ISREG(link.st_mode)) {
    return false;
  }
  const int fd =
      ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  // Another process's write lease (a file server's) refuses a reader for
  // now; anything else is its reader's to say.
  if (fd < 0) return errno == EWOULDBLOCK || errno == EAGAIN;
  struct stat st {};
  bool writing = false;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    // A lease broken in the instant it is held signals its holder: SIGURG,
    // whose default is to be ignored, rather than SIGIO, whose default
    // ends the process.
    if (::fcntl(fd, F_SETSIG, SIGURG) == 0 &&
        ::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
      ::fcntl(fd, F_SETLEASE, F_UNLCK);
    } else if (errno == EAGAIN) {
      writing = true;  // open for writing somewhere
    } else {
      // No lease here (another user's file, or a network file system):
      // by its last change. A change in the future (a writer's clock
      // ahead) tells nothing and is not waited for.
      using std::chrono::system_clock;
      const auto changed = system_clock::time_point(
          std::chrono::duration_cast<system_clock::duration>(
              std::chrono::seconds(st.st_mtim.tv_sec) +
              std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
      const auto age = system_clock::now() - changed;
      writing = age >= system_clock::duration::zero() && age < settle;
    }
  }
  ::close(fd);
  return writing;
}

std::vector<std::string> ReadyFiles(
    const std::string& dir,
    const std::function<bool(const std::string&)>& wanted) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code type_ec;
    if (entry.symlink_status(type_ec).type() ==
            std::filesystem::file_type::regular &&
        !IsInProgress(name) && (!wanted || wanted(name))) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> ReadyEntries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code type_ec;
    if (entry.symlink_status(type_ec).type() !=
            std::filesystem::file_type::directory &&
        !IsInProgress(name)) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace relais
