#include "adapters/france_services/case_index.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/bytes.h"
#include "core/cases.h"
#include "core/crypto.h"
#include "core/flatbuf.h"
#include "storage/rocks.h"
#include "storage/rocksdb_log.h"

namespace relais::console {
namespace {

using StoredJson = nlohmann::json;
using storage::FromRocks;
using storage::ToSlice;

// Keys: the case by id; the opening order (for the list, newest first:
// the time is stored inverted); the request ids.
constexpr std::string_view kCasePrefix = "case/";
constexpr std::string_view kOrderPrefix = "order/";
constexpr std::string_view kRequestPrefix = "request/";

std::string CaseKey(std::string_view id) {
  return std::string(kCasePrefix) + std::string(id);
}
// Newest first: 20 digits of (max - opened_at_ms), then the id.
std::string OrderKey(int64_t opened_at_ms, std::string_view id) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020llu",
                static_cast<unsigned long long>(INT64_MAX - opened_at_ms));
  return std::string(kOrderPrefix) + digits + "/" + std::string(id);
}
std::string RequestRef(std::string_view request_id) {
  return HexEncode(crypto::Sha256(std::string(request_id)));
}
std::string RequestKey(std::string_view request_id) {
  return std::string(kRequestPrefix) + RequestRef(request_id);
}

std::string StateName(wire::RecipientState s) {
  return wire::EnumNameRecipientState(s);
}
Result<wire::RecipientState> StateFromName(const std::string& name) {
  for (auto s : wire::EnumValuesRecipientState()) {
    if (name == wire::EnumNameRecipientState(s)) return s;
  }
  return Status::Corruption("unknown recipient state in the case index");
}

bool IsDeadLetter(wire::RecipientState s) {
  return s == wire::RecipientState::Expired ||
         s == wire::RecipientState::Undeliverable;
}

// Lowercase, French accents dropped, anything but letters and digits a
// space: "Éloïse D'Aubigné" -> "eloise d aubigne".
std::string Folded(std::string_view text) {
  static const std::pair<std::string_view, char> kAccents[] = {
      {"à", 'a'}, {"â", 'a'}, {"ä", 'a'}, {"ç", 'c'}, {"é", 'e'}, {"è", 'e'},
      {"ê", 'e'}, {"ë", 'e'}, {"î", 'i'}, {"ï", 'i'}, {"ô", 'o'}, {"ö", 'o'},
      {"ù", 'u'}, {"û", 'u'}, {"ü", 'u'}, {"ÿ", 'y'}, {"À", 'a'}, {"Â", 'a'},
      {"Ä", 'a'}, {"Ç", 'c'}, {"É", 'e'}, {"È", 'e'}, {"Ê", 'e'}, {"Ë", 'e'},
      {"Î", 'i'}, {"Ï", 'i'}, {"Ô", 'o'}, {"Ö", 'o'}, {"Ù", 'u'}, {"Û", 'u'},
      {"Ü", 'u'}, {"Ÿ", 'y'}, {"œ", 'o'}, {"Œ", 'o'}, {"æ", 'a'}, {"Æ", 'a'}};
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : ' ';
      ++i;
      continue;
    }
    bool known = false;
    for (const auto& [accented, plain] : kAccents) {
      if (text.substr(i, accented.size()) == accented) {
        out += plain;
        i += accented.size();
        known = true;
        break;
      }
    }
    if (!known) {  // another letter: kept as it is, byte by byte
      out += static_cast<char>(c);
      ++i;
    }
  }
  return out;
}

std::vector<std::string> Words(const std::string& folded) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < folded.size()) {
    const size_t start = folded.find_first_not_of(' ', i);
    if (start == std::string::npos) break;
    const size_t end = std::min(folded.find(' ', start), folded.size());
    words.push_back(folded.substr(start, end - start));
    i = end;
  }
  return words;
}

StoredJson RecordJson(const CaseRecord& r) {
  StoredJson recipients = StoredJson::array(), history = StoredJson::array(),
             messages = StoredJson::array();
  for (const auto& s : r.recipients) {
    recipients.push_back({{"id", s.id},
                          {"state", StateName(s.state)},
                          {"updated_at_ms", s.updated_at_ms},
                          {"reason", s.reason}});
  }
  for (const auto& h : r.history) {
    history.push_back({{"at_ms", h.at_ms},
                       {"recipient", h.recipient},
                       {"state", StateName(h.state)},
                       {"detail", h.detail}});
  }
  for (const auto& m : r.messages) {
    messages.push_back({{"recipients", m.recipients},
                        {"envelope", HexEncode(m.envelope)},
                        {"sequence", m.sequence},
                        {"accepted_at_ms", m.accepted_at_ms}});
  }
  StoredJson attachments = StoredJson::array();
  for (const auto& a : r.attachments) {
    attachments.push_back(
        {{"name", a.name}, {"media_type", a.media_type}, {"bytes", a.bytes}});
  }
  return {{"case_id", r.case_id},
          {"case_type", CaseTypeName(r.case_type)},
          {"opened_at_ms", r.opened_at_ms},
          {"expires_at_ms", r.expires_at_ms},
          {"agent_login", r.agent_login},
          {"agent_name", r.agent_name},
          {"citizen", r.citizen},
          {"mandate_kind", r.mandate_kind},
          {"mandate_date", r.mandate_date},
          {"recipients", std::move(recipients)},
          {"history", std::move(history)},
          {"messages", std::move(messages)},
          {"attachments", std::move(attachments)},
          {"request_sha256", r.request_sha256},
          {"request_ref", r.request_ref}};
}

Status ReadRecord(const StoredJson& j, CaseRecord* r) {
  r->case_id = j.at("case_id").get<std::string>();
  const auto type = CaseTypeFromName(j.at("case_type").get<std::string>());
  if (!type) return Status::Corruption("unknown case type");
  r->case_type = *type;
  r->opened_at_ms = j.at("opened_at_ms").get<int64_t>();
  r->expires_at_ms = j.at("expires_at_ms").get<int64_t>();
  r->agent_login = j.at("agent_login").get<std::string>();
  r->agent_name = j.at("agent_name").get<std::string>();
  r->citizen = j.at("citizen").get<std::string>();
  r->mandate_kind = j.at("mandate_kind").get<std::string>();
  r->mandate_date = j.at("mandate_date").get<std::string>();
  r->request_sha256 = j.at("request_sha256").get<std::string>();
  r->request_ref = j.at("request_ref").get<std::string>();
  for (const auto& s : j.at("recipients")) {
    RELAIS_ASSIGN_OR_RETURN(auto state,
                            StateFromName(s.at("state").get<std::string>()));
    r->recipients.push_back({s.at("id").get<std::string>(), state,
                             s.at("updated_at_ms").get<int64_t>(),
                             s.at("reason").get<std::string>()});
  }
  for (const auto& h : j.at("history")) {
    RELAIS_ASSIGN_OR_RETURN(auto state,
                            StateFromName(h.at("state").get<std::string>()));
    r->history.push_back({h.at("at_ms").get<int64_t>(),
                          h.at("recipient").get<std::string>(), state,
                          h.at("detail").get<std::string>()});
  }
  for (const auto& m : j.at("messages")) {
    RELAIS_ASSIGN_OR_RETURN(std::string envelope,
                            HexDecode(m.at("envelope").get<std::string>()));
    r->messages.push_back({m.at("recipients").get<std::vector<std::string>>(),
                           std::move(envelope),
                           m.at("sequence").get<uint64_t>(),
                           m.at("accepted_at_ms").get<int64_t>()});
  }
  // Absent from the records of a console without attachments.
  if (auto a = j.find("attachments"); a != j.end()) {
    for (const auto& n : *a) {
      r->attachments.push_back({n.at("name").get<std::string>(),
                                n.at("media_type").get<std::string>(),
                                n.at("bytes").get<uint64_t>()});
    }
  }
  return Status::OK();
}

// Records `state` for `recipient` at `at_ms` unless the record already
// has a change as recent; true if it changed.
bool Record(CaseRecord& r, const std::string& recipient,
            wire::RecipientState state, int64_t at_ms,
            const std::string& detail) {
  auto it =
      std::find_if(r.recipients.begin(), r.recipients.end(),
                   [&](const RecipientStatus& s) { return s.id == recipient; });
  if (it == r.recipients.end()) return false;  // not one of the case's
  if (it->state == state && it->reason == detail) return false;
  if (at_ms < it->updated_at_ms) return false;  // older than what we have
  it->state = state;
  it->updated_at_ms = at_ms;
  it->reason = detail;
  r.history.push_back({at_ms, recipient, state, detail});
  return true;
}

}  // namespace

CaseProgress ProgressOf(const CaseRecord& r) {
  bool all_done = !r.recipients.empty(), waiting = false, dead = false;
  for (const auto& s : r.recipients) {
    if (s.state == wire::RecipientState::Rejected) {
      return CaseProgress::kRejected;
    }
    dead = dead || IsDeadLetter(s.state);
    waiting = waiting || s.state == wire::RecipientState::Sent;
    all_done = all_done && s.state == wire::RecipientState::Done;
  }
  if (dead) return CaseProgress::kExpired;
  if (all_done) return CaseProgress::kDone;
  return waiting ? CaseProgress::kWaiting : CaseProgress::kInProgress;
}

std::string_view ProgressName(CaseProgress p) {
  switch (p) {
    case CaseProgress::kWaiting:
      return "waiting";
    case CaseProgress::kInProgress:
      return "in_progress";
    case CaseProgress::kDone:
      return "done";
    case CaseProgress::kRejected:
      return "rejected";
    case CaseProgress::kExpired:
      return "expired";
  }
  return "waiting";
}

Status CheckFilter(const CaseFilter& f) {
  if (f.progress.empty() || f.progress == "open") return Status::OK();
  for (auto p :
       {CaseProgress::kWaiting, CaseProgress::kInProgress, CaseProgress::kDone,
        CaseProgress::kRejected, CaseProgress::kExpired}) {
    if (f.progress == ProgressName(p)) return Status::OK();
  }
  return Status::InvalidArgument(
      "state: one of open, waiting, in_progress, done, rejected, expired");
}

bool Matches(const CaseRecord& r, const CaseFilter& f) {
  if (!f.progress.empty()) {
    const CaseProgress p = ProgressOf(r);
    const bool ok = f.progress == "open" ? (p == CaseProgress::kWaiting ||
                                            p == CaseProgress::kInProgress)
                                         : f.progress == ProgressName(p);
    if (!ok) return false;
  }
  if (f.query.empty() || f.query == r.case_id) return true;
  const std::vector<std::string> wanted = Words(Folded(f.query));
  if (wanted.empty()) return true;
  const std::vector<std::string> name = Words(Folded(r.citizen));
  return std::all_of(wanted.begin(), wanted.end(), [&](const std::string& w) {
    return std::any_of(name.begin(), name.end(), [&](const std::string& n) {
      return n.compare(0, w.size(), w) == 0;
    });
  });
}

std::string RecordToJson(const CaseRecord& record) {
  return RecordJson(record).dump();
}

Result<CaseRecord> RecordFromJson(std::string_view text) {
  const StoredJson j = StoredJson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption("a case of the index is not JSON");
  }
  CaseRecord r;
  try {
    RELAIS_RETURN_IF_ERROR(ReadRecord(j, &r));
  } catch (const StoredJson::exception& e) {
    return Status::Corruption(std::string("a case of the index is damaged: ") +
                              e.what());
  }
  return r;
}

CaseIndex::CaseIndex(std::string dir, std::chrono::hours retention)
    : dir_(std::move(dir)), retention_(retention) {}

CaseIndex::~CaseIndex() {
  if (db_) db_->Close().PermitUncheckedError();
}

Result<std::unique_ptr<CaseIndex>> CaseIndex::Open(
    const std::string& dir, std::chrono::hours retention) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  std::unique_ptr<CaseIndex> index(new CaseIndex(dir, retention));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.info_log = std::make_shared<storage::SpdlogLogger>(dir);
  options.write_buffer_size = 4 << 20;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return FromRocks(s, "cannot open the case index " + dir);
  index->db_.reset(db);
  return index;
}

Status CaseIndex::Put(const CaseRecord& record, std::string_view request_id) {
  rocksdb::WriteBatch batch;
  const std::string value = RecordToJson(record);
  batch.Put(CaseKey(record.case_id), ToSlice(value)).PermitUncheckedError();
  batch.Put(OrderKey(record.opened_at_ms, record.case_id), "")
      .PermitUncheckedError();
  if (!request_id.empty()) {
    batch.Put(RequestKey(request_id), ToSlice(record.case_id))
        .PermitUncheckedError();
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (s.ok()) {
    Changed();
    return Status::OK();
  }
  // After a failed write RocksDB refuses the next ones until it resumes.
  (void)storage::TryResume(*db_);
  return FromRocks(s, "cannot keep case " + record.case_id + " in " + dir_);
}

Result<std::optional<CaseRecord>> CaseIndex::Get(const std::string& case_id) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), CaseKey(case_id), &value);
  if (s.IsNotFound()) return std::optional<CaseRecord>();
  if (!s.ok()) return FromRocks(s, "cannot read the case index " + dir_);
  RELAIS_ASSIGN_OR_RETURN(CaseRecord record, RecordFromJson(value));
  return std::optional<CaseRecord>(std::move(record));
}

Result<std::optional<CaseRecord>> CaseIndex::ByRequest(
    std::string_view request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string case_id;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), RequestKey(request_id), &case_id);
  if (s.IsNotFound()) return std::optional<CaseRecord>();
  if (!s.ok()) return FromRocks(s, "cannot read the case index " + dir_);
  return Get(case_id);
}

Status CaseIndex::Add(const CaseRecord& record, std::string_view request_id) {
  CaseRecord kept = record;
  kept.request_ref = RequestRef(request_id);
  std::lock_guard<std::mutex> lock(mu_);
  return Put(kept, request_id);
}

Result<bool> CaseIndex::Accepted(const std::string& case_id, size_t message,
                                 uint64_t sequence, int64_t at_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  RELAIS_ASSIGN_OR_RETURN(std::optional<CaseRecord> record, Get(case_id));
  if (!record || message >= record->messages.size()) {
    return Status::NotFound("case " + case_id + " in the case index");
  }
  KeptMessage& m = record->messages[message];
  if (m.sequence != 0) return false;  // recorded already
  m.sequence = sequence;
  m.accepted_at_ms = at_ms;
  m.envelope.clear();
  for (const auto& r : m.recipients) {
    record->history.push_back({at_ms, r, wire::RecipientState::Sent, {}});
  }
  RELAIS_RETURN_IF_ERROR(Put(*record, {}));
  return std::all_of(record->messages.begin(), record->messages.end(),
                     [](const KeptMessage& k) { return k.sequence != 0; });
}

Result<std::optional<CaseRecord>> CaseIndex::Find(const std::string& case_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return Get(case_id);
}

Status CaseIndex::Remove(const std::string& case_id) {
  std::lock_guard<std::mutex> lock(mu_);
  RELAIS_ASSIGN_OR_RETURN(std::optional<CaseRecord> record, Get(case_id));
  if (!record) return Status::OK();
  rocksdb::WriteBatch batch;
  batch.Delete(CaseKey(case_id)).PermitUncheckedError();
  batch.Delete(OrderKey(record->opened_at_ms, case_id)).PermitUncheckedError();
  if (!record->request_ref.empty()) {
    batch.Delete(std::string(kRequestPrefix) + record->request_ref)
        .PermitUncheckedError();
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RELAIS_RETURN_IF_ERROR(
      FromRocks(db_->Write(wo, &batch),
                "cannot remove case " + case_id + " from " + dir_));
  Changed();
  return Status::OK();
}

Status CaseIndex::ApplyReport(const std::string& case_id,
                              const std::string& recipient,
                              wire::RecipientState state, int64_t at_ms,
                              const std::string& detail) {
  std::lock_guard<std::mutex> lock(mu_);
  RELAIS_ASSIGN_OR_RETURN(std::optional<CaseRecord> record, Get(case_id));
  if (!record || !Record(*record, recipient, state, at_ms, detail)) {
    return Status::OK();
  }
  return Put(*record, {});
}

Status CaseIndex::ApplyState(const std::string& case_id,
                             std::string_view bytes) {
  const auto* state = flatbuffers::GetRoot<wire::CaseState>(bytes.data());
  std::lock_guard<std::mutex> lock(mu_);
  RELAIS_ASSIGN_OR_RETURN(std::optional<CaseRecord> record, Get(case_id));
  if (!record || !state->recipients()) return Status::OK();
  bool changed = false;
  for (const auto* s : *state->recipients()) {
    if (!s->recipient()) continue;
    changed |=
        Record(*record, s->recipient()->str(), s->state(), s->updated_at_ms(),
               s->reason() ? s->reason()->str() : std::string());
  }
  return changed ? Put(*record, {}) : Status::OK();
}

Result<std::vector<CaseRecord>> CaseIndex::List(const CaseFilter& filter) {
  std::vector<CaseRecord> out;
  std::lock_guard<std::mutex> lock(mu_);
  const std::string end = std::string(kOrderPrefix) + "~";
  Status st = storage::ForEach(
      *db_, db_->DefaultColumnFamily(), {kOrderPrefix, end},
      [&](std::string_view key, std::string_view) -> Result<storage::Next> {
        const std::string id(key.substr(key.rfind('/') + 1));
        RELAIS_ASSIGN_OR_RETURN(std::optional<CaseRecord> record, Get(id));
        if (record && Matches(*record, filter)) out.push_back(*record);
        return out.size() < filter.limit ? storage::Next::kContinue
                                         : storage::Next::kStop;
      },
      "cannot list the case index " + dir_);
  RELAIS_RETURN_IF_ERROR(st);
  return out;
}

Result<size_t> CaseIndex::Prune(int64_t now_ms) {
  const int64_t before =
      now_ms -
      std::chrono::duration_cast<std::chrono::milliseconds>(retention_).count();
  std::lock_guard<std::mutex> lock(mu_);
  rocksdb::WriteBatch batch;
  size_t pruned = 0;
  // Newest first: the old ones are at the end, from OrderKey(before).
  const std::string from = OrderKey(before, "");
  const std::string end = std::string(kOrderPrefix) + "~";
  Status st = storage::ForEach(
      *db_, db_->DefaultColumnFamily(), {from, end},
      [&](std::string_view key, std::string_view) -> Result<storage::Next> {
        const std::string id(key.substr(key.rfind('/') + 1));
        // A damaged record goes too; its request id then stays, unused.
        auto record = Get(id);
        if (record.ok() && *record && !(*record)->request_ref.empty()) {
          batch.Delete(std::string(kRequestPrefix) + (*record)->request_ref)
              .PermitUncheckedError();
        }
        batch.Delete(ToSlice(key)).PermitUncheckedError();
        batch.Delete(CaseKey(id)).PermitUncheckedError();
        ++pruned;
        return storage::Next::kContinue;
      },
      "cannot prune the case index " + dir_);
  RELAIS_RETURN_IF_ERROR(st);
  if (pruned == 0) return pruned;
  rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, "cannot prune the case index " + dir_);
  Changed();
  return pruned;
}

void CaseIndex::Changed() {
  std::lock_guard<std::mutex> lock(change_mu_);
  ++changes_;
  change_cv_.notify_all();
}

uint64_t CaseIndex::changes() {
  std::lock_guard<std::mutex> lock(change_mu_);
  return changes_;
}

uint64_t CaseIndex::WaitForChange(uint64_t seen,
                                  std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(change_mu_);
  change_cv_.wait_for(lock, timeout,
                      [&] { return changes_ != seen || waits_stopped_; });
  return changes_;
}

void CaseIndex::StopWaits() {
  std::lock_guard<std::mutex> lock(change_mu_);
  waits_stopped_ = true;
  change_cv_.notify_all();
}

}  // namespace relais::console
