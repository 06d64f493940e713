#pragma once

// The inbox, from the moment the adapter takes a partner's file to the
// moment the file is in done/ (with its receipt) or rejected/ (with its
// reason), so that a crash at any instruction neither loses a case nor sends
// one twice, and a new file with an old name is always a new case
// (adapters/README.md, "What a partner sees after a crash").
//
// Each file taken is an intake: a folder state/intake/<id>/ holding
// manifest.json and, once sealed, the file's envelopes (the file
// `envelopes`, written and synced once for all of them). <id> is
// "<ms since 1970, 13 digits>-<8 hex>", so intakes resume in the order they
// were taken. The manifest moves through four states, each written (synced)
// before the step that depends on it:
//
//   taken     written, then inbox/<name> is renamed to inbox/.relais-in-<id>
//             (hidden: the name is free for the partner's next file).
//             Resumed without that hidden file: the rename never happened;
//             the intake is dropped and the file is taken again.
//   sealed    the envelopes of every case are in the intake folder, and the
//             manifest has the file's SHA-256: from here on, the same
//             envelopes (same message ids) are submitted, whatever happens,
//             and the broker's dedup answers a resubmission with the first
//             receipt. Resealing never happens after this point.
//   accepted  every envelope has its receipt (in the manifest) and the name
//             the file takes in done/: the receipt is written to
//             done/<as>.receipt.json, then the hidden file is renamed to
//             done/<as>.
//   rejected  the file is not of a type the adapter reads, it cannot be
//             translated, or the broker refused one of its messages for
//             good: the hidden file is renamed to rejected/<as>, then
//             rejected/<as>.error is written.
//
// A finished intake is renamed to <id>.finished and removed. Nothing is
// dropped silently: every intake found at start is resumed, and says so.
// <as> is the file's own name unless done/ or rejected/ already holds a
// file, a receipt or a .error of that name (an earlier file of the same
// name, even one the partner took away): then "<stem>.2<ext>",
// "<stem>.3<ext>", and so on. Nothing there is ever overwritten.
//
// Thread-safety: one thread (the runtime's scan loop).

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace relais::sdk {

struct IntakeFolders {
  std::string inbox, done, rejected;
  std::string intake;  // state/intake
};

// What the runtime does for an intake: the translation and the broker.
struct IntakeSteps {
  // True for inbox file names this adapter reads. Any other complete file
  // is taken too, and refused: "not a file this adapter reads (it reads
  // <reads>)".
  std::function<bool(const std::string& name)> accepts;
  // The sealed envelopes of every case in file `name`. InvalidArgument
  // refuses the file (its message is the reason); any other error leaves
  // the file taken, to be sealed again at the next scan.
  std::function<Result<std::vector<std::string>>(const std::string& name,
                                                 std::string_view contents)>
      seal;
  // Submits the envelopes and returns, for each, its receipt entry (JSON
  // object) or its refusal. A non-retryable Rejected refuses the file;
  // any other error is tried again at the next scan.
  std::function<std::vector<Result<nlohmann::ordered_json>>(
      const std::vector<std::string>& envelopes)>
      submit;
  // What `accepts` takes, for that refusal: "*.json", "*.csv and *.xml".
  std::string reads;
};

class Intake {
 public:
  // Inbox files larger than this are refused.
  static constexpr size_t kMaxFileBytes = 16 << 20;
  // An intake's sealed envelopes, in one file: for each, its size (8 bytes,
  // big-endian) then its bytes. Read back up to this size.
  static constexpr char kEnvelopesFile[] = "envelopes";
  static constexpr size_t kMaxEnvelopesFileBytes = size_t{1} << 30;

  Intake(IntakeFolders folders, IntakeSteps steps);

  // Carries every intake left by an earlier run as far as it can go now.
  // Call once before the first Scan.
  void Resume();
  // Takes each complete file of the inbox (a regular file, not hidden, not
  // .tmp/.part), in name order, and carries it as far as it can go now: to
  // done/, or to rejected/ (a file `accepts` refuses among them); intakes
  // still waiting for the broker go first. `stop` is checked between
  // files.
  void Scan(const std::function<bool()>& stop);
  // Intakes not finished (waiting for the broker, or for the disk).
  size_t pending() const;

 private:
  struct Manifest;
  // Takes inbox/<name>: a new intake's id; empty if the file went away
  // meanwhile; nullopt if it could not (it waits, as the next files do).
  std::optional<std::string> Take(const std::string& name);
  // Moves intake `id` on until it is finished or must wait; true if it
  // finished.
  bool Advance(const std::string& id);
  Status Seal(const std::string& id, Manifest* m);
  Status Submit(const std::string& id, Manifest* m);
  // The sealed envelopes of intake `id`, from its envelopes file (or, if
  // an earlier version sealed it, from its <k>.env files); Corruption if
  // any is missing or cut short.
  Result<std::vector<std::string>> ReadEnvelopes(const std::string& id,
                                                 const Manifest& m) const;
  Status Finish(const std::string& id, Manifest* m);
  Status Save(const std::string& id, const Manifest& m);
  void Remove(const std::string& id);
  std::string Dir(const std::string& id) const;
  std::string TakenPath(const std::string& id) const;
  // Says why file `name` waits (a full disk, no broker), once per reason.
  void Defer(const std::string& name, const Status& why);

  IntakeFolders folders_;
  IntakeSteps steps_;
  std::vector<std::string> waiting_;  // unfinished intakes, oldest first
  std::string last_deferral_;         // the last deferral logged
};

// The longest name a partner's file keeps in done/ or rejected/: with
// ".receipt.json" and the temporary name of an atomic write (".<name>.tmp")
// it stays under the file system's 255 bytes.
inline constexpr size_t kMaxKeptName = 200;
inline constexpr size_t kMaxKeptExtension = 16;

// `name` if it is at most kMaxKeptName bytes, else its first bytes (whole
// UTF-8 characters), "~" and its extension (if at most kMaxKeptExtension
// bytes), kMaxKeptName bytes at most.
std::string FittedName(const std::string& name);

// The name `name` takes in `dir`: FittedName(name) if neither it nor it +
// `suffix` is there, else "<stem>.2<ext>", "<stem>.3<ext>"...
std::string FreeName(const std::string& dir, const std::string& name,
                     const std::string& suffix);

}  // namespace relais::sdk
