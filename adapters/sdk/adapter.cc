#include "adapters/sdk/adapter.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/sdk/client_metrics.h"
#include "adapters/sdk/partner_files.h"
#include "adapters/translation/native.h"
#include "core/bytes.h"
#include "core/case_extras.h"
#include "core/cases.h"
#include "core/clock.h"
#include "core/command_line.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/minimise.h"
#include "core/pid_lock.h"
#include "core/stop_signals.h"
#include "core/subject.h"
#include "core/text.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;

Status EnsureDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  return Status::OK();
}

std::string SubjectRefOf(const std::string& subject_key,
                         std::string_view payload) {
  if (subject_key.empty()) return {};
  const auto* event =
      VerifiedRoot<wire::CaseEvent>(payload, kCaseEventIdentifier);
  const wire::Citizen* citizen = event ? PrimaryCitizen(*event) : nullptr;
  if (citizen == nullptr || citizen->nir() == nullptr) return {};
  auto ref = SubjectRef(subject_key, StringView(citizen->nir()));
  return ref.ok() ? *ref : std::string();
}

// Client::Start, waiting out a full disk (its local store cannot open):
// says why once, then tries again every second. Null if `stop` came first.
Result<std::unique_ptr<Client>> StartClient(ClientOptions options,
                                            DeliveryHandler handler,
                                            const std::atomic<bool>& stop) {
  for (bool said = false;;) {
    auto client = Client::Start(options, handler);
    if (client.ok() || client.status().code() != Status::Code::kNoSpace) {
      if (client.ok() && said) spdlog::info("local store open: going on");
      return client;
    }
    if (!said) {
      // Opening replays the store's log files into new table files.
      uint64_t needed = 4 << 20;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(options.state_dir, ec)) {
        if (e.path().extension() == ".log") needed += e.file_size(ec);
      }
      auto free = FreeBytes(options.state_dir);
      spdlog::error(
          "{}. {} free in {}; the adapter needs about {} there to open its "
          "local store. Waiting: it starts by itself once space is freed",
          client.status().ToString(),
          free.ok() ? HumanBytes(*free) : std::string("nothing"),
          options.state_dir, HumanBytes(needed));
      said = true;
    }
    for (int waited = 0; waited < 1000 && !stop.load(); waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (stop.load()) return std::unique_ptr<Client>();
  }
}

// state/pending/ held the sealed envelopes of inbox files before intakes
// (intake.h) replaced it.
void RemoveLegacyPending(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  const auto n = fs::remove_all(dir, ec);
  spdlog::warn(
      "{}: removed ({} entries): an earlier version's pending envelopes; "
      "files still in inbox/ are sent as new cases",
      dir, n);
}

// A file handed to the partner beside a case's native file.
struct AttachmentHandOff {
  std::string name;
  std::string contents;
};

// The attachments of `event` (checked: CheckAttachments) as files beside
// `native` in the outbox (adapters/README.md, "Attachments"): STEM.pj1.pdf,
// STEM.pj2.jpg, ... and the manifest STEM.pj.json naming each with the
// name the agent gave it, its type, size and SHA-256. None without
// attachments.
std::vector<AttachmentHandOff> AttachmentFiles(
    const translation::NativeFile& native, const wire::CaseEvent& event,
    std::string_view case_id) {
  std::vector<AttachmentHandOff> out;
  const auto* list = event.attachments();
  if (list == nullptr || list->size() == 0) return out;
  const size_t dot = native.name.rfind('.');
  const std::string stem =
      dot == std::string::npos ? native.name : native.name.substr(0, dot);
  nlohmann::ordered_json manifest = nlohmann::ordered_json::array();
  for (flatbuffers::uoffset_t i = 0; i < list->size(); ++i) {
    const wire::Attachment* a = list->Get(i);
    const std::string_view type = StringView(a->media_type());
    const char* ext = type == "application/pdf" ? "pdf"
                      : type == "image/png"     ? "png"
                                                : "jpg";
    const std::string_view content = VectorBytes(a->content());
    std::string name = stem + ".pj" + std::to_string(i + 1) + "." + ext;
    manifest.push_back({{"file", name},
                        {"name", StringView(a->name())},
                        {"media_type", type},
                        {"bytes", content.size()},
                        {"sha256", HexEncode(VectorBytes(a->sha256()))}});
    out.push_back({std::move(name), std::string(content)});
  }
  nlohmann::ordered_json doc = {{"case_id", case_id},
                                {"file", native.name},
                                {"attachments", std::move(manifest)}};
  out.push_back({stem + ".pj.json", doc.dump(2) + "\n"});
  return out;
}

}  // namespace

AdapterRuntime::AdapterRuntime(AdapterConfig config,
                               std::unique_ptr<Translator> translator)
    : config_(std::move(config)),
      translator_(std::move(translator)),
      hand_offs_({{"outbox", config_.outbox}, {"done", config_.done}}) {}

AdapterRuntime::~AdapterRuntime() {
  if (client_) client_->Stop();
}

Status AdapterRuntime::Run() {
  const fs::path state(config_.participant.client.state_dir);
  // One adapter per state folder (the local store's lock would say it
  // later, and less clearly).
  auto lock = PidLock::Acquire(
      state.string(), "adapter.pid",
      "an adapter of " + config_.participant.client.identity.participant);
  if (!lock.ok() && lock.status().code() == Status::Code::kUnavailable) {
    return lock.status();
  }
  std::string intake_dir = (state / "intake").string();
  for (const auto* dir :
       {&config_.inbox, &config_.outbox, &config_.done, &config_.rejected,
        &config_.status, &config_.subjects, &intake_dir}) {
    RELAIS_RETURN_IF_ERROR(EnsureDir(*dir));
  }
  RemoveLegacyPending((state / "pending").string());
  ClientOptions options = config_.participant.client;
  options.state_dir = (state / "processed").string();
  options.complete_hand_offs = [this](const std::vector<std::string>& r) {
    return hand_offs_.Complete(r);
  };
  options.before_first_delivery = [this] { hand_offs_.RemoveOrphans(); };
  RELAIS_ASSIGN_OR_RETURN(
      client_, StartClient(
                   std::move(options),
                   [this](const Delivery& d) { return OnDelivery(d); }, stop_));
  if (!client_) return Status::OK();  // stopped while waiting for the disk
  intake_ = std::make_unique<Intake>(
      IntakeFolders{config_.inbox, config_.done, config_.rejected, intake_dir},
      IntakeSteps{
          [this](const std::string& n) { return translator_->Accepts(n); },
          [this](const std::string& n, std::string_view c) {
            return SealFile(n, c);
          },
          [this](const std::vector<std::string>& e) { return SubmitAll(e); },
          translator_->InboxFiles()});
  intake_->Resume();
  if (!config_.http_listen.empty()) {
    HttpFolders folders{config_.inbox, config_.outbox, config_.status,
                        config_.done, config_.rejected};
    folders.case_extension = translator_->Accepts("x.json")  ? ".json"
                             : translator_->Accepts("x.csv") ? ".csv"
                                                             : ".json";
    folders.max_body = Intake::kMaxFileBytes;
    http_ = std::make_unique<HttpFront>(std::move(folders));
    RELAIS_RETURN_IF_ERROR(
        http_->Start(config_.http_listen, config_.http_endpoint_file));
  }
  if (!config_.metrics_listen.empty()) {
    RELAIS_RETURN_IF_ERROR(metrics_.Start(
        "metrics_listen", config_.metrics_listen,
        [this] { return RenderMetrics(); }, config_.metrics_endpoint_file));
    spdlog::info("metrics on {}", metrics_.url());
  }
  spdlog::info("{} adapter ready: inbox {}, outbox {}", client_->participant(),
               config_.inbox, config_.outbox);
  while (!stop_.load()) {
    ScanSubjects();
    ScanInbox();
    ScanStatus();
    for (int waited = 0; waited < config_.poll_interval_ms && !stop_.load();
         waited += 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  metrics_.Stop();
  if (http_) http_->Stop();
  client_->Stop();
  return Status::OK();
}

std::string AdapterRuntime::RenderMetrics() const {
  using Type = metrics::TextWriter::Type;
  const std::string& id = client_->participant();
  const metrics::Labels who = {{"participant", id}};
  metrics::TextWriter w;
  const auto files = [](const std::string& dir) {
    int64_t n = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec) &&
          it->path().filename().string().front() != '.') {
        ++n;
      }
    }
    return n;
  };
  w.Family("relais_adapter_inbox_files",
           "Files the partner dropped in inbox/, not yet sent.", Type::kGauge);
  w.Sample(who, files(config_.inbox));
  w.Family("relais_adapter_outbox_files",
           "Files delivered to outbox/ (cases, their documents and "
           "manifests), not yet taken by the partner.",
           Type::kGauge);
  w.Sample(who, files(config_.outbox));
  w.Family("relais_adapter_rejected_files",
           "Files in rejected/ (each refused file and its .error).",
           Type::kGauge);
  w.Sample(who, files(config_.rejected));
  WriteClientMetrics(w, id, client_.get());
  metrics::WriteProcessMetrics(w);
  return w.Take();
}

void AdapterRuntime::ScanInbox() {
  if (intake_) intake_->Scan([this] { return stop_.load(); });
}

Result<std::vector<std::string>> AdapterRuntime::SealFile(
    const std::string& name, std::string_view contents) {
  RELAIS_ASSIGN_OR_RETURN(std::vector<OutgoingCase> cases,
                          translator_->ReadInbox(name, contents));
  if (cases.empty()) return Status::InvalidArgument("the file holds no case");
  std::vector<EnvelopeDraft> drafts;
  for (size_t i = 0; i < cases.size(); ++i) {
    // One envelope per view of the case (data minimisation), all in the
    // same case. Sealed once: the intake keeps them until accepted.
    OutgoingCase& c = cases[i];
    const std::string subject_ref =
        SubjectRefOf(config_.participant.subject_key, c.payload);
    if (c.by_subscription) {
      if (subject_ref.empty()) {
        return Status::InvalidArgument(
            "case " + std::to_string(i + 1) +
            ": routing by subscription needs the citizen's NIR (and the "
            "subject key)");
      }
      RELAIS_ASSIGN_OR_RETURN(c.recipients,
                              client_->Route(c.case_type, subject_ref));
      if (c.recipients.empty()) {
        return Status::InvalidArgument("case " + std::to_string(i + 1) +
                                       ": no agency holds a file on "
                                       "this citizen for " +
                                       std::string(CaseTypeName(c.case_type)) +
                                       " (routing by subscription)");
      }
    }
    RELAIS_ASSIGN_OR_RETURN(std::vector<PayloadView> views,
                            ViewsFor(c.payload, c.recipients));
    std::string case_id = c.case_id;
    if (case_id.empty()) {
      RELAIS_ASSIGN_OR_RETURN(case_id, NewCaseId(Clock::System()->NowMs()));
    }
    for (auto& view : views) {
      EnvelopeDraft d;
      d.case_id = case_id;
      d.recipients = std::move(view.recipients);
      d.case_type = c.case_type;
      d.subject_ref = subject_ref;
      d.payload = std::move(view.payload);
      drafts.push_back(std::move(d));
    }
  }
  return SealDrafts(std::move(drafts));
}

Result<std::vector<std::string>> AdapterRuntime::SealDrafts(
    std::vector<EnvelopeDraft> drafts) {
  std::vector<std::string> out;
  out.reserve(drafts.size());
  const size_t batch = config_.participant.client.batch_seal_max;
  if (batch <= 1 || drafts.size() == 1) {
    for (auto& d : drafts) {
      RELAIS_ASSIGN_OR_RETURN(SealedEnvelope sealed,
                              client_->Seal(std::move(d)));
      out.push_back(std::move(sealed.bytes));
    }
    return out;
  }
  // batch_seal: one signature per `batch` envelopes of the file
  // (PROTOCOL.md 4.8).
  for (size_t first = 0; first < drafts.size(); first += batch) {
    const size_t end = std::min(drafts.size(), first + batch);
    std::vector<EnvelopeDraft> some(
        std::make_move_iterator(drafts.begin() + first),
        std::make_move_iterator(drafts.begin() + end));
    RELAIS_ASSIGN_OR_RETURN(std::vector<SealedEnvelope> sealed,
                            client_->SealBatch(std::move(some)));
    for (auto& s : sealed) out.push_back(std::move(s.bytes));
  }
  return out;
}

std::vector<Result<nlohmann::ordered_json>> AdapterRuntime::SubmitAll(
    const std::vector<std::string>& envelopes) {
  std::vector<std::future<Result<Receipt>>> answers;
  for (const auto& bytes : envelopes) {
    auto promise = std::make_shared<std::promise<Result<Receipt>>>();
    answers.push_back(promise->get_future());
    client_->SubmitAsync(
        {PeekMessageId(bytes), bytes, {}},  // no header hash needed to send
        [promise](Result<Receipt> r) { promise->set_value(std::move(r)); });
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::vector<Result<nlohmann::ordered_json>> out;
  for (size_t i = 0; i < envelopes.size(); ++i) {
    if (answers[i].wait_until(deadline) != std::future_status::ready) {
      out.push_back(Status::Timeout("no receipt from the broker within 30 s"));
      continue;
    }
    Result<Receipt> receipt = answers[i].get();
    if (!receipt.ok()) {
      out.push_back(receipt.status());
      continue;
    }
    auto view = ParseEnvelope(envelopes[i]);
    nlohmann::ordered_json to = nlohmann::ordered_json::array();
    if (view.ok() && view->header->recipients()) {
      for (const auto* r : *view->header->recipients()) to.push_back(r->str());
    }
    // Built in place: moving a whole Result here makes GCC 12 at -O2 -g
    // warn (wrongly) of an uninitialised Status.
    out.emplace_back(nlohmann::ordered_json{
        {"case_id", view.ok() ? std::string(view->case_id) : std::string()},
        {"message_id", HexEncode(receipt->message_id)},
        {"recipients", std::move(to)},
        {"sequence", receipt->sequence},
        {"accepted_at", FormatTimestamp(receipt->accepted_at_ms)},
        {"duplicate", receipt->duplicate}});
  }
  return out;
}

void AdapterRuntime::Reject(const std::string& from, const std::string& name,
                            const std::string& why) {
  spdlog::warn("{}: rejected: {}", name, why);
  // The file first, then its .error: whoever sees the .error finds both.
  const fs::path target =
      fs::path(config_.rejected) / FreeName(config_.rejected, name, ".error");
  Status st = RenameSynced((fs::path(from) / name).string(), target.string());
  if (st.ok()) st = WriteFileAtomic(target.string() + ".error", why + "\n");
  if (!st.ok()) {
    spdlog::error("{}: cannot move to rejected/: {}", name, st.ToString());
  }
}

bool AdapterRuntime::Done(const std::string& from, const std::string& name,
                          nlohmann::ordered_json receipt) {
  // The receipt first, then the file: whoever sees the file in done/ finds
  // its receipt, and a crash in between leaves the file to be sent again
  // (what these files ask of the broker is idempotent). A receipt of these
  // very bytes without its file is that crash's: it is written again, not
  // beside a second one. Any other receipt of that name is an earlier
  // file's (the partner took the file and left the receipt): kept.
  // A long name was kept shortened (FittedName): its receipt is there.
  const fs::path own = fs::path(config_.done) / FittedName(name);
  std::error_code ec;
  bool crashed = false;
  if (!fs::exists(own, ec)) {
    auto earlier = ReadFile(own.string() + ".receipt.json", 4 << 20);
    if (earlier.ok()) {
      const auto j = nlohmann::ordered_json::parse(*earlier, nullptr, false);
      crashed = j.is_object() && j.contains("sha256") &&
                j["sha256"] == receipt["sha256"];
    }
  }
  const std::string as = crashed
                             ? FittedName(name)
                             : FreeName(config_.done, name, ".receipt.json");
  if (as != name) receipt["as"] = as;
  const fs::path target = fs::path(config_.done) / as;
  Status st = WriteFileAtomic(target.string() + ".receipt.json",
                              receipt.dump(2) + "\n");
  if (st.ok()) {
    st = RenameSynced((fs::path(from) / name).string(), target.string());
  }
  if (!st.ok()) {
    spdlog::error("{}: done but not moved to done/: {}", name, st.ToString());
    return false;
  }
  return true;
}

std::optional<nlohmann::ordered_json> AdapterRuntime::ReadPartnerJson(
    const std::string& dir, const std::string& name, size_t max_bytes,
    std::string* sha256) {
  // Taken whole or not at all: the next scan looks again.
  const std::string path = (fs::path(dir) / name).string();
  if (StillBeingWritten(path)) return std::nullopt;
  // A link or a pipe is refused unread, as in inbox/.
  auto text = ReadPlainFile(path, max_bytes);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kInvalidArgument) {
      Reject(dir, name, text.status().message());
    }
    return std::nullopt;  // gone or unreadable for now: next scan
  }
  if (sha256 != nullptr) *sha256 = HexEncode(crypto::Sha256(*text));
  auto doc = translation::native::ParseJsonObject(*text);
  if (!doc.ok()) {
    Reject(dir, name, doc.status().message());
    return std::nullopt;
  }
  return std::move(*doc);
}

void AdapterRuntime::ScanSubjects() {
  // Links and pipes too, to be refused (ReadPartnerJson).
  for (const auto& name : ReadyEntries(config_.subjects)) {
    if (stop_.load()) return;
    if (name.ends_with(".json")) RegisterFile(name);
  }
}

void AdapterRuntime::RegisterFile(const std::string& name) {
  std::string sha256;
  auto doc = ReadPartnerJson(config_.subjects, name, 4 << 20, &sha256);
  if (!doc) return;
  if (config_.participant.subject_key.empty()) {
    return Reject(config_.subjects, name,
                  "this adapter has no subject key (subject_key)");
  }
  // The subject references of each list, every NIR checked first.
  auto refs = ParseSubjectsFile(*doc, config_.participant.subject_key);
  if (!refs.ok()) {
    return Reject(config_.subjects, name, refs.status().message());
  }
  nlohmann::ordered_json receipt = {{"file", name}, {"sha256", sha256}};
  for (const auto& [key, list] : *refs) {
    uint32_t changed = 0;
    for (size_t at = 0; at < list.size(); at += kMaxSubjectRefs) {
      const std::vector<std::string> part(
          list.begin() + at,
          list.begin() + std::min(list.size(), at + kMaxSubjectRefs));
      auto n = client_->RegisterSubjects(part, key == "unregister");
      if (!n.ok()) {
        // Registration is idempotent: the whole file is sent again later.
        spdlog::warn("{}: will try again: {}", name, n.status().ToString());
        return;
      }
      changed += *n;
    }
    receipt[key] = {{"count", list.size()}, {"changed", changed}};
  }
  nlohmann::ordered_json counts = receipt;
  counts.erase("file");
  counts.erase("sha256");  // a hash of a few NIRs can be searched: not logged
  if (!Done(config_.subjects, name, std::move(receipt))) return;
  spdlog::info("{}: subjects {}", name, counts.dump());
}

void AdapterRuntime::ScanStatus() {
  // Links and pipes too, to be refused (ReadPartnerJson).
  for (const auto& name : ReadyEntries(config_.status)) {
    if (stop_.load()) return;
    if (name.ends_with(".json")) ReportFile(name);
  }
}

Result<std::string> AdapterRuntime::LatestMessageTo(
    const std::string& case_id) {
  RELAIS_ASSIGN_OR_RETURN(std::string bytes, client_->QueryCase(case_id));
  const wire::CaseState* state = ParseCaseState(bytes);
  if (state != nullptr && state->recipients() != nullptr) {
    for (const auto* r : *state->recipients()) {
      if (StringView(r->recipient()) == client_->participant()) {
        return std::string(VectorBytes(r->message_id()));
      }
    }
  }
  return Status::Rejected(
      wire::RejectCode::UnknownCase,
      "case " + case_id + " sent nothing to " + client_->participant());
}

// One partner status file: checked, sent as a StatusUpdate, then moved.
void AdapterRuntime::ReportFile(const std::string& name) {
  auto doc = ReadPartnerJson(config_.status, name, 64 << 10);
  if (!doc) return;
  auto request = ParseStatusFile(*doc);
  if (!request.ok()) {
    return Reject(config_.status, name, request.status().message());
  }
  // The message: named, or this participant's latest of the case.
  Result<std::string> id = request->message_id;
  if (id->empty()) {
    id = LatestMessageTo(request->case_id);
    if (!id.ok()) {
      if (id.status().code() == Status::Code::kRejected &&
          !IsRetryable(id.status().reject_code())) {
        return Reject(config_.status, name,
                      "field case_id: " + id.status().message());
      }
      spdlog::warn("{}: will try again: {}", name, id.status().ToString());
      return;
    }
  }
  auto recorded = client_->ReportStatus(*id, request->state, request->reason);
  if (!recorded.ok()) {
    const Status& st = recorded.status();
    if (st.code() == Status::Code::kRejected &&
        !IsRetryable(st.reject_code())) {
      return Reject(config_.status, name,
                    "refused by the broker: " + st.ToString());
    }
    spdlog::warn("{}: will try again: {}", name, st.ToString());
    return;
  }
  // Recorded: a crash before the move sends it again, and the broker
  // answers that nothing changed.
  // Never beside a receipt that is not its own (an earlier file's).
  Status moved = RenameSynced(
      (fs::path(config_.status) / name).string(),
      (fs::path(config_.done) / FreeName(config_.done, name, ".receipt.json"))
          .string());
  if (!moved.ok()) {
    spdlog::error("{}: recorded but not moved to done/: {}", name,
                  moved.ToString());
  }
  spdlog::info("{}: message {} is {} here{}", name, HexEncode(*id),
               doc->at("status").get<std::string>(),
               recorded->changed ? "" : " (already)");
}

HandlerResult AdapterRuntime::OnDelivery(const Delivery& d) {
  const EnvelopeView& env = *d.envelope;
  if (const wire::StatusReport* report = AsStatusReport(env)) {
    return OnStatusReport(env, *report);
  }
  if (env.header->payload_encoding() != wire::PayloadEncoding::CaseEvent) {
    return HandlerResult::Rejected("this adapter reads case events only");
  }
  const auto* event =
      VerifiedRoot<wire::CaseEvent>(env.payload, kCaseEventIdentifier);
  if (event == nullptr)
    return HandlerResult::Rejected("payload is not a CaseEvent");
  if (Status st = CheckAttachments(*event); !st.ok()) {
    return HandlerResult::Rejected(st.message());
  }
  auto file = translator_->WriteOutbox(env, *event);
  if (!file.ok()) return HandlerResult::Rejected(file.status().message());
  // The attachments beside the native file, which comes last.
  std::vector<AttachmentHandOff> attachments =
      AttachmentFiles(*file, *event, env.case_id);
  std::vector<FolderHandOffs::File> files;
  files.reserve(attachments.size() + 1);
  for (const auto& a : attachments) files.push_back({a.name, a.contents});
  files.push_back({file->name, file->contents});
  auto record = hand_offs_.PrepareAll("outbox", env.message_id, files);
  if (!record.ok()) return HandlerResult::Retry(record.status().ToString());
  spdlog::info("case {} ({}) from {} handed over as {}{}",
               std::string(env.case_id), CaseTypeName(env.header->case_type()),
               std::string(env.sender), file->name,
               attachments.empty()
                   ? std::string()
                   : " with " + std::to_string(event->attachments()->size()) +
                         " attachment(s)");
  return HandlerResult::HandOff(std::move(*record));
}

// The broker's word about a message this adapter sent (a dead letter, a
// replay) goes beside the file's receipt in done/, for the partner system.
HandlerResult AdapterRuntime::OnStatusReport(const EnvelopeView& env,
                                             const wire::StatusReport& r) {
  std::string recipient(StringView(r.recipient()));
  std::replace(recipient.begin(), recipient.end(), '/', '_');
  const std::string name =
      std::string(StringView(r.case_id())) + "-" + recipient + "-" +
      HexEncode(env.message_id.substr(0, 4)) + ".status.json";
  nlohmann::ordered_json j = {
      {"case_id", StringView(r.case_id())},
      {"message_id", HexEncode(VectorBytes(r.message_id()))},
      {"recipient", StringView(r.recipient())},
      {"state", wire::EnumNameRecipientState(r.state())},
      {"at_ms", r.at_ms()},
      {"attempts", r.attempts()},
      {"detail", StringView(r.detail())}};
  auto record =
      hand_offs_.Prepare("done", env.message_id, name, j.dump(2) + "\n");
  if (!record.ok()) return HandlerResult::Retry(record.status().ToString());
  // The detail may be another agency's own words about a citizen: it goes
  // to the partner's file, not to the log.
  spdlog::warn("case {}: message {} to {} is now {} (its detail is in done/{})",
               std::string(StringView(r.case_id())),
               HexEncode(VectorBytes(r.message_id())).substr(0, 16),
               std::string(StringView(r.recipient())),
               wire::EnumNameRecipientState(r.state()), Escaped(name));
  return HandlerResult::HandOff(std::move(*record));
}

namespace {

int RunAdapter(int argc, char** argv, const char* name,
               std::unique_ptr<Translator> translator) {
  StopSignals& stop = StopSignals::Install();
  CLI::App app{std::string(name) + ": relais adapter", name};
  std::string config_path;
  std::string log_level = "info";
  app.add_option("--config", config_path, "adapter TOML file")->required();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "text, or json (JSON lines)");
  AddVersionFlag(app);
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  if (Status st = CheckLogFormat(log_format); !st.ok()) {
    spdlog::critical("--log-format: {}", st.message());
    return 2;
  }
  if (Status st = SetUpLog(name, log_level, log_format); !st.ok()) {
    spdlog::critical("--log-level: {}", st.message());
    return 2;
  }
  // relais-adapter-caf runs with the CAF's identity only: with another
  // agency's file it would take that agency's deliveries and write them in
  // the CAF's formats, where that agency's partner never looks. That and
  // every other mistake in the file are found before the wait below.
  constexpr std::string_view kPrefix = "relais-adapter-";
  const std::string_view binary(name);
  const std::string_view agency =
      binary.starts_with(kPrefix) ? binary.substr(kPrefix.size()) : "";
  // relaisd may start after its adapters: wait for its endpoint, saying so
  // once, until it comes or the adapter is told to stop.
  const auto load = [&] {
    return LoadAdapterConfig(config_path, std::chrono::seconds(1), agency);
  };
  auto config = load();
  for (bool said = false;
       !config.ok() && config.status().code() == Status::Code::kUnavailable &&
       !stop.requested();
       config = load()) {
    if (!said) {
      spdlog::warn("{}; waiting for it", config.status().message());
      said = true;
    }
  }
  if (!config.ok() && stop.requested()) return 0;
  if (!config.ok()) {
    spdlog::critical("cannot start: {}", config.status().message());
    return 2;
  }
  AdapterRuntime runtime(std::move(*config), std::move(translator));
  stop.OnStop([&runtime] { runtime.RequestStop(); });
  Status st = runtime.Run();
  stop.Clear();
  if (!st.ok()) {
    spdlog::critical("stopped: {}", st.message());
    return 1;
  }
  return 0;
}

}  // namespace

int AdapterMain(int argc, char** argv, const char* name,
                std::unique_ptr<Translator> translator) {
  try {
    return RunAdapter(argc, argv, name, std::move(translator));
  } catch (const std::exception& e) {
    // Nothing of relais throws; a library's exception ends here, logged.
    spdlog::critical("stopped by an unexpected error: {}", e.what());
    return 1;
  }
}

}  // namespace relais::sdk
