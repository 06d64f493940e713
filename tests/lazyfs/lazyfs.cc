// relais-lazyfs: a FUSE 3 passthrough file system that forgets unsynced
// writes when the "power fails", after Jepsen's LazyFS. Fault tests run a
// program (RocksDB, the broker) on the mount, cut the power, and check that
// everything the program promised was durable survived.
//
// Usage: relais-lazyfs BACKING_DIR MOUNTPOINT [-f] [other FUSE options]
//
// BACKING_DIR plays the disk and this process the kernel's page cache:
// - write() does not reach the backing file: the bytes are kept in memory per
//   backing inode (st_dev, st_ino), so they follow the file across rename and
//   every handle of the file shares them. A later write of a range replaces
//   the earlier one; adjacent ranges are merged, so memory stays at the
//   number of distinct unsynced bytes.
// - read() returns the backing bytes overlaid with the buffered ones; stat
//   reports st_size = max(backing size, end of the furthest buffered byte).
// - fsync() or fdatasync() on any handle of a file writes all of that file's
//   buffered bytes to the backing file, forgets them and fsyncs the backing
//   file. A write through a handle opened with O_SYNC or O_DSYNC goes to the
//   backing file at once and is fdatasync'ed. fsyncdir() fsyncs the backing
//   directory. close() persists nothing; nor do sync(2), syncfs(2) and
//   sync_file_range(2), which never reach a FUSE file system.
// - Power cut, on SIGUSR1: every buffered byte of every file is forgotten,
//   then the line "lazyfs: power cut: N bytes in M files lost" is written to
//   stderr and serving goes on: the backing directory holds what was synced,
//   and any operation that starts after the line appeared sees the cut.
//   Signals sent before that line appears may merge into one cut.
// - Not modelled: lost metadata (as in LazyFS). create, mkdir, rmdir,
//   unlink, rename, link, symlink, chmod, chown, utimens and truncate reach
//   the backing directory at once and survive any cut. So a file written and
//   renamed without fsync is there after a cut, holding only what was synced
//   (nothing if never fsynced); a truncate drops buffered bytes past the new
//   size, and one that grew the file leaves zeros where unsynced bytes were.
// - A file's buffers are forgotten once its last link is gone (unlink, or
//   rename over it) and no handle is open on it.
//
// Readiness: "lazyfs: mounted BACKING_DIR on MOUNTPOINT" is written to stderr
// from FUSE's init, when the mount exists; accesses from then on are served
// (polling until stat(MOUNTPOINT).st_dev differs from its parent's also
// works). Stop with `fusermount3 -u MOUNTPOINT`: the process exits with 0.
//
// Kernel caches cannot hide a cut: files are opened with direct_io (so
// files on the mount cannot be mmap'ed), and entry, negative-entry and
// attribute timeouts are 0. fallocate answers EOPNOTSUPP; mknod ENOSYS.
// Locks (fcntl, flock) are kept by the kernel, enough for RocksDB's LOCK.
// Backing errors come back as -errno. Limits: fstat, fchmod, fchown and
// futimens on a handle whose file has no name left fail with ESTALE (the
// kernel sends them by path; read, write, fsync and ftruncate work); the
// backing directory must not be changed behind the mount's back; `-o intr`
// must not be given (libfuse would take SIGUSR1 for itself).
//
// Threads: FUSE calls the operations from several threads, and one more
// thread waits for SIGUSR1. One mutex guards all state; it is held across
// the backing I/O that must be atomic with the buffers (reads, write-back),
// not across fsync of the backing file.

#define FUSE_USE_VERSION 35

#include <dirent.h>
#include <fcntl.h>
#include <fuse.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// The identity of a backing file: buffered bytes belong to it, not to a path.
struct InodeKey {
  dev_t dev = 0;
  ino_t ino = 0;
  auto operator<=>(const InodeKey&) const = default;
};

InodeKey KeyOf(const struct stat& st) { return {st.st_dev, st.st_ino}; }

// The unsynced bytes of one file: extents that neither overlap nor touch,
// keyed by offset. Not thread-safe: guarded by the file system's mutex.
class Extents {
 public:
  // Buffers `data` at `offset`, replacing what was buffered in that range.
  void Write(off_t offset, std::string_view data) {
    if (data.empty()) return;
    const off_t end = offset + static_cast<off_t>(data.size());
    Erase(offset, end);
    bytes_ += data.size();
    auto next = extents_.lower_bound(offset);
    auto cur = next;
    if (next != extents_.begin() && EndOf(*std::prev(next)) == offset) {
      cur = std::prev(next);
      cur->second.append(data);
    } else {
      cur = extents_.emplace_hint(next, offset, std::string(data));
    }
    if (next != extents_.end() && next->first == end) {
      cur->second.append(next->second);
      extents_.erase(next);
    }
  }

  // Forgets the buffered bytes in [begin, end).
  void Erase(off_t begin, off_t end) {
    auto it = extents_.upper_bound(begin);
    if (it != extents_.begin() && EndOf(*std::prev(it)) > begin) --it;
    while (it != extents_.end() && it->first < end) {
      const off_t start = it->first;
      const off_t stop = EndOf(*it);
      std::string& data = it->second;
      bytes_ -= data.size();
      if (stop > end) {  // Keep the tail [end, stop).
        bytes_ += stop - end;
        extents_.emplace(end, data.substr(end - start));
      }
      if (start < begin) {  // Keep the head [start, begin).
        data.resize(begin - start);
        bytes_ += data.size();
        ++it;
      } else {
        it = extents_.erase(it);
      }
    }
  }

  // Copies the buffered bytes of [offset, offset + size) over dst[0, size).
  void Overlay(off_t offset, char* dst, size_t size) const {
    const off_t end = offset + static_cast<off_t>(size);
    auto it = extents_.upper_bound(offset);
    if (it != extents_.begin()) --it;
    for (; it != extents_.end() && it->first < end; ++it) {
      const off_t from = std::max(offset, it->first);
      const off_t to = std::min(end, EndOf(*it));
      if (from < to) {
        std::memcpy(dst + (from - offset),
                    it->second.data() + (from - it->first), to - from);
      }
    }
  }

  // Calls write(offset, data) for each extent in order, forgetting each one
  // written; stops at the first nonzero result and returns it (else 0).
  template <typename WriteFn>
  int Drain(WriteFn write) {
    while (!extents_.empty()) {
      auto it = extents_.begin();
      if (int rc = write(it->first, it->second); rc != 0) return rc;
      bytes_ -= it->second.size();
      extents_.erase(it);
    }
    return 0;
  }

  void Clear() {
    extents_.clear();
    bytes_ = 0;
  }
  bool empty() const { return extents_.empty(); }
  size_t bytes() const { return bytes_; }
  // The end of the furthest buffered byte; 0 when nothing is buffered.
  off_t End() const { return extents_.empty() ? 0 : EndOf(*extents_.rbegin()); }

 private:
  static off_t EndOf(const std::pair<const off_t, std::string>& extent) {
    return extent.first + static_cast<off_t>(extent.second.size());
  }

  std::map<off_t, std::string> extents_;
  size_t bytes_ = 0;
};

// What is known of one backing file: its unsynced bytes and how many handles
// are open on it. An entry with neither is erased.
struct InodeState {
  Extents dirty;
  int opens = 0;
};

// What fi->fh points to: the backing file or directory of one open.
struct Handle {
  int fd = -1;
  DIR* dir = nullptr;  // Set for directories (then fd == dirfd(dir)).
  InodeKey key;
  bool sync_writes = false;  // Opened with O_SYNC or O_DSYNC.
};

struct State {
  std::string root;        // Absolute path of BACKING_DIR. Set before mount.
  std::string mountpoint;  // As given on the command line.
  std::mutex mu;
  std::map<InodeKey, InodeState> inodes;  // Guarded by mu.
};

State& S() {
  static State* state = new State;
  return *state;
}

std::string Backing(const char* path) { return S().root + path; }
Handle* H(const fuse_file_info* fi) {
  return reinterpret_cast<Handle*>(fi->fh);
}

// The size a reader sees: the backing size or the end of the buffered bytes.
// Requires S().mu.
off_t LogicalSize(const struct stat& st) {
  auto it = S().inodes.find(KeyOf(st));
  if (it == S().inodes.end()) return st.st_size;
  return std::max(st.st_size, it->second.dirty.End());
}

// Erases the state of a file whose last link was just removed, unless a
// handle is still open on it (then its last release does). Requires S().mu.
void ForgetIfClosed(InodeKey key) {
  auto it = S().inodes.find(key);
  if (it != S().inodes.end() && it->second.opens == 0) S().inodes.erase(it);
}

// Writes all of data at offset; returns 0 or -errno.
int PwriteAll(int fd, const char* data, size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = pwrite(fd, data, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    data += n;
    size -= n;
    offset += n;
  }
  return 0;
}

int Result(int rc) { return rc == 0 ? 0 : -errno; }

int LzGetattr(const char* path, struct stat* st, fuse_file_info* fi) {
  std::lock_guard lock(S().mu);
  int rc =
      fi != nullptr ? fstat(H(fi)->fd, st) : lstat(Backing(path).c_str(), st);
  if (rc != 0) return -errno;
  if (S_ISREG(st->st_mode)) st->st_size = LogicalSize(*st);
  return 0;
}

// Opens the backing file for open() and create(). The backing descriptor is
// read-write when the daemon may, so that fsync through a read-only handle
// can still write the buffers back; O_APPEND (offsets come from the kernel),
// O_DIRECT (the buffers are not aligned) and O_SYNC (handled by LzWrite) are
// left out.
int OpenBacking(const char* path, int flags, mode_t mode, fuse_file_info* fi) {
  const std::string backing = Backing(path);
  const int base = flags & ~(O_ACCMODE | O_APPEND | O_DIRECT | O_SYNC);
  std::lock_guard lock(S().mu);
  int fd = open(backing.c_str(), base | O_RDWR, mode);
  if (fd < 0 && (errno == EACCES || errno == EROFS || errno == ETXTBSY)) {
    fd = open(backing.c_str(), base | (flags & O_ACCMODE), mode);
  }
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  auto* handle = new Handle{fd, nullptr, KeyOf(st), (flags & O_DSYNC) != 0};
  InodeState& inode = S().inodes[handle->key];
  ++inode.opens;
  if (flags & O_TRUNC) inode.dirty.Clear();
  fi->fh = reinterpret_cast<uint64_t>(handle);
  fi->direct_io = 1;
  fi->keep_cache = 0;
  return 0;
}

int LzOpen(const char* path, fuse_file_info* fi) {
  return OpenBacking(path, fi->flags, 0, fi);
}

int LzCreate(const char* path, mode_t mode, fuse_file_info* fi) {
  return OpenBacking(path, fi->flags | O_CREAT, mode, fi);
}

int LzRead(const char*, char* buf, size_t size, off_t offset,
           fuse_file_info* fi) {
  const Handle* h = H(fi);
  std::lock_guard lock(S().mu);
  struct stat st;
  if (fstat(h->fd, &st) != 0) return -errno;
  const off_t logical = LogicalSize(st);
  if (offset >= logical) return 0;
  const size_t n = std::min<off_t>(size, logical - offset);
  size_t got = 0;
  while (got < n) {  // Past the backing end the file reads as zeros.
    ssize_t r = pread(h->fd, buf + got, n - got, offset + got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) break;
    got += r;
  }
  std::memset(buf + got, 0, n - got);
  auto it = S().inodes.find(h->key);
  if (it != S().inodes.end()) it->second.dirty.Overlay(offset, buf, n);
  return static_cast<int>(n);
}

int LzWrite(const char*, const char* buf, size_t size, off_t offset,
            fuse_file_info* fi) {
  const Handle* h = H(fi);
  if (offset < 0 || size > INT_MAX ||
      offset > std::numeric_limits<off_t>::max() - static_cast<off_t>(size)) {
    return -EFBIG;
  }
  std::unique_lock lock(S().mu);
  Extents& dirty = S().inodes[h->key].dirty;
  if (!h->sync_writes) {
    dirty.Write(offset, std::string_view(buf, size));
    return static_cast<int>(size);
  }
  dirty.Erase(offset, offset + static_cast<off_t>(size));
  if (int rc = PwriteAll(h->fd, buf, size, offset); rc != 0) return rc;
  lock.unlock();
  if (fdatasync(h->fd) != 0) return -errno;
  return static_cast<int>(size);
}

int LzFsync(const char*, int datasync, fuse_file_info* fi) {
  const Handle* h = H(fi);
  {
    std::lock_guard lock(S().mu);
    auto it = S().inodes.find(h->key);
    if (it != S().inodes.end()) {
      int rc = it->second.dirty.Drain([h](off_t offset, const std::string& d) {
        return PwriteAll(h->fd, d.data(), d.size(), offset);
      });
      if (rc != 0) return rc;
    }
  }
  // The bytes are in the backing file now, so a cut no longer loses them;
  // syncing the backing file guards against a real crash only.
  return Result(datasync ? fdatasync(h->fd) : fsync(h->fd));
}

int LzFlush(const char*, fuse_file_info*) { return 0; }  // close is no sync.

int LzRelease(const char*, fuse_file_info* fi) {
  Handle* h = H(fi);
  std::lock_guard lock(S().mu);
  struct stat st;
  const bool unlinked = fstat(h->fd, &st) == 0 && st.st_nlink == 0;
  auto it = S().inodes.find(h->key);
  if (it != S().inodes.end() && --it->second.opens == 0 &&
      (unlinked || it->second.dirty.empty())) {
    S().inodes.erase(it);
  }
  close(h->fd);
  delete h;
  return 0;
}

int LzTruncate(const char* path, off_t size, fuse_file_info* fi) {
  std::lock_guard lock(S().mu);
  struct stat st;
  if (fi != nullptr) {
    if (ftruncate(H(fi)->fd, size) != 0 || fstat(H(fi)->fd, &st) != 0) {
      return -errno;
    }
  } else {
    const std::string backing = Backing(path);
    if (truncate(backing.c_str(), size) != 0 ||
        stat(backing.c_str(), &st) != 0) {
      return -errno;
    }
  }
  auto it = S().inodes.find(KeyOf(st));
  if (it != S().inodes.end()) {
    it->second.dirty.Erase(size, std::numeric_limits<off_t>::max());
  }
  return 0;
}

int LzUnlink(const char* path) {
  const std::string backing = Backing(path);
  std::lock_guard lock(S().mu);
  struct stat st;
  const bool known = lstat(backing.c_str(), &st) == 0;
  if (unlink(backing.c_str()) != 0) return -errno;
  if (known && S_ISREG(st.st_mode) && st.st_nlink == 1) {
    ForgetIfClosed(KeyOf(st));
  }
  return 0;
}

// Passes RENAME_NOREPLACE and RENAME_EXCHANGE through to renameat2.
int LzRename(const char* from, const char* to, unsigned int flags) {
  const std::string src = Backing(from);
  const std::string dst = Backing(to);
  std::lock_guard lock(S().mu);
  struct stat src_st, dst_st;
  const bool src_known = lstat(src.c_str(), &src_st) == 0;
  const bool replaces = (flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)) == 0 &&
                        lstat(dst.c_str(), &dst_st) == 0 &&
                        S_ISREG(dst_st.st_mode) && dst_st.st_nlink == 1 &&
                        !(src_known && KeyOf(src_st) == KeyOf(dst_st));
  if (renameat2(AT_FDCWD, src.c_str(), AT_FDCWD, dst.c_str(), flags) != 0) {
    return -errno;
  }
  if (replaces) ForgetIfClosed(KeyOf(dst_st));
  return 0;
}

int LzMkdir(const char* path, mode_t mode) {
  return Result(mkdir(Backing(path).c_str(), mode));
}

int LzRmdir(const char* path) { return Result(rmdir(Backing(path).c_str())); }

int LzLink(const char* from, const char* to) {
  return Result(link(Backing(from).c_str(), Backing(to).c_str()));
}

int LzSymlink(const char* target, const char* path) {
  return Result(symlink(target, Backing(path).c_str()));
}

int LzReadlink(const char* path, char* buf, size_t size) {
  if (size == 0) return -EINVAL;
  ssize_t n = readlink(Backing(path).c_str(), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int LzChmod(const char* path, mode_t mode, fuse_file_info* fi) {
  if (fi != nullptr) return Result(fchmod(H(fi)->fd, mode));
  return Result(chmod(Backing(path).c_str(), mode));
}

int LzChown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  if (fi != nullptr) return Result(fchown(H(fi)->fd, uid, gid));
  return Result(lchown(Backing(path).c_str(), uid, gid));
}

int LzUtimens(const char* path, const timespec tv[2], fuse_file_info* fi) {
  if (fi != nullptr) return Result(futimens(H(fi)->fd, tv));
  return Result(
      utimensat(AT_FDCWD, Backing(path).c_str(), tv, AT_SYMLINK_NOFOLLOW));
}

int LzAccess(const char* path, int mask) {
  return Result(access(Backing(path).c_str(), mask));
}

int LzStatfs(const char*, struct statvfs* st) {
  return Result(statvfs(S().root.c_str(), st));
}

int LzFallocate(const char*, int, off_t, off_t, fuse_file_info*) {
  return -EOPNOTSUPP;
}

int LzOpendir(const char* path, fuse_file_info* fi) {
  DIR* dir = opendir(Backing(path).c_str());
  if (dir == nullptr) return -errno;
  fi->fh = reinterpret_cast<uint64_t>(new Handle{dirfd(dir), dir, {}, false});
  return 0;
}

// Lists the whole directory in one call (offsets are not used).
int LzReaddir(const char*, void* buf, fuse_fill_dir_t fill, off_t,
              fuse_file_info* fi, fuse_readdir_flags) {
  DIR* dir = H(fi)->dir;
  rewinddir(dir);
  for (;;) {
    errno = 0;
    const dirent* entry = readdir(dir);
    if (entry == nullptr) return -errno;
    struct stat st = {};
    st.st_ino = entry->d_ino;
    st.st_mode = DTTOIF(entry->d_type);
    if (fill(buf, entry->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) {
      return -ENOMEM;
    }
  }
}

int LzReleasedir(const char*, fuse_file_info* fi) {
  Handle* h = H(fi);
  closedir(h->dir);
  delete h;
  return 0;
}

int LzFsyncdir(const char*, int datasync, fuse_file_info* fi) {
  return Result(datasync ? fdatasync(H(fi)->fd) : fsync(H(fi)->fd));
}

// Waits for SIGUSR1 (blocked in every thread) and cuts the power each time.
void PowerCutLoop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  for (;;) {
    int signal = 0;
    if (sigwait(&set, &signal) != 0) continue;
    size_t bytes = 0;
    size_t files = 0;
    {
      std::lock_guard lock(S().mu);
      for (auto it = S().inodes.begin(); it != S().inodes.end();) {
        if (!it->second.dirty.empty()) ++files;
        bytes += it->second.dirty.bytes();
        it->second.dirty.Clear();
        it = it->second.opens == 0 ? S().inodes.erase(it) : std::next(it);
      }
    }
    std::fprintf(stderr, "lazyfs: power cut: %zu bytes in %zu files lost\n",
                 bytes, files);
  }
}

void* LzInit(fuse_conn_info* conn, fuse_config* cfg) {
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->use_ino = 1;
  cfg->hard_remove = 1;  // Unlink for real; open handles keep the inode.
  cfg->direct_io = 1;
  cfg->kernel_cache = 0;
  cfg->auto_cache = 0;
  // Started here, not in main, so that it survives fuse_main's daemonizing.
  std::thread(PowerCutLoop).detach();
  std::fprintf(stderr, "lazyfs: mounted %s on %s\n", S().root.c_str(),
               S().mountpoint.c_str());
  return nullptr;
}

fuse_operations MakeOperations() {
  fuse_operations ops = {};
  ops.getattr = LzGetattr;
  ops.readlink = LzReadlink;
  ops.mkdir = LzMkdir;
  ops.unlink = LzUnlink;
  ops.rmdir = LzRmdir;
  ops.symlink = LzSymlink;
  ops.rename = LzRename;
  ops.link = LzLink;
  ops.chmod = LzChmod;
  ops.chown = LzChown;
  ops.truncate = LzTruncate;
  ops.open = LzOpen;
  ops.read = LzRead;
  ops.write = LzWrite;
  ops.statfs = LzStatfs;
  ops.flush = LzFlush;
  ops.release = LzRelease;
  ops.fsync = LzFsync;
  ops.opendir = LzOpendir;
  ops.readdir = LzReaddir;
  ops.releasedir = LzReleasedir;
  ops.fsyncdir = LzFsyncdir;
  ops.init = LzInit;
  ops.access = LzAccess;
  ops.create = LzCreate;
  ops.utimens = LzUtimens;
  ops.fallocate = LzFallocate;
  return ops;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argv[1][0] == '-' || argv[2][0] == '-') {
    std::fprintf(stderr,
                 "usage: %s BACKING_DIR MOUNTPOINT [-f] [FUSE options]\n",
                 argv[0]);
    return 2;
  }
  char* root = realpath(argv[1], nullptr);
  struct stat st;
  if (root == nullptr || stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "lazyfs: %s is not a directory\n", argv[1]);
    return 2;
  }
  S().root = root;
  std::free(root);
  S().mountpoint = argv[2];
  // Blocked before FUSE starts any thread, so only PowerCutLoop receives it.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::vector<char*> args = {argv[0]};
  args.insert(args.end(), argv + 2, argv + argc);
  const fuse_operations ops = MakeOperations();
  return fuse_main(static_cast<int>(args.size()), args.data(), &ops, nullptr);
}
