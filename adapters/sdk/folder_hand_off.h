#pragma once

// Files handed to a partner system once, whenever the adapter dies
// (adapters/README.md, "What a partner sees after a crash").
//
// A delivered case becomes a file in one of the partner's folders in three
// steps, with the client's hand-off protocol (client.h) around them:
//
//   1. Prepare: the file is written as `.relais-<message id>.handoff` in
//      the target folder (hidden: a partner never takes a name starting
//      with '.') and synced with its folder. The handler returns
//      HandlerResult::HandOff(record).
//   2. The client records the processed id and the record in one synced
//      write.
//   3. Complete: the hidden file is renamed to its final name and the folder
//      synced; then the delivery is acknowledged.
//
// A crash before 2 leaves at most a hidden file, removed at the next start
// (RemoveOrphans): the delivery comes again and the partner has seen
// nothing. A crash after 2 is completed at the next start, before anything
// else is handled: the rename is done if the hidden file is still there,
// and skipped if it is not (the partner may already have taken the file).
//
// Thread-safety: stateless; call from one thread per folder.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace relais::sdk {

class FolderHandOffs {
 public:
  // `folders`: name (as kept in records, e.g. "outbox") -> path.
  explicit FolderHandOffs(std::map<std::string, std::string> folders)
      : folders_(std::move(folders)) {}

  // Step 1: writes `contents` as the hidden file of `message_id` in the
  // folder named `folder`, synced; returns the record for
  // HandlerResult::HandOff. InvalidArgument for an unknown folder or a
  // file name that is empty, hidden or holds a '/'; IOError if it cannot be
  // written (nothing is then shown to the partner).
  Result<std::string> Prepare(const std::string& folder,
                              std::string_view message_id,
                              const std::string& file_name,
                              std::string_view contents) const;

  // Step 1 for files handed over together (a case's native file and its
  // attachments): each written hidden, then one record; Complete renames
  // them in the order given, so the last one (the native file, which a
  // partner takes as the sign that the rest is there) appears last. The
  // same errors as Prepare; at least one file, at most 64.
  struct File {
    std::string name;
    std::string_view contents;
  };
  Result<std::string> PrepareAll(const std::string& folder,
                                 std::string_view message_id,
                                 const std::vector<File>& files) const;

  // Step 3 for `records`, in order: each hidden file still there is renamed
  // to its final name; then each folder touched is synced. Idempotent.
  // Corruption for a record this class did not write; IOError if a rename
  // or a sync fails (the caller tries again).
  Status Complete(const std::vector<std::string>& records) const;

  // Removes every hidden hand-off file left in the folders: call when no
  // hand-off is recorded and none is being prepared (the client's
  // before_first_delivery). Returns how many were removed.
  size_t RemoveOrphans() const;

  // The hidden name of `message_id`'s file (of its file `index` when it
  // has several: the first is index 0).
  static std::string StagingName(std::string_view message_id, size_t index = 0);

 private:
  std::map<std::string, std::string> folders_;
};

}  // namespace relais::sdk
