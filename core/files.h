#pragma once

// Whole-file reads, crash-safe writes, and the files of a folder that are
// ready to be read.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace relais {

// Errors: NoSpace when the disk (or a quota) is full, IOError for other
// system errors, with the call, the path and the system's reason.

// Reads the whole file. NotFound if it does not exist; InvalidArgument if it
// is larger than `max_bytes`; IOError otherwise.
Result<std::string> ReadFile(const std::string& path,
                             size_t max_bytes = 64 << 20);
// ReadFile of a file that holds a secret (a secret key): InvalidArgument,
// unread, if every user of the machine may read or write it (mode o+r or
// o+w); its group may.
Result<std::string> ReadSecretFile(const std::string& path,
                                   size_t max_bytes = 64 << 20);
// ReadFile of what a partner dropped: InvalidArgument "not a plain file
// (a symbolic link, a pipe...): not read; drop the file itself" unless
// `path` itself is a regular file (checked on the file opened: a link is
// not followed, a pipe does not block), and "the file is larger than 16.0
// MiB (16777216 bytes)" past `max_bytes`.
Result<std::string> ReadPlainFile(const std::string& path,
                                  size_t max_bytes = 64 << 20);
// Writes `contents` to a temporary file beside `path`, fsyncs it, renames it
// over `path` and fsyncs the directory: a reader sees the old file or the
// whole new one, never half of it, and the new one survives a crash once
// this returns OK. `mode` is the new file's permission bits, set whatever
// the umask: by default the owner's and its group's to read (an agency's
// partner system reads the adapter's files through their shared group,
// deploy/systemd), nobody else's, since most files hold citizens' data.
Status WriteFileAtomic(const std::string& path, std::string_view contents,
                       unsigned mode = 0640);

// fsyncs the directory `dir`, so that the names created, renamed or removed
// in it survive a crash. IOError if it cannot.
Status SyncDir(const std::string& dir);

// Renames `from` to `to` (replacing `to`) and syncs the directory of `to`
// (and that of `from` if it differs). NotFound if `from` does not exist.
Status RenameSynced(const std::string& from, const std::string& to);

// Bytes free for an unprivileged writer in the file system holding `dir`.
Result<uint64_t> FreeBytes(const std::string& dir);

// "12.5 MiB": a size for a person to read.
std::string HumanBytes(uint64_t bytes);

// Writes, syncs and removes a 4 KiB file in `dir`: OK if the disk takes
// writes there, else NoSpace or IOError with the system's reason (e.g. before
// reopening a database after a failed write).
Status ProbeWrite(const std::string& dir);

// Whether a file name is one being written by its producer (hidden, or
// ending in .tmp or .part), not yet to be read.
bool IsInProgress(std::string_view name);

// How long a file must have been left unchanged to count as complete when
// StillBeingWritten cannot ask the system.
inline constexpr std::chrono::seconds kSettleTime{2};

// Whether some process may still be writing the regular file `path`, so
// that reading it now could take half of it: ask just before taking a
// file. Asked of the system with a read lease (fcntl F_SETLEASE), which
// can only be taken while no process has the file open for writing: taken
// and given back at once (a writer opening it in that instant sends this
// process SIGURG, ignored by default). Where no lease can be taken (a file
// of another user without CAP_LEASE, a network file system), a file
// changed less than `settle` ago counts as being written; so does one
// another process holds a write lease on (a file server). False if `path`
// is not a regular file (a link, a pipe: not opened) or cannot be opened
// otherwise (its reader says why).
bool StillBeingWritten(const std::string& path,
                       std::chrono::milliseconds settle = kSettleTime);

// The names of the regular files of `dir` (IsInProgress excepted) that
// `wanted` accepts (all if null), in name order; a symbolic link is not
// one, whatever it points to. A folder that cannot be read gives none.
std::vector<std::string> ReadyFiles(
    const std::string& dir,
    const std::function<bool(const std::string&)>& wanted = nullptr);
// The names of every entry of `dir` but folders and IsInProgress names,
// whatever else it is (a file, a symbolic link, a pipe), in name order:
// for a folder where anything dropped must be answered, not left unseen.
// (Folders are left alone: another folder of the program may be inside.)
std::vector<std::string> ReadyEntries(const std::string& dir);

}  // namespace relais
