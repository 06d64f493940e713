#include "adapters/sdk/intake.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crash_point.h"
#include "core/crypto.h"
#include "core/files.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr std::string_view kTakenPrefix = ".relais-in-";
constexpr const char* kFinished = ".finished";

// "<ms, 13 digits>-<8 hex>": unique, and in the order files were taken.
std::string NewIntakeId() {
  char ms[24];
  std::snprintf(ms, sizeof(ms), "%013lld",
                static_cast<long long>(Clock::System()->NowMs()));
  auto random = crypto::RandomBytes(4);
  return std::string(ms) + "-" +
         HexEncode(random.ok() ? *random : std::string(4, '\0'));
}

bool Exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

}  // namespace

std::string FittedName(const std::string& name) {
  if (name.size() <= kMaxKeptName) return name;
  const size_t dot = name.rfind('.');
  const std::string ext = dot == std::string::npos || dot == 0 ||
                                  name.size() - dot > kMaxKeptExtension
                              ? ""
                              : name.substr(dot);
  size_t keep = kMaxKeptName - ext.size() - 1;
  // Not in the middle of a UTF-8 character.
  while (keep > 0 && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80) {
    --keep;
  }
  return name.substr(0, keep) + "~" + ext;
}

std::string FreeName(const std::string& dir, const std::string& original,
                     const std::string& suffix) {
  std::string name = FittedName(original);
  const auto taken = [&](const std::string& n) {
    return Exists(fs::path(dir) / n) ||
           (!suffix.empty() && Exists(fs::path(dir) / (n + suffix)));
  };
  if (!taken(name)) return name;
  const size_t dot = name.rfind('.');
  const std::string stem =
      dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
  const std::string ext =
      dot == std::string::npos || dot == 0 ? "" : name.substr(dot);
  for (int n = 2;; ++n) {
    std::string candidate = stem + "." + std::to_string(n) + ext;
    if (!taken(candidate)) return candidate;
  }
}

struct Intake::Manifest {
  std::string file;   // the partner's name for it
  std::string state;  // taken, sealed, accepted, rejected
  std::string sha256;
  size_t messages = 0;
  Json receipts = Json::array();
  std::string as;  // its name in done/ or rejected/
  std::string reason;

  Json ToJson() const {
    Json j = {{"file", file}, {"state", state}};
    if (!sha256.empty()) j["sha256"] = sha256;
    if (state != "taken") j["messages"] = messages;
    if (state == "accepted") j["receipts"] = receipts;
    if (!as.empty()) j["as"] = as;
    if (!reason.empty()) j["reason"] = reason;
    return j;
  }
  static Result<Manifest> Parse(const std::string& text) {
    const Json j = Json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("file") || !j["file"].is_string() ||
        !j.contains("state") || !j["state"].is_string()) {
      return Status::Corruption("not an intake manifest");
    }
    Manifest m;
    m.file = j["file"].get<std::string>();
    m.state = j["state"].get<std::string>();
    const auto text_of = [&](const char* key) {
      return j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                   : std::string();
    };
    m.sha256 = text_of("sha256");
    m.as = text_of("as");
    m.reason = text_of("reason");
    if (j.contains("messages") && j["messages"].is_number_unsigned()) {
      m.messages = j["messages"].get<size_t>();
    }
    if (j.contains("receipts") && j["receipts"].is_array()) {
      m.receipts = j["receipts"];
    }
    if (m.state != "taken" && m.state != "sealed" && m.state != "accepted" &&
        m.state != "rejected") {
      return Status::Corruption("unknown intake state '" + m.state + "'");
    }
    return m;
  }
};

Intake::Intake(IntakeFolders folders, IntakeSteps steps)
    : folders_(std::move(folders)), steps_(std::move(steps)) {}

std::string Intake::Dir(const std::string& id) const {
  return (fs::path(folders_.intake) / id).string();
}

std::string Intake::TakenPath(const std::string& id) const {
  return (fs::path(folders_.inbox) / (std::string(kTakenPrefix) + id)).string();
}

size_t Intake::pending() const { return waiting_.size(); }

Status Intake::Save(const std::string& id, const Manifest& m) {
  // A reason may quote a partner's bytes: what is not UTF-8 is replaced
  // (U+FFFD), never thrown at the scan loop (a fuzz target showed it).
  return WriteFileAtomic(
      (fs::path(Dir(id)) / "manifest.json").string(),
      m.ToJson().dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

void Intake::Remove(const std::string& id) {
  std::error_code ec;
  const fs::path finished = fs::path(Dir(id) + kFinished);
  fs::rename(Dir(id), finished, ec);
  fs::remove_all(ec ? fs::path(Dir(id)) : finished, ec);
}

void Intake::Defer(const std::string& name, const Status& why) {
  std::string text = name + " waits: " + why.ToString();
  if (why.code() == Status::Code::kNoSpace) {
    auto free = FreeBytes(folders_.intake);
    if (free.ok()) {
      text += " (" + HumanBytes(*free) + " free for state/intake in " +
              folders_.intake + "; it goes on by itself once space returns)";
    }
  }
  if (text != last_deferral_) {
    spdlog::warn("{}", text);
    last_deferral_ = text;
  }
}

void Intake::Resume() {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folders_.intake, ec)) {
    const std::string n = entry.path().filename().string();
    if (n.ends_with(kFinished)) {
      fs::remove_all(entry.path(), ec);
    } else if (entry.is_directory()) {
      ids.push_back(n);
    }
  }
  std::sort(ids.begin(), ids.end());
  // A hidden inbox file without its intake could only come from a lost
  // write: say so, never drop it.
  for (const auto& entry : fs::directory_iterator(folders_.inbox, ec)) {
    const std::string n = entry.path().filename().string();
    if (n.starts_with(kTakenPrefix) &&
        !std::binary_search(ids.begin(), ids.end(),
                            n.substr(kTakenPrefix.size()))) {
      spdlog::error(
          "inbox/{} was taken but its intake is missing from {}: left in "
          "place; rename it to a plain name to send it again",
          n, folders_.intake);
    }
  }
  for (const auto& id : ids) {
    auto text = ReadFile((fs::path(Dir(id)) / "manifest.json").string());
    if (text.ok()) {
      auto m = Manifest::Parse(*text);
      if (m.ok()) {
        spdlog::info("{}: taken before the restart ({}); going on", m->file,
                     m->state);
      }
    }
    waiting_.push_back(id);
  }
  std::vector<std::string> still;
  for (const auto& id : waiting_) {
    if (!Advance(id)) still.push_back(id);
  }
  waiting_ = std::move(still);
}

void Intake::Scan(const std::function<bool()>& stop) {
  // Older intakes first; while one waits, the rest of the inbox waits too
  // (files stay in inbox/ while the broker cannot take them).
  while (!waiting_.empty()) {
    if (stop() || !Advance(waiting_.front())) return;
    waiting_.erase(waiting_.begin());
  }
  // Every entry but folders, not only files: a link or a pipe dropped here
  // goes to rejected/ with its reason, instead of waiting unseen.
  for (const auto& name : ReadyEntries(folders_.inbox)) {
    if (stop()) return;
    // Taken whole or not at all: the next scan looks again, and the files
    // after it go on meanwhile.
    if (StillBeingWritten((fs::path(folders_.inbox) / name).string())) {
      continue;
    }
    auto id = Take(name);
    if (!id) return;            // the disk: the next scan tries again
    if (id->empty()) continue;  // gone meanwhile
    if (!Advance(*id)) {
      waiting_.push_back(*id);
      return;
    }
  }
}

std::optional<std::string> Intake::Take(const std::string& name) {
  const std::string id = NewIntakeId();
  Manifest m;
  m.file = name;
  m.state = "taken";
  std::error_code ec;
  fs::create_directories(Dir(id), ec);
  Status st =
      ec ? Status::IOError("cannot create " + Dir(id) + ": " + ec.message())
         : Save(id, m);
  // The intake's folder must survive a crash before the file is renamed
  // to its hidden name.
  if (st.ok()) st = SyncDir(folders_.intake);
  if (st.ok()) {
    CrashPoint("intake.take.saved");
    st =
        RenameSynced((fs::path(folders_.inbox) / name).string(), TakenPath(id));
  }
  if (!st.ok()) {
    fs::remove_all(Dir(id), ec);
    if (st.code() == Status::Code::kNotFound) return std::string();
    Defer(name, st);
    return std::nullopt;
  }
  last_deferral_.clear();
  CrashPoint("intake.take.renamed");
  return id;
}

bool Intake::Advance(const std::string& id) {
  auto text = ReadFile((fs::path(Dir(id)) / "manifest.json").string());
  if (!text.ok() && text.status().code() == Status::Code::kNotFound) {
    Remove(id);  // created, never taken
    return true;
  }
  Result<Manifest> m =
      text.ok() ? Manifest::Parse(*text) : Result<Manifest>(text.status());
  if (!m.ok()) {
    Defer(Dir(id), m.status());
    return false;
  }
  for (;;) {
    Status st;
    if (m->state == "taken") {
      if (!Exists(TakenPath(id))) {
        Remove(id);  // a crash came before the rename: taken again later
        return true;
      }
      st = Seal(id, &*m);
    } else if (m->state == "sealed") {
      st = Submit(id, &*m);
    } else {
      st = Finish(id, &*m);
      if (st.ok()) {
        CrashPoint("intake.finished");
        Remove(id);
        last_deferral_.clear();
        return true;
      }
    }
    if (!st.ok()) {
      Defer(m->file, st);
      return false;
    }
  }
}

Status Intake::Seal(const std::string& id, Manifest* m) {
  // A file of another type is refused unread: the partner learns of it
  // instead of finding it still in inbox/ one day.
  Result<std::string> contents = Status::InvalidArgument(
      "not a file this adapter reads (it reads " + steps_.reads + ")");
  if (steps_.accepts(m->file)) {
    // Refused unread too: a link (it would be followed out of the inbox),
    // a pipe (it would block), a file over the limit.
    contents = ReadPlainFile(TakenPath(id), kMaxFileBytes);
  }
  Result<std::vector<std::string>> envelopes =
      contents.ok() ? steps_.seal(m->file, *contents)
                    : Result<std::vector<std::string>>(contents.status());
  if (!envelopes.ok() &&
      envelopes.status().code() == Status::Code::kInvalidArgument) {
    m->state = "rejected";
    m->reason = envelopes.status().message();
    m->as = FreeName(folders_.rejected, m->file, ".error");
    return Save(id, *m);
  }
  if (!envelopes.ok()) return envelopes.status();
  // One file and one sync for all of them, however many cases the file
  // holds.
  std::string all;
  size_t bytes = 0;
  for (const auto& e : *envelopes) bytes += 8 + e.size();
  all.reserve(bytes);
  for (const auto& e : *envelopes) {
    PutBigEndian64(&all, e.size());
    all += e;
  }
  RELAIS_RETURN_IF_ERROR(
      WriteFileAtomic((fs::path(Dir(id)) / kEnvelopesFile).string(), all));
  CrashPoint("intake.seal.envelopes");
  m->state = "sealed";
  m->sha256 = HexEncode(crypto::Sha256(*contents));
  m->messages = envelopes->size();
  return Save(id, *m);
}

Result<std::vector<std::string>> Intake::ReadEnvelopes(
    const std::string& id, const Manifest& m) const {
  std::vector<std::string> envelopes;
  const std::string path = (fs::path(Dir(id)) / kEnvelopesFile).string();
  if (!Exists(path)) {
    // Sealed by an earlier version: one file per envelope.
    for (size_t k = 0; k < m.messages; ++k) {
      auto env =
          ReadFile((fs::path(Dir(id)) / (std::to_string(k) + ".env")).string());
      if (!env.ok()) {
        return Status::Corruption("intake " + Dir(id) + ": message " +
                                  std::to_string(k + 1) +
                                  " is missing: " + env.status().ToString());
      }
      envelopes.push_back(std::move(*env));
    }
    return envelopes;
  }
  RELAIS_ASSIGN_OR_RETURN(std::string all,
                          ReadFile(path, kMaxEnvelopesFileBytes));
  std::string_view rest = all;
  while (!rest.empty()) {
    const uint64_t size = rest.size() >= 8 ? GetBigEndian64(rest.data()) : 0;
    if (rest.size() < 8 || size > rest.size() - 8) {
      return Status::Corruption("intake " + path + ": message " +
                                std::to_string(envelopes.size() + 1) +
                                " is cut short at byte " +
                                std::to_string(all.size() - rest.size()));
    }
    envelopes.emplace_back(rest.substr(8, size));
    rest.remove_prefix(8 + size);
  }
  if (envelopes.size() != m.messages) {
    return Status::Corruption(
        "intake " + path + " holds " + std::to_string(envelopes.size()) +
        " messages; its manifest says " + std::to_string(m.messages));
  }
  return envelopes;
}

Status Intake::Submit(const std::string& id, Manifest* m) {
  RELAIS_ASSIGN_OR_RETURN(std::vector<std::string> envelopes,
                          ReadEnvelopes(id, *m));
  CrashPoint("intake.submit.before");
  const auto results = steps_.submit(envelopes);
  CrashPoint("intake.submit.answered");
  Json receipts = Json::array();
  for (size_t k = 0; k < results.size(); ++k) {
    const auto& r = results[k];
    if (r.ok()) {
      receipts.push_back(*r);
      continue;
    }
    if (r.status().code() == Status::Code::kRejected &&
        !IsRetryable(r.status().reject_code())) {
      m->state = "rejected";
      m->reason = "message " + std::to_string(k + 1) + " of " +
                  std::to_string(results.size()) +
                  " refused by the broker: " + r.status().ToString();
      // What the broker took stays taken: say so, so that the partner does
      // not send those cases again.
      std::string accepted;
      for (size_t j = 0; j < results.size(); ++j) {
        if (!results[j].ok() || !results[j]->contains("case_id")) continue;
        accepted += (accepted.empty() ? "" : ", ") + std::to_string(j + 1) +
                    " (case " + (*results[j])["case_id"].get<std::string>() +
                    ")";
      }
      if (!accepted.empty()) {
        m->reason +=
            "; accepted, and not to be sent again: message(s) " + accepted;
      }
      m->as = FreeName(folders_.rejected, m->file, ".error");
      return Save(id, *m);
    }
  }
  for (const auto& r : results) {
    if (!r.ok()) return r.status();
  }
  m->state = "accepted";
  m->receipts = std::move(receipts);
  m->as = FreeName(folders_.done, m->file, ".receipt.json");
  return Save(id, *m);
}

Status Intake::Finish(const std::string& id, Manifest* m) {
  const bool accepted = m->state == "accepted";
  const std::string& dir = accepted ? folders_.done : folders_.rejected;
  const std::string suffix = accepted ? ".receipt.json" : ".error";
  const bool taken = Exists(TakenPath(id));
  if (taken && Exists(fs::path(dir) / m->as)) {
    // Another file took the name since: pick another one first.
    m->as = FreeName(dir, m->file, suffix);
    RELAIS_RETURN_IF_ERROR(Save(id, *m));
  }
  const std::string target = (fs::path(dir) / m->as).string();
  // Without the hidden file the move was done before a crash, and the
  // receipt written before it; the partner may have taken both since:
  // nothing is written again.
  if (accepted && taken) {
    // The receipt first: whoever sees the file in done/ finds its receipt.
    Json receipt = {{"file", m->file}};
    if (m->as != m->file) receipt["as"] = m->as;
    receipt["sha256"] = m->sha256;
    receipt["cases"] = m->receipts;
    RELAIS_RETURN_IF_ERROR(
        WriteFileAtomic(target + suffix, receipt.dump(2) + "\n"));
    CrashPoint("intake.receipt.written");
  }
  if (taken) {
    Status st = RenameSynced(TakenPath(id), target);
    if (!st.ok() && st.code() != Status::Code::kNotFound) return st;
    CrashPoint("intake.moved");
  }
  if (accepted) {
    spdlog::info("{}: {} message(s) accepted{}", m->file, m->receipts.size(),
                 m->as != m->file ? " (in done/ as " + m->as + ")" : "");
  } else if (taken || (Exists(target) && !Exists(target + suffix))) {
    // The file first, then its reason: whoever sees the .error finds both.
    RELAIS_RETURN_IF_ERROR(WriteFileAtomic(target + suffix, m->reason + "\n"));
    spdlog::warn("{}: rejected: {}", m->file, m->reason);
  }
  return Status::OK();
}

}  // namespace relais::sdk
