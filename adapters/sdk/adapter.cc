#include "adapters/sdk/adapter.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/sdk/native.h"
#include "core/bytes.h"
#include "core/cases.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/minimise.h"
#include "core/stop_signals.h"
#include "core/subject.h"
#include "core/toml_file.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxInboxFile = 16 << 20;

bool IsInProgress(std::string_view name) {
  return name.empty() || name.front() == '.' || name.ends_with(".tmp") ||
         name.ends_with(".part");
}

// The complete files of `dir` (not being written) that `wanted` accepts,
// in name order.
std::vector<std::string> ReadyFiles(
    const std::string& dir,
    const std::function<bool(const std::string&)>& wanted) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && !IsInProgress(name) && wanted(name)) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

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

}  // namespace

Result<AdapterConfig> LoadAdapterConfig(const std::string& path) {
  AdapterConfig c;
  RELAIS_ASSIGN_OR_RETURN(c.participant, LoadParticipantConfig(path));
  RELAIS_ASSIGN_OR_RETURN(toml::table t, ParseTomlFile(path));
  const std::string& base = c.participant.base_dir;
  c.inbox = ResolvePath(base, t["inbox"].value_or(std::string("inbox")));
  c.outbox = ResolvePath(base, t["outbox"].value_or(std::string("outbox")));
  c.done = ResolvePath(base, t["done"].value_or(std::string("done")));
  c.rejected =
      ResolvePath(base, t["rejected"].value_or(std::string("rejected")));
  c.status = ResolvePath(base, t["status"].value_or(std::string("status")));
  c.subjects =
      ResolvePath(base, t["subjects"].value_or(std::string("subjects")));
  c.poll_interval_ms =
      static_cast<int>(t["poll_interval_ms"].value_or(int64_t{200}));
  c.http_listen = t["http_listen"].value_or(std::string());
  c.http_endpoint_file =
      ResolvePath(base, t["http_endpoint_file"].value_or(std::string()));
  if (c.participant.client.state_dir.empty()) {
    c.participant.client.state_dir = ResolvePath(base, "state");
  }
  return c;
}

AdapterRuntime::AdapterRuntime(AdapterConfig config,
                               std::unique_ptr<Translator> translator)
    : config_(std::move(config)), translator_(std::move(translator)) {
  pending_dir_ =
      (fs::path(config_.participant.client.state_dir) / "pending").string();
}

AdapterRuntime::~AdapterRuntime() {
  if (client_) client_->Stop();
}

Status AdapterRuntime::Run() {
  for (const auto* dir :
       {&config_.inbox, &config_.outbox, &config_.done, &config_.rejected,
        &config_.status, &config_.subjects, &pending_dir_}) {
    RELAIS_RETURN_IF_ERROR(EnsureDir(*dir));
  }
  ClientOptions options = config_.participant.client;
  options.state_dir = (fs::path(options.state_dir) / "processed").string();
  RELAIS_ASSIGN_OR_RETURN(
      client_, Client::Start(std::move(options), [this](const Delivery& d) {
        return OnDelivery(d);
      }));
  spdlog::info("{} adapter: inbox {}, outbox {}", client_->participant(),
               config_.inbox, config_.outbox);
  if (!config_.http_listen.empty()) {
    HttpFolders folders{config_.inbox, config_.outbox, config_.status,
                        config_.done, config_.rejected};
    folders.case_extension = translator_->Accepts("x.json")  ? ".json"
                             : translator_->Accepts("x.csv") ? ".csv"
                                                             : ".json";
    folders.max_body = kMaxInboxFile;
    http_ = std::make_unique<HttpFront>(std::move(folders));
    RELAIS_RETURN_IF_ERROR(
        http_->Start(config_.http_listen, config_.http_endpoint_file));
  }
  while (!stop_.load()) {
    ScanSubjects();
    ScanInbox();
    ScanStatus();
    for (int waited = 0; waited < config_.poll_interval_ms && !stop_.load();
         waited += 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (http_) http_->Stop();
  client_->Stop();
  return Status::OK();
}

void AdapterRuntime::ScanInbox() {
  for (const auto& name : ReadyFiles(config_.inbox, [this](const auto& n) {
         return translator_->Accepts(n);
       })) {
    if (stop_.load()) return;
    ProcessFile(name);
  }
}

std::string AdapterRuntime::PendingPath(const std::string& name, size_t c,
                                        size_t view) const {
  return (fs::path(pending_dir_) / (name + "." + std::to_string(c) + "." +
                                    std::to_string(view) + ".env"))
      .string();
}

Result<std::vector<SealedEnvelope>> AdapterRuntime::SealFile(
    const std::string& name, std::string_view contents) {
  RELAIS_ASSIGN_OR_RETURN(std::vector<OutgoingCase> cases,
                          translator_->ReadInbox(name, contents));
  if (cases.empty()) return Status::InvalidArgument("the file holds no case");
  std::vector<SealedEnvelope> out;
  for (size_t i = 0; i < cases.size(); ++i) {
    // One envelope per view of the case (data minimisation), each kept in
    // state/pending/ once sealed: after a restart the very same envelopes,
    // in the same case, are submitted again.
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
      // The route is asked once and kept with the pending envelopes: after
      // a restart the same recipients, whatever registrations changed.
      const std::string route_file =
          (fs::path(pending_dir_) / (name + "." + std::to_string(i) + ".route"))
              .string();
      if (auto kept = ReadFile(route_file); kept.ok()) {
        auto list = nlohmann::json::parse(*kept, nullptr, false);
        c.recipients.clear();
        if (list.is_array()) {
          for (const auto& r : list) {
            if (r.is_string()) c.recipients.push_back(r.get<std::string>());
          }
        }
      } else {
        RELAIS_ASSIGN_OR_RETURN(c.recipients,
                                client_->Route(c.case_type, subject_ref));
        RELAIS_RETURN_IF_ERROR(WriteFileAtomic(
            route_file, nlohmann::json(c.recipients).dump() + "\n"));
      }
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
    for (size_t v = 0; v < views.size(); ++v) {
      auto kept = ReadFile(PendingPath(name, i, v));
      auto view = kept.ok() ? ParseEnvelope(*kept) : kept.status();
      if (view.ok() && case_id.empty()) case_id = std::string(view->case_id);
    }
    if (case_id.empty()) {
      RELAIS_ASSIGN_OR_RETURN(case_id, NewCaseId(Clock::System()->NowMs()));
    }
    for (size_t v = 0; v < views.size(); ++v) {
      const std::string pending = PendingPath(name, i, v);
      auto kept = ReadFile(pending);
      if (kept.ok()) {
        auto view = ParseEnvelope(*kept);
        if (view.ok()) {
          out.push_back({std::string(view->message_id), *kept});
          continue;
        }
      }
      EnvelopeDraft d;
      d.case_id = case_id;
      d.recipients = std::move(views[v].recipients);
      d.case_type = c.case_type;
      d.subject_ref = subject_ref;
      d.payload = std::move(views[v].payload);
      RELAIS_ASSIGN_OR_RETURN(SealedEnvelope sealed,
                              client_->Seal(std::move(d)));
      RELAIS_RETURN_IF_ERROR(WriteFileAtomic(pending, sealed.bytes));
      out.push_back(std::move(sealed));
    }
  }
  return out;
}

void AdapterRuntime::ProcessFile(const std::string& name) {
  const std::string path = (fs::path(config_.inbox) / name).string();
  auto contents = ReadFile(path, kMaxInboxFile);
  if (!contents.ok()) {
    if (contents.status().code() == Status::Code::kInvalidArgument) {
      Reject(config_.inbox, name, contents.status().message());
    }
    return;  // gone or unreadable for now: next scan
  }
  auto sealed = SealFile(name, *contents);
  if (!sealed.ok()) {
    if (sealed.status().code() == Status::Code::kInvalidArgument) {
      Reject(config_.inbox, name, sealed.status().message());
    } else {
      spdlog::error("{}: {}", name, sealed.status().ToString());
    }
    return;
  }
  nlohmann::ordered_json receipts = nlohmann::ordered_json::array();
  for (size_t i = 0; i < sealed->size(); ++i) {
    const SealedEnvelope& env = (*sealed)[i];
    auto receipt = client_->Submit(env, std::chrono::seconds(30));
    if (!receipt.ok()) {
      if (receipt.status().code() == Status::Code::kRejected &&
          !IsRetryable(receipt.status().reject_code())) {
        Reject(config_.inbox, name,
               "message " + std::to_string(i + 1) +
                   " refused by the broker: " + receipt.status().ToString());
      } else {
        spdlog::warn("{}: will try again: {}", name,
                     receipt.status().ToString());
      }
      return;
    }
    auto view = ParseEnvelope(env.bytes);
    nlohmann::json to = nlohmann::json::array();
    if (view->header->recipients()) {
      for (const auto* r : *view->header->recipients()) to.push_back(r->str());
    }
    receipts.push_back(
        {{"case_id", std::string(view->case_id)},
         {"message_id", HexEncode(receipt->message_id)},
         {"recipients", std::move(to)},
         {"sequence", receipt->sequence},
         {"accepted_at", FormatTimestamp(receipt->accepted_at_ms)},
         {"duplicate", receipt->duplicate}});
  }
  if (!Done(config_.inbox, name, {{"file", name}, {"cases", receipts}})) {
    return;
  }
  DropPending(name);
  spdlog::info("{}: {} message(s) accepted", name, sealed->size());
}

void AdapterRuntime::Reject(const std::string& from, const std::string& name,
                            const std::string& why) {
  spdlog::warn("{}: rejected: {}", name, why);
  std::error_code ec;
  // The file first, then its .error: whoever sees the .error finds both.
  const fs::path target = fs::path(config_.rejected) / name;
  fs::rename(fs::path(from) / name, target, ec);
  Status st = WriteFileAtomic(target.string() + ".error", why + "\n");
  if (!st.ok() || ec) {
    spdlog::error("{}: cannot move to rejected/: {}{}", name,
                  st.ok() ? "" : st.ToString(), ec.message());
  }
  if (from == config_.inbox) DropPending(name);
}

bool AdapterRuntime::Done(const std::string& from, const std::string& name,
                          const nlohmann::ordered_json& receipt) {
  // The receipt first, then the file: whoever sees the file in done/ finds
  // its receipt, and a crash in between leaves the file to be sent again.
  Status st = WriteFileAtomic(
      (fs::path(config_.done) / (name + ".receipt.json")).string(),
      receipt.dump(2) + "\n");
  std::error_code ec;
  if (st.ok())
    fs::rename(fs::path(from) / name, fs::path(config_.done) / name, ec);
  if (!st.ok() || ec) {
    spdlog::error("{}: done but not moved to done/: {}{}", name,
                  st.ok() ? "" : st.ToString(), ec.message());
    return false;
  }
  return true;
}

std::optional<nlohmann::ordered_json> AdapterRuntime::ReadPartnerJson(
    const std::string& dir, const std::string& name, size_t max_bytes) {
  auto text = ReadFile((fs::path(dir) / name).string(), max_bytes);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kInvalidArgument) {
      Reject(dir, name, text.status().message());
    }
    return std::nullopt;  // gone or unreadable for now: next scan
  }
  auto doc = native::ParseJsonObject(*text);
  if (!doc.ok()) {
    Reject(dir, name, doc.status().message());
    return std::nullopt;
  }
  return std::move(*doc);
}

void AdapterRuntime::DropPending(const std::string& name) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(pending_dir_, ec)) {
    if (entry.path().filename().string().starts_with(name + ".")) {
      fs::remove(entry.path(), ec);
    }
  }
}

void AdapterRuntime::ScanSubjects() {
  for (const auto& name : ReadyFiles(config_.subjects, [](const auto& n) {
         return n.ends_with(".json");
       })) {
    if (stop_.load()) return;
    RegisterFile(name);
  }
}

void AdapterRuntime::RegisterFile(const std::string& name) {
  auto doc = ReadPartnerJson(config_.subjects, name, 4 << 20);
  if (!doc) return;
  if (config_.participant.subject_key.empty()) {
    return Reject(config_.subjects, name,
                  "this adapter has no subject key (subject_key)");
  }
  // The subject references of each list, every NIR checked first.
  std::map<std::string, std::vector<std::string>> refs;
  for (const auto& [key, value] : doc->items()) {
    if (key != "register" && key != "unregister") {
      return Reject(config_.subjects, name,
                    "field " + key + ": unknown (register or unregister)");
    }
    if (!value.is_array()) {
      return Reject(config_.subjects, name,
                    "field " + key + ": must be an array of NIRs");
    }
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string field = key + "[" + std::to_string(i) + "]";
      if (!value[i].is_string()) {
        return Reject(config_.subjects, name,
                      "field " + field + ": must be a NIR (a string)");
      }
      auto ref = SubjectRef(config_.participant.subject_key,
                            value[i].get<std::string>());
      if (!ref.ok()) {
        return Reject(config_.subjects, name,
                      "field " + field + ": " + ref.status().message());
      }
      refs[key].push_back(*ref);
    }
  }
  nlohmann::ordered_json receipt = nlohmann::ordered_json::object();
  for (const auto& [key, list] : refs) {
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
  if (!Done(config_.subjects, name, receipt)) return;
  spdlog::info("{}: subjects {}", name, receipt.dump());
}

void AdapterRuntime::ScanStatus() {
  for (const auto& name : ReadyFiles(config_.status, [](const auto& n) {
         return n.ends_with(".json");
       })) {
    if (stop_.load()) return;
    ReportFile(name);
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
  static const std::map<std::string, wire::RecipientState> kStates = {
      {"received", wire::RecipientState::Received},
      {"in_progress", wire::RecipientState::InProgress},
      {"done", wire::RecipientState::Done},
      {"rejected", wire::RecipientState::Rejected}};
  auto doc = ReadPartnerJson(config_.status, name, 64 << 10);
  if (!doc) return;
  const auto field = [&](const char* key) {
    auto it = doc->find(key);
    return it != doc->end() && it->is_string() ? it->get<std::string>()
                                               : std::string();
  };
  // The message: named, or this participant's latest of the case.
  Result<std::string> id = Status::InvalidArgument("");
  if (!field("message_id").empty()) {
    id = HexDecode(field("message_id"));
    if (!id.ok() || id->size() != 16) {
      return Reject(config_.status, name,
                    "field message_id: 32 hexadecimal digits expected");
    }
  } else if (!field("case_id").empty()) {
    id = LatestMessageTo(field("case_id"));
    if (!id.ok()) {
      if (id.status().code() == Status::Code::kRejected &&
          !IsRetryable(id.status().reject_code())) {
        return Reject(config_.status, name,
                      "field case_id: " + id.status().message());
      }
      spdlog::warn("{}: will try again: {}", name, id.status().ToString());
      return;
    }
  } else {
    return Reject(config_.status, name,
                  "field message_id or case_id: one is required");
  }
  auto state = kStates.find(field("status"));
  if (state == kStates.end()) {
    return Reject(config_.status, name,
                  "field status: received, in_progress, done or rejected "
                  "expected");
  }
  const std::string reason = field("reason");
  if (state->second == wire::RecipientState::Rejected && reason.empty()) {
    return Reject(config_.status, name, "field reason: required to reject");
  }
  auto recorded = client_->ReportStatus(*id, state->second, reason);
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
  std::error_code ec;
  fs::rename(fs::path(config_.status) / name, fs::path(config_.done) / name,
             ec);
  if (ec)
    spdlog::error("{}: recorded but not moved to done/: {}", name,
                  ec.message());
  spdlog::info("{}: message {} is {} here{}", name, HexEncode(*id),
               field("status"), recorded->changed ? "" : " (already)");
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
  auto file = translator_->WriteOutbox(env, *event);
  if (!file.ok()) return HandlerResult::Rejected(file.status().message());
  Status st = WriteFileAtomic((fs::path(config_.outbox) / file->name).string(),
                              file->contents);
  if (!st.ok()) return HandlerResult::Retry(st.ToString());
  spdlog::info("case {} ({}) from {} written to {}", std::string(env.case_id),
               CaseTypeName(env.header->case_type()), std::string(env.sender),
               file->name);
  return HandlerResult::Processed();
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
  Status st = WriteFileAtomic((fs::path(config_.done) / name).string(),
                              j.dump(2) + "\n");
  if (!st.ok()) return HandlerResult::Retry(st.ToString());
  spdlog::warn("case {}: message {} to {} is now {}: {}",
               std::string(StringView(r.case_id())),
               HexEncode(VectorBytes(r.message_id())).substr(0, 16),
               std::string(StringView(r.recipient())),
               wire::EnumNameRecipientState(r.state()),
               std::string(StringView(r.detail())));
  return HandlerResult::Processed();
}

int AdapterMain(int argc, char** argv, const char* name,
                std::unique_ptr<Translator> translator) {
  StopSignals& stop = StopSignals::Install();
  CLI::App app{std::string(name) + ": relais adapter"};
  std::string config_path;
  std::string log_level = "info";
  app.add_option("--config", config_path, "adapter TOML file")->required();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern(std::string("%Y-%m-%dT%H:%M:%S.%e %^%l%$ ") + name +
                      ": %v");
  auto config = LoadAdapterConfig(config_path);
  if (!config.ok()) {
    spdlog::critical("{}", config.status().ToString());
    return 2;
  }
  AdapterRuntime runtime(std::move(*config), std::move(translator));
  stop.OnStop([&runtime] { runtime.RequestStop(); });
  Status st = runtime.Run();
  stop.Clear();
  if (!st.ok()) {
    spdlog::critical("{}", st.ToString());
    return 1;
  }
  return 0;
}

}  // namespace relais::sdk
