#include "broker/frames/queries.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "broker/cases/case_book.h"
#include "broker/router/routes.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"

namespace relais::broker {
namespace {

Status Unavailable(std::string reason) {
  return Status::Rejected(wire::RejectCode::JournalUnavailable,
                          std::move(reason));
}

}  // namespace

Result<std::string> Queries::CaseStatus(std::string_view participant,
                                        uint64_t request_id,
                                        const wire::CaseStatusQuery& q) const {
  const std::string case_id(StringView(q.case_id()));
  if (!IsValidCaseId(case_id)) {
    return Status::Rejected(wire::RejectCode::MalformedFrame,
                            "CaseStatusQuery.case_id: not a case id (1 to 64 "
                            "of A-Z a-z 0-9 . _ : -)");
  }
  // The id asked for is not repeated (the refusal is logged): it may be
  // anything, a citizen's NIR included.
  auto state = journal_->GetCase(case_id);
  if (!state.ok() && state.status().code() != Status::Code::kNotFound) {
    spdlog::error("a case state cannot be read: {}", state.status().ToString());
    return Unavailable("cannot read the case state; retry later");
  }
  const wire::CaseState* parsed = state.ok() ? ParseCaseState(*state) : nullptr;
  if (parsed == nullptr || !cases::IsPartyTo(*parsed, participant)) {
    return Status::Rejected(
        wire::RejectCode::UnknownCase,
        "no case of that id visible to '" + std::string(participant) + "'");
  }
  return CaseStatusReplyFrame(request_id, case_id, *state);
}

Result<std::string> Queries::Route(std::string_view participant,
                                   uint64_t request_id,
                                   const wire::RouteQuery& q) const {
  const std::string_view ref = VectorBytes(q.subject_ref());
  if (q.case_type() < wire::CaseType::AddressChange ||
      q.case_type() > wire::CaseType::AssistedCase ||
      (!ref.empty() && ref.size() != kSubjectRefSize)) {
    return Status::Rejected(wire::RejectCode::MalformedFrame,
                            "a RouteQuery needs a case type from 1 to 8 and "
                            "an absent or 32-byte subject reference");
  }
  auto recipients = router::RouteBySubscription(
      *registry_, *journal_, participant, q.case_type(), ref);
  if (!recipients.ok()) {
    spdlog::error("reference directory: {}", recipients.status().ToString());
    return Unavailable("cannot read the reference directory; retry later");
  }
  return RouteReplyFrame(request_id, *recipients);
}

Result<
    std::variant<std::string, journal::OperatorRequest, journal::BackupRequest>>
Queries::Admin(std::string_view participant, const journal::ReplyTo& reply,
               const wire::AdminRequest& a) const {
  if (!registry_->IsOperator(participant)) {
    return Status::Rejected(
        wire::RejectCode::NotAuthorised,
        "'" + std::string(participant) + "' does not have the operator role");
  }
  const std::string recipient(StringView(a.recipient()));
  if (!recipient.empty() && !IsValidParticipantId(recipient)) {
    return Status::Rejected(wire::RejectCode::MalformedFrame,
                            "AdminRequest.recipient: not a participant id");
  }
  using AdminAnswer = std::variant<std::string, journal::OperatorRequest,
                                   journal::BackupRequest>;
  Result<std::string> frame = std::string();
  switch (a.op()) {
    case wire::AdminOp::ListDeadLetters:
      frame = ListDeadLetters(reply.request_id, recipient, a);
      break;
    case wire::AdminOp::ShowDeadLetter:
      frame = ShowDeadLetter(reply.request_id, recipient, a);
      break;
    case wire::AdminOp::ReplayDeadLetter:
    case wire::AdminOp::DropDeadLetter:
      return AdminAnswer(journal::OperatorRequest{
          reply, std::string(participant),
          a.op() == wire::AdminOp::ReplayDeadLetter, recipient, a.sequence()});
    case wire::AdminOp::ListCases:
      frame = ListCases(reply.request_id, recipient, a);
      break;
    case wire::AdminOp::Backup:
      return AdminAnswer(
          journal::BackupRequest{reply, std::string(participant)});
    case wire::AdminOp::Stats: {
      const wire::BrokerStatsT stats = stats_();
      frame = AdminReplyFrame(reply.request_id, a.op(), {}, {}, false, &stats);
      break;
    }
    default:
      return Status::Rejected(
          wire::RejectCode::MalformedFrame,
          "unknown admin op " + std::to_string(static_cast<int>(a.op())));
  }
  if (!frame.ok()) return frame.status();
  return AdminAnswer(std::move(*frame));
}

Result<std::string> Queries::ListDeadLetters(
    uint64_t request_id, const std::string& recipient,
    const wire::AdminRequest& a) const {
  const size_t limit = a.limit() == 0 ? 100 : std::min(a.limit(), 1000u);
  std::vector<journal::DeadLetterRecord> records;
  Status st = journal_->ListDead(recipient, a.sequence(), limit + 1, &records);
  if (!st.ok()) return Unavailable(st.message());
  const bool more = records.size() > limit;
  if (more) records.pop_back();
  std::vector<std::string> items;
  items.reserve(records.size());
  for (auto& r : records) items.push_back(std::move(r.value));
  return AdminReplyFrame(request_id, a.op(), items, {}, more, nullptr);
}

Result<std::string> Queries::ShowDeadLetter(uint64_t request_id,
                                            const std::string& recipient,
                                            const wire::AdminRequest& a) const {
  auto dead = journal_->GetDead(recipient, a.sequence());
  const wire::DeadLetter* dl =
      dead.ok() ? journal::ParseDeadLetter(*dead) : nullptr;
  if (dl == nullptr) {
    if (!dead.ok() && dead.status().code() != Status::Code::kNotFound) {
      return Unavailable(dead.status().message());
    }
    return Status::Rejected(wire::RejectCode::UnknownDelivery,
                            "no dead letter of sequence " +
                                std::to_string(a.sequence()) + " for '" +
                                recipient + "'");
  }
  // Absent once deleted at the end of its retention.
  auto envelope = journal_->GetMessage(VectorBytes(dl->message_id()));
  if (!envelope.ok() && envelope.status().code() != Status::Code::kNotFound) {
    return Unavailable(envelope.status().message());
  }
  return AdminReplyFrame(request_id, a.op(), {*dead},
                         envelope.ok() ? *envelope : std::string(), false,
                         nullptr);
}

namespace {

// A recipient still to act on its message.
bool Waiting(wire::RecipientState s) {
  using S = wire::RecipientState;
  return s == S::Sent || s == S::Delivered || s == S::Received ||
         s == S::InProgress;
}

Status BadFilter(const std::string& what) {
  return Status::Rejected(wire::RejectCode::MalformedFrame,
                          "AdminRequest.cases." + what);
}

// ListCases's filters, checked (PROTOCOL section 14).
struct CaseQuery {
  std::string recipient;
  std::vector<wire::RecipientState> states;
  wire::CaseType type = wire::CaseType::Unknown;
  std::string originator, after;
  int64_t opened_after = 0, opened_before = 0, stuck_for = 0;

  static Result<CaseQuery> Of(const std::string& recipient,
                              const wire::CaseFilter* f) {
    CaseQuery q;
    q.recipient = recipient;
    if (f == nullptr) return q;
    if (f->states() != nullptr) {
      for (auto s : *f->states()) {
        if (static_cast<uint8_t>(s) >
            static_cast<uint8_t>(wire::RecipientState::MAX)) {
          return BadFilter("states: not a recipient state");
        }
        q.states.push_back(static_cast<wire::RecipientState>(s));
      }
    }
    q.type = f->case_type();
    if (q.type > wire::CaseType::MAX) return BadFilter("case_type: unknown");
    q.originator = std::string(StringView(f->originator()));
    if (!q.originator.empty() && !IsValidParticipantId(q.originator)) {
      return BadFilter("originator: not a participant id");
    }
    q.after = std::string(StringView(f->after_case_id()));
    if (!q.after.empty() && !IsValidCaseId(q.after)) {
      return BadFilter("after_case_id: not a case id");
    }
    q.opened_after = f->opened_after_ms();
    q.opened_before = f->opened_before_ms();
    q.stuck_for = f->stuck_for_ms();
    if (q.opened_after < 0 || q.opened_before < 0 || q.stuck_for < 0) {
      return BadFilter(
          "opened_after_ms, opened_before_ms, stuck_for_ms: must not be "
          "negative");
    }
    return q;
  }

  bool RecipientMatches(const wire::RecipientStatus& r, int64_t now_ms) const {
    if (!recipient.empty() && StringView(r.recipient()) != recipient) {
      return false;
    }
    if (!states.empty() &&
        std::find(states.begin(), states.end(), r.state()) == states.end()) {
      return false;
    }
    return stuck_for == 0 ||
           (Waiting(r.state()) && now_ms - r.updated_at_ms() >= stuck_for);
  }

  // The case's summary if it passes every filter.
  std::optional<wire::CaseSummaryT> Match(std::string_view id,
                                          const wire::CaseState& c,
                                          int64_t now_ms) const {
    if ((type != wire::CaseType::Unknown && c.case_type() != type) ||
        (!originator.empty() && StringView(c.originator()) != originator) ||
        (opened_after != 0 && c.opened_at_ms() < opened_after) ||
        (opened_before != 0 && c.opened_at_ms() >= opened_before)) {
      return std::nullopt;
    }
    bool any = recipient.empty() && states.empty() && stuck_for == 0;
    wire::CaseSummaryT s;
    s.case_id = std::string(id);
    s.case_type = c.case_type();
    s.originator = std::string(StringView(c.originator()));
    s.opened_at_ms = c.opened_at_ms();
    if (c.recipients() != nullptr) {
      for (const auto* r : *c.recipients()) {
        any = any || RecipientMatches(*r, now_ms);
        auto summary = std::make_unique<wire::RecipientSummaryT>();
        summary->recipient = std::string(StringView(r->recipient()));
        summary->state = r->state();
        summary->updated_at_ms = r->updated_at_ms();
        s.recipients.push_back(std::move(summary));
      }
    }
    if (!any) return std::nullopt;
    return s;
  }
};

}  // namespace

Result<std::string> Queries::ListCases(uint64_t request_id,
                                       const std::string& recipient,
                                       const wire::AdminRequest& a) const {
  const size_t limit = a.limit() == 0 ? 100 : std::min(a.limit(), 1000u);
  RELAIS_ASSIGN_OR_RETURN(CaseQuery query, CaseQuery::Of(recipient, a.cases()));
  const int64_t now_ms = clock_->NowMs();
  std::vector<wire::CaseSummaryT> page;
  size_t read = 0;
  bool more = false;
  std::string last;
  Status st = journal_->ForEachCase(
      query.after, [&](std::string_view id, std::string_view bytes) {
        if (page.size() == limit || read == kMaxCasesRead) {
          more = true;
          return false;
        }
        ++read;
        last = std::string(id);
        if (const wire::CaseState* c = ParseCaseState(bytes)) {
          if (auto s = query.Match(id, *c, now_ms))
            page.push_back(std::move(*s));
        }
        return true;
      });
  if (!st.ok()) return Unavailable(st.message());
  return CaseListFrame(request_id, page, more, more ? last : "");
}

}  // namespace relais::broker
