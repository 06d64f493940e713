#pragma once

// The console's own record of the cases its site opened (docs/CONSOLE.md,
// "Cases"): one RocksDB database in `cases_dir`, so that agents can list,
// search and follow them without asking the broker for each, and so that
// opening a case is idempotent (a double click, a reload, a lost answer
// open one case).
//
// A case is kept, synced, before its envelopes are sent, with the sealed
// envelopes themselves: asked again with the same request id, the console
// submits the very same envelopes and the broker answers with its first
// receipts. Each recipient's status follows the broker's status reports
// and case state; the history keeps every change. A case is forgotten
// `retention` after it was opened.
//
// Thread-safety: all methods may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "schemas/case_state_generated.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace relais::console {

struct RecipientStatus {
  std::string id;  // participant id
  wire::RecipientState state = wire::RecipientState::Sent;
  int64_t updated_at_ms = 0;
  std::string reason;  // the agency's or the dead letter's, if any
};

struct HistoryEntry {
  int64_t at_ms = 0;
  std::string recipient;
  wire::RecipientState state = wire::RecipientState::Sent;
  std::string detail;
};

// One envelope of the case (one minimised view) and what became of it.
struct KeptMessage {
  std::vector<std::string> recipients;
  // The sealed bytes, until the broker accepts them (then its journal
  // holds them: the index drops them, and with them the attachments).
  std::string envelope;
  uint64_t sequence = 0;  // the broker's, once accepted (0: not yet)
  int64_t accepted_at_ms = 0;
};

// A document the case carries (its bytes are in the envelopes only).
struct AttachmentNote {
  std::string name;
  std::string media_type;
  uint64_t bytes = 0;
};

struct CaseRecord {
  std::string case_id;
  wire::CaseType case_type = wire::CaseType::Unknown;
  int64_t opened_at_ms = 0;
  int64_t expires_at_ms = 0;
  std::string agent_login;  // who opened it
  std::string agent_name;
  std::string citizen;       // the citizen's name, for the list and the search
  std::string mandate_kind;  // "Oral" or "Written"
  std::string mandate_date;
  std::vector<RecipientStatus> recipients;
  std::vector<HistoryEntry> history;
  std::vector<KeptMessage> messages;
  std::vector<AttachmentNote> attachments;
  // SHA-256 of the opening request: the same request id with another
  // request is refused.
  std::string request_sha256;
  // Set by CaseIndex::Add: the key of its request id (hex SHA-256).
  std::string request_ref;
};

// Where a case stands as a whole, for the list's filters: rejected if an
// agency refused it; expired if a message to one became a dead letter;
// done if every agency is done; waiting if an agency has not taken it yet
// (Sent); in progress otherwise (every agency has it, some are at work).
enum class CaseProgress { kWaiting, kInProgress, kDone, kRejected, kExpired };
CaseProgress ProgressOf(const CaseRecord& record);
// "waiting", "in_progress", "done", "rejected", "expired".
std::string_view ProgressName(CaseProgress progress);

struct CaseFilter {
  // Empty: any; "open": waiting or in progress; else a ProgressName.
  std::string progress;
  // A case id, or words that must all begin a word of the citizen's name
  // (case and French accents ignored); empty: any.
  std::string query;
  size_t limit = 100;
};
// InvalidArgument if `progress` is none of the above.
Status CheckFilter(const CaseFilter& filter);
bool Matches(const CaseRecord& record, const CaseFilter& filter);

class CaseIndex {
 public:
  static Result<std::unique_ptr<CaseIndex>> Open(const std::string& dir,
                                                 std::chrono::hours retention);
  ~CaseIndex();

  // The case opened with `request_id` (any text the caller chose), if any.
  Result<std::optional<CaseRecord>> ByRequest(std::string_view request_id);
  // Keeps a new case, synced, under its id and `request_id`.
  Status Add(const CaseRecord& record, std::string_view request_id);
  // The broker accepted message `message` of the case: its sequence and
  // time, and a history entry per recipient of it, synced; its envelope
  // is dropped. True if this call recorded the case's last message without
  // its receipt (the whole case is now accepted): of two callers, one.
  Result<bool> Accepted(const std::string& case_id, size_t message,
                        uint64_t sequence, int64_t at_ms);
  Result<std::optional<CaseRecord>> Find(const std::string& case_id);
  // Forgets a case and its request id (a case the broker refused before
  // accepting anything of it), synced.
  Status Remove(const std::string& case_id);

  // A status report from the broker about `recipient` in `case_id`: its
  // status and the history change (a report seen twice changes nothing).
  // OK without effect for a case the index does not hold.
  Status ApplyReport(const std::string& case_id, const std::string& recipient,
                     wire::RecipientState state, int64_t at_ms,
                     const std::string& detail);
  // The broker's state of the case (CaseState bytes, verified by the
  // caller): each recipient's status, where it is newer than the index's.
  Status ApplyState(const std::string& case_id, std::string_view state);

  // The cases matching `filter`, newest first.
  Result<std::vector<CaseRecord>> List(const CaseFilter& filter);
  // Forgets the cases opened more than `retention` before `now_ms`;
  // returns how many.
  Result<size_t> Prune(int64_t now_ms);

  // How many changes the index has kept since it was opened (each Add,
  // Accepted, report or state that changed a case, Remove, Prune): the
  // console's live updates (server-sent events) follow it.
  uint64_t changes();
  // Waits until changes() is past `seen`, `timeout` passes or
  // StopWaits() was called; returns changes().
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout);
  // Wakes every WaitForChange, and makes every later one return at once
  // (the console is stopping: its live-update streams end).
  void StopWaits();

 private:
  CaseIndex(std::string dir, std::chrono::hours retention);
  Status Put(const CaseRecord& record, std::string_view request_id);
  Result<std::optional<CaseRecord>> Get(const std::string& case_id);
  void Changed();

  const std::string dir_;
  const std::chrono::hours retention_;
  std::mutex mu_;  // one change at a time (read, modify, write)
  std::unique_ptr<rocksdb::DB> db_;
  std::mutex change_mu_;
  std::condition_variable change_cv_;
  uint64_t changes_ = 0;        // guarded by change_mu_
  bool waits_stopped_ = false;  // guarded by change_mu_
};

// The record as JSON and back (its stored form; the envelopes in hex).
std::string RecordToJson(const CaseRecord& record);
Result<CaseRecord> RecordFromJson(std::string_view text);

}  // namespace relais::console
