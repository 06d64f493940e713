#include "adapters/france_services/case_desk.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "core/bytes.h"
#include "core/cases.h"
#include "core/crypto.h"
#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/ids.h"
#include "core/subject.h"

namespace relais::console {
namespace {

// "DUPONT Marie": the usage name (or birth name) and the first given name
// of the case's citizen; empty if the event names none.
std::string CitizenName(const wire::CaseEvent& event) {
  const wire::Citizen* citizen = PrimaryCitizen(event);
  if (citizen == nullptr || citizen->identity() == nullptr) return {};
  const wire::IdentityPivot* id = citizen->identity();
  std::string name = id->usage_name()   ? id->usage_name()->str()
                     : id->birth_name() ? id->birth_name()->str()
                                        : std::string();
  if (id->usage_name() && id->birth_name()) {
    name += " (" + id->birth_name()->str() + ")";
  }
  if (id->given_names() && id->given_names()->size() > 0) {
    name += " " + id->given_names()->Get(0)->str();
  }
  return name;
}

// The event with the mandate of the request where its case type carries
// one (an assisted case): the agent records it once.
nlohmann::json WithMandate(const CaseRequest& r) {
  nlohmann::json event = r.event;
  const auto type = event.find("body_type");
  const auto body = event.find("body");
  if (type != event.end() && *type == "AssistedCase" && body != event.end() &&
      body->is_object() && !body->contains("mandate")) {
    (*body)["mandate"] = {{"kind", r.mandate_kind}, {"date", r.mandate_date}};
  }
  return event;
}

// The record as the index has it now (after the receipts and reports).
Result<CaseRecord> Current(CaseIndex& index, const std::string& case_id) {
  RELAIS_ASSIGN_OR_RETURN(std::optional<CaseRecord> now, index.Find(case_id));
  if (!now) return Status::NotFound("case " + case_id + " left the index");
  return std::move(*now);
}

}  // namespace

std::string RequestDigest(const CaseRequest& r) {
  nlohmann::json attachments = nlohmann::json::array();
  for (const auto& a : r.attachments) {
    attachments.push_back(
        {a.name, a.media_type, HexEncode(crypto::Sha256(a.content))});
  }
  const nlohmann::json what = {
      {"event", r.event},
      {"recipients", r.recipients ? nlohmann::json(*r.recipients)
                                  : nlohmann::json("subscribers")},
      {"mandate", {r.mandate_kind, r.mandate_date}},
      {"attachments", std::move(attachments)}};
  return HexEncode(crypto::Sha256(what.dump()));
}

CaseDesk::CaseDesk(DeskOptions options, sdk::Client* client, CaseIndex* index,
                   const Clock* clock)
    : options_(std::move(options)),
      client_(client),
      index_(index),
      clock_(clock ? clock : Clock::System()) {}

Result<CheckOutcome> CaseDesk::Prepare(const CaseRequest& request,
                                       Prepared* out) {
  CheckOutcome check;
  const nlohmann::json event = WithMandate(request);
  RELAIS_ASSIGN_OR_RETURN(check.problems, CheckCaseEventJson(event));
  if (!check.problems.empty()) return check;
  auto payload = CaseEventFromJson(event.dump());
  if (!payload.ok()) {  // the checks above let through what it refuses
    // Not its message: the parser may quote the value, personal data.
    spdlog::error("console: a checked {} event does not convert",
                  event.value("body_type", std::string("?")));
    return Status::Internal("a checked case event does not convert");
  }
  out->payload = std::move(*payload);
  const auto* root = flatbuffers::GetRoot<wire::CaseEvent>(out->payload.data());
  out->case_type = static_cast<wire::CaseType>(root->body_type());
  out->citizen = CitizenName(*root);
  const wire::Citizen* citizen = PrimaryCitizen(*root);
  if (!options_.subject_key.empty() && citizen && citizen->nir()) {
    RELAIS_ASSIGN_OR_RETURN(
        out->subject_ref,
        SubjectRef(options_.subject_key, StringView(citizen->nir())));
  }
  if (request.recipients) {
    check.recipients = *request.recipients;
  } else {
    if (out->subject_ref.empty()) {
      return Status::InvalidArgument(
          "Sans le NIR de la personne, les organismes concernés ne peuvent "
          "pas être trouvés : choisissez-les.");
    }
    RELAIS_ASSIGN_OR_RETURN(check.recipients,
                            client_->Route(out->case_type, out->subject_ref,
                                           options_.broker_timeout));
    check.by_subscription = true;
    if (check.recipients.empty()) {
      return Status::InvalidArgument(
          "Aucun organisme raccordé ne suit cette personne pour ce type de "
          "dossier : choisissez les organismes.");
    }
  }
  for (const auto& r : check.recipients) {
    if (r == options_.site) {
      return Status::InvalidArgument(
          "Votre espace ne peut pas s'envoyer un dossier à lui-même.");
    }
  }
  RELAIS_ASSIGN_OR_RETURN(check.views,
                          ViewsFor(out->payload, check.recipients));
  return check;
}

Result<CheckOutcome> CaseDesk::Check(const CaseRequest& request) {
  Prepared prepared;
  return Prepare(request, &prepared);
}

Result<CaseRecord> CaseDesk::Seal(const CaseRequest& request,
                                  const Opener& opener, Prepared& prepared,
                                  CheckOutcome& check) {
  const int64_t now = clock_->NowMs();
  CaseRecord record;
  RELAIS_ASSIGN_OR_RETURN(record.case_id, NewCaseId(now));
  record.case_type = prepared.case_type;
  record.opened_at_ms = now;
  record.expires_at_ms =
      now + std::chrono::duration_cast<std::chrono::milliseconds>(options_.ttl)
                .count();
  record.agent_login = opener.login;
  record.agent_name = opener.name;
  record.citizen = prepared.citizen;
  record.mandate_kind = request.mandate_kind;
  record.mandate_date = request.mandate_date;
  record.request_sha256 = RequestDigest(request);
  for (const auto& a : request.attachments) {
    record.attachments.push_back({a.name, a.media_type, a.content.size()});
  }
  // Each view carries the documents and who opened it at the counter:
  // signed with the case, named in relaisd's trail.
  const CounterAssistance assistance{opener.login,
                                     request.mandate_kind == "Written"
                                         ? wire::MandateKind::Written
                                         : wire::MandateKind::Oral,
                                     request.mandate_date};
  for (const auto& r : check.recipients) {
    // No time yet: only the broker's times order what happens to it.
    record.recipients.push_back({r, wire::RecipientState::Sent, 0, {}});
  }
  for (PayloadView& view : check.views) {
    EnvelopeDraft d;
    d.case_id = record.case_id;
    d.case_type = prepared.case_type;
    d.subject_ref = prepared.subject_ref;
    RELAIS_ASSIGN_OR_RETURN(
        d.payload,
        WithCaseExtras(view.payload, request.attachments, assistance));
    d.recipients = view.recipients;
    d.created_at_ms = now;
    RELAIS_ASSIGN_OR_RETURN(SealedEnvelope sealed,
                            client_->Seal(std::move(d), options_.ttl));
    record.messages.push_back({view.recipients, std::move(sealed.bytes), 0, 0});
  }
  return record;
}

Result<bool> CaseDesk::SubmitPending(CaseRecord& record) {
  bool completed = false;
  for (size_t i = 0; i < record.messages.size(); ++i) {
    KeptMessage& m = record.messages[i];
    if (m.sequence != 0) continue;
    auto view = ParseEnvelope(m.envelope);
    if (!view.ok()) {
      return Status::Corruption("a kept envelope of case " + record.case_id +
                                " is damaged");
    }
    SealedEnvelope envelope{std::string(view->message_id), m.envelope,
                            crypto::Sha256(view->header_bytes)};
    auto receipt = client_->Submit(envelope, options_.broker_timeout);
    if (!receipt.ok()) return receipt.status();
    // Recorded in the index by itself: reports may have changed the case
    // meanwhile, and this copy is older.
    RELAIS_ASSIGN_OR_RETURN(
        const bool last, index_->Accepted(record.case_id, i, receipt->sequence,
                                          receipt->accepted_at_ms));
    completed = completed || last;
    m.sequence = receipt->sequence;
  }
  return completed;
}

void CaseDesk::LogOpened(const Opener& opener, const CaseRecord& record,
                         std::string_view after) {
  spdlog::info(
      "console: {} opened case {} ({} message(s), {} recipient(s)){}",
      opener.login, record.case_id, record.messages.size(),
      record.recipients.size(),
      after.empty() ? std::string() : ", sent again" + std::string(after));
}

Result<OpenOutcome> CaseDesk::Again(const CaseRequest& request,
                                    CaseRecord earlier, const Opener& opener) {
  OpenOutcome out;
  if (earlier.request_sha256 != RequestDigest(request)) {
    out.reused_by = earlier.case_id;
    return out;
  }
  out.again = true;
  RELAIS_ASSIGN_OR_RETURN(const bool completed, SubmitPending(earlier));
  // The first send was cut short (relaisd away): the case is opened now.
  if (completed) LogOpened(opener, earlier, " after an interruption");
  RELAIS_ASSIGN_OR_RETURN(out.record, Current(*index_, earlier.case_id));
  return out;
}

Result<OpenOutcome> CaseDesk::Open(const CaseRequest& request,
                                   const Opener& opener) {
  RELAIS_ASSIGN_OR_RETURN(std::optional<CaseRecord> earlier,
                          index_->ByRequest(request.request_id));
  if (earlier) return Again(request, std::move(*earlier), opener);
  OpenOutcome out;
  Prepared prepared;
  RELAIS_ASSIGN_OR_RETURN(out.check, Prepare(request, &prepared));
  if (!out.check.problems.empty()) return out;
  RELAIS_ASSIGN_OR_RETURN(CaseRecord record,
                          Seal(request, opener, prepared, out.check));
  {
    // Two sends of one form at once: the second finds the first's case
    // here and sends its envelopes instead of its own.
    std::lock_guard<std::mutex> lock(open_mu_);
    RELAIS_ASSIGN_OR_RETURN(earlier, index_->ByRequest(request.request_id));
    if (!earlier)
      RELAIS_RETURN_IF_ERROR(index_->Add(record, request.request_id));
  }
  if (earlier) return Again(request, std::move(*earlier), opener);
  Result<bool> completed = SubmitPending(record);
  const Status st = completed.status();
  const bool none_accepted = record.messages.front().sequence == 0;
  if (!st.ok() && st.code() == Status::Code::kRejected && none_accepted &&
      st.reject_code() != wire::RejectCode::Overloaded &&
      st.reject_code() != wire::RejectCode::JournalUnavailable &&
      st.reject_code() != wire::RejectCode::ShuttingDown) {
    // Refused for good before anything was accepted: no case was opened,
    // and the form may be corrected and sent again.
    RELAIS_RETURN_IF_ERROR(index_->Remove(record.case_id));
  }
  RELAIS_RETURN_IF_ERROR(st);
  // Logged by whichever send recorded the last receipt: once, even when
  // the same form was sent twice at once.
  if (*completed) LogOpened(opener, record, "");
  RELAIS_ASSIGN_OR_RETURN(out.record, Current(*index_, record.case_id));
  return out;
}

Result<std::optional<CaseRecord>> CaseDesk::Get(const std::string& case_id,
                                                bool refresh) {
  // Another site's case, or none: not in this index, and relaisd is not
  // asked about it.
  RELAIS_ASSIGN_OR_RETURN(std::optional<CaseRecord> known,
                          index_->Find(case_id));
  if (!known) return known;
  if (refresh) {
    auto state = client_->QueryCase(case_id, options_.refresh_timeout);
    if (state.ok()) {
      RELAIS_RETURN_IF_ERROR(index_->ApplyState(case_id, *state));
    } else if (state.status().code() != Status::Code::kTimeout &&
               state.status().code() != Status::Code::kUnavailable &&
               !(state.status().code() == Status::Code::kRejected &&
                 state.status().reject_code() ==
                     wire::RejectCode::UnknownCase)) {
      spdlog::warn("console: the state of case {} could not be read: {}",
                   case_id, state.status().ToString());
    }
  }
  return index_->Find(case_id);
}

Result<std::vector<CaseRecord>> CaseDesk::List(const CaseFilter& filter) {
  (void)index_->Prune(clock_->NowMs());
  return index_->List(filter);
}

sdk::HandlerResult RecordReport(CaseIndex& index,
                                const sdk::Delivery& delivery) {
  const wire::StatusReport* report = sdk::AsStatusReport(*delivery.envelope);
  if (report == nullptr) {
    return sdk::HandlerResult::Rejected(
        "a France services console receives status reports only");
  }
  const std::string case_id =
      report->case_id() ? report->case_id()->str() : std::string();
  const std::string recipient =
      report->recipient() ? report->recipient()->str() : std::string();
  Status st = index.ApplyReport(
      case_id, recipient, report->state(), report->at_ms(),
      report->detail() ? report->detail()->str() : std::string());
  if (!st.ok()) {
    spdlog::error(
        "console: a status report about case {} is not recorded "
        "yet: {}",
        case_id, st.ToString());
    return sdk::HandlerResult::Retry(st.message());
  }
  return sdk::HandlerResult::Processed();
}

}  // namespace relais::console
