// The console API's case endpoints (console_api.h; docs/CONSOLE.md,
// "Cases").

#include <spdlog/spdlog.h>

#include "adapters/france_services/case_requests.h"
#include "adapters/france_services/console_api.h"
#include "adapters/france_services/french.h"
#include "core/cases.h"
#include "core/ids.h"

namespace relais::console {
namespace {

using ojson = nlohmann::ordered_json;

ojson AgencyJson(const std::string& id) {
  return ojson{{"id", id}, {"label", AgencyLabel(id)}};
}

ojson CaseSummaryJson(const CaseRecord& r) {
  const CaseProgress progress = ProgressOf(r);
  ojson recipients = ojson::array();
  for (const auto& s : r.recipients) {
    recipients.push_back({{"id", s.id},
                          {"label", AgencyLabel(s.id)},
                          {"state", wire::EnumNameRecipientState(s.state)},
                          {"state_label", StateLabel(s.state)},
                          {"updated_at_ms", s.updated_at_ms},
                          {"reason", s.reason}});
  }
  return ojson{{"case_id", r.case_id},
               {"case_type", CaseTypeName(r.case_type)},
               {"case_type_label", CaseTypeLabel(r.case_type)},
               {"opened_at_ms", r.opened_at_ms},
               {"agent", {{"login", r.agent_login}, {"name", r.agent_name}}},
               {"citizen", r.citizen},
               {"progress", ProgressName(progress)},
               {"progress_label", ProgressLabel(progress)},
               {"recipients", std::move(recipients)}};
}

ojson CaseJson(const CaseRecord& r) {
  ojson out = CaseSummaryJson(r);
  out["expires_at_ms"] = r.expires_at_ms;
  out["mandate"] = {{"kind", r.mandate_kind}, {"date", r.mandate_date}};
  ojson attachments = ojson::array();
  for (const auto& a : r.attachments) {
    attachments.push_back(
        {{"name", a.name}, {"media_type", a.media_type}, {"bytes", a.bytes}});
  }
  out["attachments"] = std::move(attachments);
  ojson history = ojson::array();
  for (const auto& h : r.history) {
    history.push_back({{"at_ms", h.at_ms},
                       {"recipient", AgencyJson(h.recipient)},
                       {"state", wire::EnumNameRecipientState(h.state)},
                       {"state_label", StateLabel(h.state)},
                       {"detail", h.detail}});
  }
  out["history"] = std::move(history);
  ojson messages = ojson::array();
  for (const auto& m : r.messages) {
    messages.push_back({{"recipients", m.recipients},
                        {"sequence", m.sequence},
                        {"accepted_at_ms", m.accepted_at_ms}});
  }
  out["messages"] = std::move(messages);
  return out;
}

ojson ProblemsJson(const std::vector<CaseProblem>& problems) {
  ojson out = ojson::array();
  for (const auto& p : problems) {
    out.push_back({{"field", p.where.to_string()},
                   {"path", p.Path()},
                   {"rule", CaseRuleName(p.rule)},
                   {"message", ProblemMessage(p)}});
  }
  return out;
}

ojson CheckJson(const CheckOutcome& c) {
  ojson recipients = ojson::array();
  for (const auto& r : c.recipients) recipients.push_back(AgencyJson(r));
  ojson views = ojson::array();
  for (const auto& v : c.views) {
    auto event = CaseEventJson(v.payload);
    views.push_back({{"recipients", v.recipients},
                     {"event", event.ok() ? std::move(*event) : ojson()}});
  }
  return ojson{{"problems", ProblemsJson(c.problems)},
               {"recipients", std::move(recipients)},
               {"by_subscription", c.by_subscription},
               {"views", std::move(views)}};
}

ApiReply BadRequest(const Status& st) {
  return ApiError(400, "bad_request", st.message());
}

// The desk's error as an answer: the agent's mistake (400, 409), the
// broker's refusal (422) or absence (503), or a fault of the console (500).
ApiReply DeskError(const Status& st, std::string_view what) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
      return ApiError(400, "case_not_sendable", st.message());
    case Status::Code::kTimeout:
    case Status::Code::kUnavailable:
      return ApiError(503, "relais_unavailable", RefusalMessage(st));
    case Status::Code::kRejected: {
      const auto code = st.reject_code();
      const bool transient = code == wire::RejectCode::Overloaded ||
                             code == wire::RejectCode::JournalUnavailable ||
                             code == wire::RejectCode::ShuttingDown;
      ApiReply r = ApiError(transient ? 503 : 422,
                            transient ? "relais_unavailable" : "case_refused",
                            RefusalMessage(st));
      r.body["reject_code"] = static_cast<int>(code);
      return r;
    }
    default:
      spdlog::error("console: {}: {}", what, st.ToString());
      return ApiError(500, "internal", RefusalMessage(st));
  }
}

}  // namespace

ApiReply ConsoleApi::Cases(const ApiRequest& req, const SignedIn& who) {
  const bool get = req.method == "GET" || req.method == "HEAD";
  auto only = [&](bool allowed, const char* allow) -> std::optional<ApiReply> {
    if (allowed) return std::nullopt;
    ApiReply r = ApiError(405, "method_not_allowed",
                          "Cette adresse n'accepte pas cette méthode.");
    r.allow = allow;
    return r;
  };
  if (req.path == "/api/case-types") {
    if (auto r = only(get, "GET")) return *r;
    ojson types = ojson::array();
    for (auto t : wire::EnumValuesCaseType()) {
      if (t == wire::CaseType::Unknown) continue;
      types.push_back({{"name", wire::EnumNameCaseType(t)},
                       {"case_type", CaseTypeName(t)},
                       {"label", CaseTypeLabel(t)}});
    }
    ApiReply r;
    r.body = ojson{{"case_types", std::move(types)}};
    return r;
  }
  if (req.path == "/api/cases/check") {
    if (auto r = only(req.method == "POST", "POST")) return *r;
    return CheckCase(req);
  }
  if (req.path == "/api/cases") {
    if (auto r = only(get || req.method == "POST", "GET, POST")) return *r;
    return get ? ListCases(req) : OpenCase(req, who);
  }
  constexpr std::string_view kOneCase = "/api/cases/";
  if (req.path.substr(0, kOneCase.size()) == kOneCase) {
    if (auto r = only(get, "GET")) return *r;
    return ShowCase(req.path.substr(kOneCase.size()));
  }
  return ApiError(404, "not_found", "Cette adresse n'existe pas.");
}

ApiReply ConsoleApi::CheckCase(const ApiRequest& req) {
  if (!IsJsonContentType(req.content_type)) {
    return NotJson();
  }
  auto request = ParseCaseRequest(req.body, /*opening=*/false,
                                  options_.max_attachment_bytes);
  if (!request.ok()) return BadRequest(request.status());
  auto check = options_.desk->Check(*request);
  if (!check.ok()) return DeskError(check.status(), "checking a case");
  ApiReply r;
  r.body = CheckJson(*check);
  return r;
}

ApiReply ConsoleApi::OpenCase(const ApiRequest& req, const SignedIn& who) {
  if (!IsJsonContentType(req.content_type)) {
    return NotJson();
  }
  auto request = ParseCaseRequest(req.body, /*opening=*/true,
                                  options_.max_attachment_bytes);
  if (!request.ok()) return BadRequest(request.status());
  auto opened =
      options_.desk->Open(*request, Opener{who.agent.login, who.agent.name});
  if (!opened.ok()) return DeskError(opened.status(), "opening a case");
  if (!opened->reused_by.empty()) {
    return ApiError(409, "request_reused",
                    "Ce formulaire a déjà ouvert le dossier " +
                        opened->reused_by +
                        " avec d'autres informations : rechargez la page "
                        "pour ouvrir un nouveau dossier.");
  }
  if (!opened->check.problems.empty()) {
    ApiReply r = ApiError(422, "case_invalid",
                          "Le dossier n'a pas été envoyé : corrigez les champs "
                          "signalés.");
    r.body["problems"] = ProblemsJson(opened->check.problems);
    return r;
  }
  ApiReply r;
  r.status = opened->again ? 200 : 201;
  r.body = ojson{{"case", CaseJson(*opened->record)}, {"again", opened->again}};
  return r;
}

ApiReply ConsoleApi::ListCases(const ApiRequest& req) {
  auto query = ParseListQuery(req.query);
  if (!query.ok()) return BadRequest(query.status());
  CaseFilter filter{query->state, query->q, query->limit};
  if (!CheckFilter(filter).ok()) {
    return ApiError(400, "bad_request",
                    "« state » vaut open, waiting, in_progress, done, "
                    "rejected ou expired.");
  }
  auto cases = options_.desk->List(filter);
  if (!cases.ok()) return DeskError(cases.status(), "listing cases");
  ojson list = ojson::array();
  for (const auto& c : *cases) list.push_back(CaseSummaryJson(c));
  ApiReply r;
  r.body = ojson{{"cases", std::move(list)}};
  return r;
}

ApiReply ConsoleApi::ShowCase(std::string_view case_id) {
  if (!IsValidCaseId(case_id)) {
    return ApiError(404, "case_not_found", "Ce dossier n'existe pas.");
  }
  auto found = options_.desk->Get(std::string(case_id), /*refresh=*/true);
  if (!found.ok()) return DeskError(found.status(), "reading a case");
  if (!*found) {
    return ApiError(404, "case_not_found",
                    "Ce dossier n'existe pas ou n'est plus conservé par la "
                    "console.");
  }
  ApiReply r;
  r.body = ojson{{"case", CaseJson(**found)}};
  return r;
}

}  // namespace relais::console
