#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/sdk/client.h"
#include "adapters/sdk/client_config.h"
#include "cli/case_file.h"
#include "cli/case_render.h"
#include "cli/commands.h"
#include "core/bytes.h"
#include "core/cases.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/envelope.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/minimise.h"
#include "core/subject.h"
#include "core/text.h"

namespace relais::cli {
namespace {

int Fail(int code, const std::string& what, const Status& st) {
  std::fprintf(stderr, "relais %s: %s\n", what.c_str(), Said(st).c_str());
  return code;
}

// The exit code for a failed request (commands.h).
int FailRequest(const std::string& what, const Status& st) {
  return Fail(ExitCodeOf(st), what, st);
}

Result<std::unique_ptr<sdk::Client>> Connect(const sdk::ParticipantConfig& c,
                                             std::chrono::seconds timeout) {
  sdk::ClientOptions options = c.client;
  options.window = 0;  // submit and query only
  // One-shot: the command waits for the answer and says if there is none;
  // the participant's adapter may hold its local store meanwhile.
  options.state_dir.clear();
  const std::string endpoint = options.endpoint;
  RELAIS_ASSIGN_OR_RETURN(auto client, sdk::Client::Start(std::move(options)));
  if (Status st = client->WaitConnected(timeout); !st.ok()) {
    if (st.code() == Status::Code::kTimeout) {
      return Status::Timeout("could not reach relaisd at " + endpoint +
                             " within " + std::to_string(timeout.count()) +
                             " s; nothing was sent");
    }
    return st;
  }
  return client;
}

// What `relais case open` keeps of each case it opened, so that running it
// again (after a timeout, a lost answer, a second click) sends the same
// envelopes and gets relaisd's first receipts instead of opening a second
// case (docs/PROTOCOL.md §8). One JSON file per idempotency key in
// <state_dir>/opened/, written and synced before the first submit, removed
// a day after its envelopes expire.
class OpenedCases {
 public:
  OpenedCases(const sdk::ParticipantConfig& config, const std::string& key)
      : dir_(Dir(config)),
        path_(dir_ + "/" +
              HexEncode(crypto::Sha256(config.client.identity.participant +
                                       "\n" + key))
                  .substr(0, 32) +
              ".json") {}

  // The record of an earlier run with this key, if any.
  Result<std::optional<nlohmann::json>> Find() const {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) {
      return std::optional<nlohmann::json>();
    }
    RELAIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path_, 64 << 20));
    auto record = nlohmann::json::parse(text, nullptr, false);
    if (record.is_discarded() || !record.is_object() ||
        !record.contains("messages") || !record["messages"].is_array()) {
      return Status::Corruption(path_ +
                                " is damaged: remove it to open the case "
                                "anew (check first that it was not opened)");
    }
    return std::optional<nlohmann::json>(std::move(record));
  }

  // The record holds the sealed envelopes, the citizen's data with them:
  // the folder and the file are for their owner alone.
  Status Keep(const nlohmann::json& record) const {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (!ec) fs::permissions(dir_, fs::perms::owner_all, ec);
    if (ec) {
      return Status::IOError("cannot create " + dir_ + ": " + ec.message());
    }
    return WriteFileAtomic(path_, record.dump(1), 0600);
  }

  // Removes the records whose envelopes expired over a day ago.
  void Prune(int64_t now_ms) const {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
      auto text = ReadFile(e.path().string(), 64 << 20);
      if (!text.ok()) continue;
      auto record = nlohmann::json::parse(*text, nullptr, false);
      const auto expires =
          record.is_object() ? record.find("expires_at_ms") : record.end();
      if (expires != record.end() && expires->is_number_integer() &&
          expires->get<int64_t>() + 24 * 3600 * 1000LL < now_ms) {
        std::filesystem::remove(e.path(), ec);
      }
    }
  }

  const std::string& path() const { return path_; }

 private:
  static std::string Dir(const sdk::ParticipantConfig& c) {
    const std::string state = c.client.state_dir.empty()
                                  ? sdk::ResolvePath(c.base_dir, "state")
                                  : c.client.state_dir;
    return state + "/opened";
  }

  std::string dir_;
  std::string path_;
};

void PrintCheck(const CaseFile& file, const std::vector<std::string>& to,
                const std::vector<PayloadView>& views, bool as_json) {
  nlohmann::ordered_json out = {{"case_type", CaseTypeName(file.case_type)},
                                {"recipients", to},
                                {"views", nlohmann::ordered_json::array()}};
  for (const PayloadView& v : views) {
    auto event = CaseEventToJson(v.payload);
    out["views"].push_back(
        {{"recipients", v.recipients},
         {"event", event.ok() ? nlohmann::ordered_json::parse(*event)
                              : nlohmann::ordered_json()}});
  }
  if (as_json) {
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  auto list = [](const std::vector<std::string>& names) {
    std::string text;
    for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
    return text;
  };
  std::printf("valid %s case; nothing sent.\nrecipients: %s\n",
              std::string(CaseTypeName(file.case_type)).c_str(),
              list(to).c_str());
  for (size_t i = 0; i < views.size(); ++i) {
    std::printf("\nwhat %s receive%s (view %zu of %zu):\n%s\n",
                list(views[i].recipients).c_str(),
                views[i].recipients.size() == 1 ? "s" : "", i + 1, views.size(),
                out["views"][i]["event"].dump(2).c_str());
  }
}

// Submits each envelope of `record` in turn; prints the receipts.
int SubmitAll(sdk::Client& client, const nlohmann::json& record,
              const CaseOpenArgs& a, const std::string& endpoint, bool again) {
  const std::string case_id = record["case_id"];
  const size_t n = record["messages"].size();
  nlohmann::json messages = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) {
    const nlohmann::json& m = record["messages"][i];
    auto bytes = HexDecode(m["envelope"].get<std::string>());
    auto view = bytes.ok() ? ParseEnvelope(*bytes)
                           : Result<EnvelopeView>(bytes.status());
    if (!view.ok()) {
      return Fail(kExitFailure, "case open",
                  Status::Corruption("a kept envelope in the record of this "
                                     "case is damaged: " +
                                     view.status().message()));
    }
    const std::string id = HexEncode(view->message_id);
    SealedEnvelope envelope{std::string(view->message_id), *bytes,
                            crypto::Sha256(view->header_bytes)};
    auto receipt = client.Submit(envelope, std::chrono::seconds(a.timeout_s));
    if (!receipt.ok()) {
      const std::string which = "message " + id + " (" + std::to_string(i + 1) +
                                " of " + std::to_string(n) + ") of case " +
                                case_id;
      if (receipt.status().code() == Status::Code::kTimeout) {
        return Fail(kExitNoAnswer, "case open",
                    Status::Timeout(
                        "no answer from relaisd at " + endpoint + " within " +
                        std::to_string(a.timeout_s) + " s to " + which +
                        ": whether it was accepted is unknown. Run the same "
                        "command again: relaisd answers with its first "
                        "receipt if it was, and the case is opened once"));
      }
      return Fail(ExitCodeOf(receipt.status()), "case open",
                  receipt.status().Annotated(which + ": "));
    }
    messages.push_back(
        {{"message_id", id},
         {"recipients", m["recipients"]},
         {"sequence", receipt->sequence},
         {"accepted_at", FormatTimestamp(receipt->accepted_at_ms)},
         {"duplicate", receipt->duplicate}});
  }
  if (a.json) {
    const nlohmann::json out = {
        {"case_id", case_id}, {"again", again}, {"messages", messages}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  if (again) {
    std::printf(
        "case %s was already opened from this %s; relaisd's first "
        "receipts:\n",
        case_id.c_str(),
        a.idempotency_key.empty() ? "file" : "idempotency key");
  } else {
    std::printf("case %s accepted:\n", case_id.c_str());
  }
  for (const auto& m : messages) {
    std::string to;
    for (const auto& r : m["recipients"]) {
      to += (to.empty() ? "" : ", ") + r.get<std::string>();
    }
    std::printf("  message %s to %s, sequence %llu, at %s\n",
                m["message_id"].get<std::string>().c_str(), to.c_str(),
                static_cast<unsigned long long>(m["sequence"].get<uint64_t>()),
                m["accepted_at"].get<std::string>().c_str());
  }
  return 0;
}

}  // namespace

std::string Said(const Status& st) {
  return st.code() == Status::Code::kRejected ? st.ToString() : st.message();
}

int ExitCodeOf(const Status& st) {
  switch (st.code()) {
    case Status::Code::kOk:
      return kExitOk;
    case Status::Code::kInvalidArgument:
      return kExitUsage;
    case Status::Code::kRejected:
      return st.reject_code() == wire::RejectCode::ShuttingDown ? kExitNoAnswer
                                                                : kExitRefused;
    case Status::Code::kTimeout:
    case Status::Code::kUnavailable:
      return kExitNoAnswer;
    default:
      return kExitFailure;
  }
}

namespace {

// The recipients the broker names for `file` by subscription (RouteQuery).
// InvalidArgument when there is no one to ask about or no one named; the
// request's own error otherwise. Nothing is sent either way.
Result<std::vector<std::string>> RecipientsBySubscription(
    sdk::Client& client, const CaseFile& file, const std::string& subject_ref,
    std::chrono::seconds timeout) {
  if (subject_ref.empty()) {
    return Status::InvalidArgument(
        "routing by subscription needs the citizen's NIR and the subject "
        "key; nothing was sent");
  }
  auto routed = client.Route(file.case_type, subject_ref, timeout);
  if (!routed.ok()) {
    return routed.status().Annotated(
        "nothing was sent; the route query (routing by subscription): ");
  }
  if (routed->empty()) {
    return Status::InvalidArgument(
        "no agency holds a file on this citizen for " +
        std::string(CaseTypeName(file.case_type)) +
        " (routing by subscription); nothing was sent");
  }
  return std::move(*routed);
}

// One sealed envelope per view of the case (data minimisation), all in
// `case_id`, as the record kept before sending ("case_id",
// "opened_at_ms", "expires_at_ms", "messages": [{"recipients",
// "envelope"}]).
Result<nlohmann::json> SealCase(sdk::Client& client, const CaseFile& file,
                                std::vector<PayloadView>& views,
                                const std::string& case_id,
                                const std::string& subject_ref, int64_t now) {
  nlohmann::json record = {{"case_id", case_id},
                           {"opened_at_ms", now},
                           {"expires_at_ms", 0},
                           {"messages", nlohmann::json::array()}};
  for (PayloadView& view : views) {
    EnvelopeDraft d;
    d.case_id = case_id;
    d.case_type = file.case_type;
    d.subject_ref = subject_ref;
    d.payload = std::move(view.payload);
    d.recipients = view.recipients;
    d.created_at_ms = now;
    RELAIS_ASSIGN_OR_RETURN(
        SealedEnvelope sealed,
        client.Seal(std::move(d), std::chrono::hours(file.ttl_hours)));
    record["expires_at_ms"] = now + int64_t(file.ttl_hours) * 3600 * 1000;
    record["messages"].push_back({{"recipients", view.recipients},
                                  {"envelope", HexEncode(sealed.bytes)}});
  }
  return record;
}

// The case this idempotency key already opened, if any, from the same
// file; InvalidArgument if it opened one from another file.
Result<std::optional<nlohmann::json>> EarlierOpening(const OpenedCases& opened,
                                                     const CaseOpenArgs& a,
                                                     std::string_view text) {
  RELAIS_ASSIGN_OR_RETURN(std::optional<nlohmann::json> earlier, opened.Find());
  if (earlier &&
      earlier->value("file_sha256", "") != HexEncode(crypto::Sha256(text))) {
    return Status::InvalidArgument(
        "the idempotency key '" + Escaped(a.idempotency_key, 64) +
        "' already opened case " + earlier->value("case_id", std::string("?")) +
        " from another file; use a new key for a new case");
  }
  return earlier;
}

// The subject reference of the case's citizen, with the participant's
// subject key; empty without a key or a NIR.
Result<std::string> SubjectRefOf(const sdk::ParticipantConfig& config,
                                 const CaseFile& file) {
  const auto* event =
      flatbuffers::GetRoot<wire::CaseEvent>(file.payload.data());
  const wire::Citizen* citizen = PrimaryCitizen(*event);
  if (config.subject_key.empty() || !citizen || !citizen->nir()) {
    return std::string();
  }
  return SubjectRef(config.subject_key, StringView(citizen->nir()));
}

}  // namespace

int CaseOpen(const CaseOpenArgs& a) {
  auto config = sdk::LoadParticipantConfig(a.config, std::chrono::seconds(5));
  if (!config.ok()) return Fail(kExitUsage, "case open", config.status());
  auto text = ReadFile(a.file, 8 << 20);
  if (!text.ok()) return Fail(kExitUsage, "case open", text.status());
  const std::string& sender = config->client.identity.participant;
  auto file = ParseCaseFile(*text, a.file, sender);
  if (!file.ok()) {
    std::fprintf(stderr, "relais case open: the case was not sent:\n%s\n",
                 file.status().message().c_str());
    return kExitUsage;
  }
  const auto timeout = std::chrono::seconds(a.timeout_s);
  if (a.check && !file->subscribers) {
    auto views = ViewsFor(file->payload, file->recipients);
    if (!views.ok()) return Fail(kExitUsage, "case open", views.status());
    PrintCheck(*file, file->recipients, *views, a.json);
    return kExitOk;
  }

  const std::string key = a.idempotency_key.empty()
                              ? "file:" + HexEncode(crypto::Sha256(*text))
                              : "key:" + a.idempotency_key;
  const OpenedCases opened(*config, key);
  const int64_t now = Clock::System()->NowMs();
  opened.Prune(now);
  auto earlier = a.check ? Result<std::optional<nlohmann::json>>(
                               std::optional<nlohmann::json>())
                         : EarlierOpening(opened, a, *text);
  if (!earlier.ok()) {
    return Fail(earlier.status().code() == Status::Code::kInvalidArgument
                    ? kExitUsage
                    : kExitFailure,
                "case open", earlier.status());
  }

  auto client = Connect(*config, timeout);
  if (!client.ok()) return FailRequest("case open", client.status());
  const std::string& endpoint = config->client.endpoint;
  if (*earlier) return SubmitAll(**client, **earlier, a, endpoint, true);

  std::vector<std::string> recipients = file->recipients;
  auto subject_ref = SubjectRefOf(*config, *file);
  if (!subject_ref.ok()) {
    return Fail(kExitUsage, "case open", subject_ref.status());
  }
  if (file->subscribers) {  // ask the broker
    auto routed =
        RecipientsBySubscription(**client, *file, *subject_ref, timeout);
    if (!routed.ok()) {
      return routed.status().code() == Status::Code::kInvalidArgument
                 ? Fail(kExitUsage, "case open", routed.status())
                 : FailRequest("case open", routed.status());
    }
    recipients = std::move(*routed);
  }
  // One envelope per view of the event (data minimisation), all in the
  // same case.
  auto views = ViewsFor(file->payload, recipients);
  if (!views.ok()) return Fail(kExitUsage, "case open", views.status());
  if (a.check) {
    PrintCheck(*file, recipients, *views, a.json);
    return kExitOk;
  }
  std::string case_id = file->case_id;
  if (case_id.empty()) {
    auto drawn = NewCaseId(now);
    if (!drawn.ok()) return Fail(kExitFailure, "case open", drawn.status());
    case_id = *drawn;
  }
  auto record = SealCase(**client, *file, *views, case_id, *subject_ref, now);
  if (!record.ok()) return Fail(kExitFailure, "case open", record.status());
  (*record)["file_sha256"] = HexEncode(crypto::Sha256(*text));
  if (Status st = opened.Keep(*record); !st.ok()) {
    return Fail(kExitFailure, "case open",
                st.Annotated("nothing was sent: cannot keep the case before "
                             "sending it: "));
  }
  return SubmitAll(**client, *record, a, endpoint, false);
}

int CaseStatus(const CaseStatusArgs& a) {
  const int wanted = a.wait_for.empty() ? -1 : StateRankOf(a.wait_for);
  if (!a.wait_for.empty() && wanted < 0) {
    std::fprintf(stderr,
                 "relais case status: --wait-for: unknown status '%s' (one "
                 "of sent, delivered, received, in_progress, done)\n",
                 Escaped(a.wait_for, 64).c_str());
    return kExitUsage;
  }
  if (!IsValidCaseId(a.case_id)) {
    std::fprintf(stderr,
                 "relais case status: '%s' is not a case id (1 to 64 "
                 "characters of A-Z a-z 0-9 . _ : -)\n",
                 Escaped(a.case_id, 80).c_str());
    return kExitUsage;
  }
  auto config = sdk::LoadParticipantConfig(a.config, std::chrono::seconds(5));
  if (!config.ok()) return Fail(kExitUsage, "case status", config.status());
  auto client = Connect(*config, std::chrono::seconds(a.timeout_s));
  if (!client.ok()) return FailRequest("case status", client.status());
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(a.timeout_s);
  for (;;) {
    auto state =
        (*client)->QueryCase(a.case_id, std::chrono::seconds(a.timeout_s));
    if (!state.ok()) return FailRequest("case status", state.status());
    const wire::CaseState* s = ParseCaseState(*state);
    bool reached = true, failed = false;
    for (const auto* r : *s->recipients()) {
      reached = reached && StateRank(r->state()) >= wanted;
      failed = failed || StateRank(r->state()) < 0;
    }
    const bool done = wanted < 0 || reached || failed ||
                      std::chrono::steady_clock::now() >= deadline;
    if (done) {
      if (a.json) {
        std::printf("%s\n", CaseStateToJson(*s).dump(2).c_str());
      } else {
        std::printf("%s", CaseStateToText(*s).c_str());
      }
      if (wanted < 0 || reached) return kExitOk;
      std::fprintf(
          stderr, "relais case status: not every recipient reached %s%s\n",
          a.wait_for.c_str(), failed ? " (a recipient failed)" : " in time");
      return kExitFailure;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace relais::cli
