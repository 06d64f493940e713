#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/sdk/client.h"
#include "adapters/sdk/client_config.h"
#include "cli/case_render.h"
#include "cli/commands.h"
#include "core/bytes.h"
#include "core/cases.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/minimise.h"
#include "core/subject.h"

namespace relais::cli {
namespace {

int Fail(int code, const std::string& what, const Status& st) {
  std::fprintf(stderr, "relais %s: %s\n", what.c_str(), st.ToString().c_str());
  return code;
}

// The exit code for a failed request: 3 if the broker refused it.
int FailRequest(const std::string& what, const Status& st) {
  return Fail(st.code() == Status::Code::kRejected ? 3 : 1, what, st);
}

Result<std::unique_ptr<sdk::Client>> Connect(const std::string& config,
                                             sdk::ParticipantConfig* out) {
  RELAIS_ASSIGN_OR_RETURN(*out, sdk::LoadParticipantConfig(config));
  sdk::ClientOptions options = out->client;
  options.window = 0;  // submit and query only
  // One-shot: the command waits for the answer and says if there is none;
  // the participant's adapter may hold its local store meanwhile.
  options.state_dir.clear();
  return sdk::Client::Start(std::move(options));
}

// The case file: {"case_id"?, "recipients": [...] or "subscribers",
// "ttl_hours"?, "event": <CaseEvent JSON>} (docs/CASES.md). "subscribers"
// leaves the draft's recipients empty: the broker names them (RouteQuery).
Result<EnvelopeDraft> ReadCaseFile(const std::string& path,
                                   const std::string& subject_key,
                                   int* ttl_hours) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 8 << 20));
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument(path + " is not a JSON object");
  }
  const bool subscribers =
      doc.contains("recipients") && doc["recipients"] == "subscribers";
  if (!doc.contains("recipients") ||
      (!doc["recipients"].is_array() && !subscribers) ||
      !doc.contains("event") || !doc["event"].is_object()) {
    return Status::InvalidArgument(
        path +
        " needs \"recipients\" (an array, or \"subscribers\") and \"event\"");
  }
  EnvelopeDraft d;
  for (const auto& r :
       subscribers ? nlohmann::json::array() : doc["recipients"]) {
    if (!r.is_string())
      return Status::InvalidArgument("recipients must be strings");
    d.recipients.push_back(r.get<std::string>());
  }
  d.case_id = doc.value("case_id", std::string());
  if (d.case_id.empty()) {
    RELAIS_ASSIGN_OR_RETURN(d.case_id, NewCaseId(Clock::System()->NowMs()));
  }
  *ttl_hours = doc.value("ttl_hours", 24 * 7);
  RELAIS_ASSIGN_OR_RETURN(d.payload, CaseEventFromJson(doc["event"].dump()));
  const auto* event = flatbuffers::GetRoot<wire::CaseEvent>(d.payload.data());
  d.case_type = static_cast<wire::CaseType>(event->body_type());
  const wire::Citizen* citizen = PrimaryCitizen(*event);
  if (!subject_key.empty() && citizen && citizen->nir()) {
    auto ref = SubjectRef(subject_key, StringView(citizen->nir()));
    if (!ref.ok()) {
      return Status::InvalidArgument("citizen NIR: " + ref.status().message());
    }
    d.subject_ref = *ref;
  }
  return d;
}

}  // namespace

int CaseOpen(const CaseOpenArgs& a) {
  sdk::ParticipantConfig config;
  auto client = Connect(a.config, &config);
  if (!client.ok()) return Fail(2, "case open", client.status());
  int ttl_hours = 0;
  auto draft = ReadCaseFile(a.file, config.subject_key, &ttl_hours);
  if (!draft.ok()) return Fail(2, "case open", draft.status());
  if (draft->recipients.empty()) {  // "subscribers": ask the broker
    if (draft->subject_ref.empty()) {
      return Fail(2, "case open",
                  Status::InvalidArgument(
                      "routing by subscription needs the citizen's NIR and "
                      "the subject key"));
    }
    auto routed = (*client)->Route(draft->case_type, draft->subject_ref,
                                   std::chrono::seconds(a.timeout_s));
    if (!routed.ok()) return FailRequest("case open", routed.status());
    if (routed->empty()) {
      return Fail(2, "case open",
                  Status::InvalidArgument(
                      "no agency holds a file on this citizen for " +
                      std::string(CaseTypeName(draft->case_type)) +
                      " (routing by subscription)"));
    }
    draft->recipients = std::move(*routed);
  }
  // One envelope per view of the event (data minimisation), all in the
  // same case.
  auto views = ViewsFor(draft->payload, draft->recipients);
  if (!views.ok()) return Fail(2, "case open", views.status());
  nlohmann::json messages = nlohmann::json::array();
  for (PayloadView& view : *views) {
    EnvelopeDraft d = *draft;
    d.payload = std::move(view.payload);
    d.recipients = view.recipients;
    auto sealed = (*client)->Seal(std::move(d), std::chrono::hours(ttl_hours));
    if (!sealed.ok()) return Fail(2, "case open", sealed.status());
    auto receipt =
        (*client)->Submit(*sealed, std::chrono::seconds(a.timeout_s));
    if (!receipt.ok()) return FailRequest("case open", receipt.status());
    messages.push_back(
        {{"message_id", HexEncode(receipt->message_id)},
         {"recipients", view.recipients},
         {"sequence", receipt->sequence},
         {"accepted_at", FormatTimestamp(receipt->accepted_at_ms)},
         {"duplicate", receipt->duplicate}});
  }
  if (a.json) {
    const nlohmann::json out = {{"case_id", draft->case_id},
                                {"messages", messages}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("case %s accepted:\n", draft->case_id.c_str());
    for (const auto& m : messages) {
      std::string to;
      for (const auto& r : m["recipients"]) {
        to += (to.empty() ? "" : ", ") + r.get<std::string>();
      }
      std::printf(
          "  message %s to %s, sequence %llu, at %s\n",
          m["message_id"].get<std::string>().c_str(), to.c_str(),
          static_cast<unsigned long long>(m["sequence"].get<uint64_t>()),
          m["accepted_at"].get<std::string>().c_str());
    }
  }
  return 0;
}

int CaseStatus(const CaseStatusArgs& a) {
  const int wanted = a.wait_for.empty() ? -1 : StateRankOf(a.wait_for);
  if (!a.wait_for.empty() && wanted < 0) {
    std::fprintf(stderr, "relais case status: unknown status '%s'\n",
                 a.wait_for.c_str());
    return 2;
  }
  sdk::ParticipantConfig config;
  auto client = Connect(a.config, &config);
  if (!client.ok()) return Fail(2, "case status", client.status());
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
      return wanted < 0 || reached ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace relais::cli
