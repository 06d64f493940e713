// JournalWriter::BatchBuilder (batch_builder.h): operator actions, partner
// statuses and subject registrations.
#include <spdlog/spdlog.h>

#include "broker/cases/case_book.h"
#include "broker/journal/batch_builder.h"
#include "core/bytes.h"
#include "core/flatbuf.h"

namespace relais::broker::journal {
namespace {

// Why the journal holds no message `id`: never accepted, or known by its
// receipt and deleted at the end of its retention.
std::string NoMessageReason(const Journal& journal, const std::string& id) {
  return journal.GetDedup(id).ok()
             ? "message " + HexEncode(id) +
                   " is no longer kept by the broker (its retention is over)"
             : "no message " + HexEncode(id);
}

}  // namespace

void JournalWriter::BatchBuilder::Add(OperatorRequest& r) {
  OperatorOutcome out{r.reply, r.replay, Status::OK(), {}};
  const Key key{r.recipient, r.sequence};
  Result<std::string> dead =
      dead_removed_.count(key)
          ? Result<std::string>(Status::NotFound("dead letter"))
          : w_->journal_->GetDead(r.recipient, r.sequence);
  const wire::DeadLetter* dl = dead.ok() ? ParseDeadLetter(*dead) : nullptr;
  if (!dead.ok() || dl == nullptr) {
    out.status = dead.status().code() == Status::Code::kNotFound
                     ? Status::NotFound("no dead letter of sequence " +
                                        std::to_string(r.sequence) + " for '" +
                                        r.recipient + "'")
                 : dead.ok() ? Status::Corruption("unreadable dead letter")
                             : dead.status();
    report_.operator_outcomes.push_back(std::move(out));
    return;
  }
  out.dead_letter = *dead;
  const std::string message_id(VectorBytes(dl->message_id()));
  const std::string case_id(StringView(dl->case_id()));
  // A replay delivers the envelope again: it must still be there.
  std::string bytes;
  Result<EnvelopeView> v = Status::NotFound("not loaded");
  if (r.replay) {
    auto stored = w_->journal_->GetMessage(message_id);
    if (stored.status().code() == Status::Code::kNotFound) {
      out.status = Status::NotFound(
          "the dead letter of sequence " + std::to_string(r.sequence) +
          " for '" + r.recipient +
          "' cannot be replayed: its message was deleted at the end of its "
          "retention (payload_retention_days); drop it instead");
      report_.operator_outcomes.push_back(std::move(out));
      return;
    }
    v = LoadEnvelope(message_id, &bytes);  // a rare action: read twice
    if (!v.ok()) {
      out.status = Status::Rejected(wire::RejectCode::JournalUnavailable,
                                    "cannot read the message; retry later");
      report_.operator_outcomes.push_back(std::move(out));
      return;
    }
  }
  const std::string detail =
      (r.replay ? "replayed by " : "dropped by ") + r.operator_id;
  batch_->DeleteDead(r.recipient, r.sequence);
  dead_removed_.insert(key);
  if (r.replay) {
    batch_->PutOutbox(r.recipient, r.sequence, message_id, /*replayed=*/true);
    ++report_.outbox_changes[r.recipient];
    removed_outbox_.erase(key);
    replayed_.insert(key);
    recipients_.insert(r.recipient);
    report_.replayed.push_back(key);
  }
  if (wire::CaseStateT* state = LoadCase(case_id);
      state != nullptr && !state->case_id.empty()) {
    cases::ApplyOperatorAction(state, r.recipient, message_id, r.sequence,
                               r.replay, detail, now_ms_);
  }
  AppendAudit({now_ms_,
               r.replay ? wire::TraceEvent::Replayed : wire::TraceEvent::Purged,
               message_id, case_id, r.recipient, "", detail});
  if (LogsEvents()) {
    report_.events.push_back("case " + case_id + ": dead letter " +
                             HexEncode(message_id) + " to " + r.recipient +
                             " " + detail);
  }
  if (r.replay) {
    ReportToSender(*v, r.recipient, wire::RecipientState::Sent, dl->attempts(),
                   detail);
  }
  report_.operator_outcomes.push_back(std::move(out));
}

// A recipient's StatusUpdate: checked against the case as this batch
// leaves it, recorded, and relayed to the originator.
void JournalWriter::BatchBuilder::Add(StatusRequest& r) {
  StatusOutcome out{r.reply, r.message_id, r.state,
                    false,   now_ms_,      Status::OK()};
  const auto refuse = [&](const std::string& why) {
    out.status = Status::Rejected(wire::RejectCode::StatusNotAllowed, why);
    report_.status_outcomes.push_back(std::move(out));
  };
  std::string bytes;
  auto stored = w_->journal_->GetMessage(r.message_id);
  if (!stored.ok()) {
    if (stored.status().code() == Status::Code::kNotFound) {
      return refuse(NoMessageReason(*w_->journal_, r.message_id));
    }
    out.status = Status::Rejected(wire::RejectCode::JournalUnavailable,
                                  "cannot read the message; retry later");
    report_.status_outcomes.push_back(std::move(out));
    return;
  }
  bytes = std::move(*stored);
  auto v = ParseEnvelope(bytes);
  if (!v.ok()) {  // it was verified when accepted: the journal is damaged
    spdlog::error("message {} in the journal does not parse: {}",
                  HexEncode(r.message_id), v.status().ToString());
    out.status = Status::Rejected(wire::RejectCode::JournalUnavailable,
                                  "cannot read the message; retry later");
    report_.status_outcomes.push_back(std::move(out));
    return;
  }
  bool addressed = false;
  for (const auto* to : *v->header->recipients()) {
    addressed = addressed || StringView(to) == r.participant;
  }
  if (!addressed) {
    return refuse("'" + r.participant + "' is not a recipient of message " +
                  HexEncode(r.message_id));
  }
  const std::string case_id(v->case_id);
  wire::CaseStateT* state = LoadCase(case_id);
  if (state == nullptr) {
    out.status = Status::Rejected(wire::RejectCode::JournalUnavailable,
                                  "cannot read the case; retry later");
    report_.status_outcomes.push_back(std::move(out));
    return;
  }
  const wire::RecipientStatusT* now =
      cases::FindRecipient(state, r.participant);
  if (now == nullptr ||
      std::string_view(reinterpret_cast<const char*>(now->message_id.data()),
                       now->message_id.size()) != r.message_id) {
    return refuse("message " + HexEncode(r.message_id) +
                  " is no longer the latest of case " + case_id + " for '" +
                  r.participant + "'");
  }
  if (now->state == r.state) {  // said again: nothing changes
    report_.status_outcomes.push_back(std::move(out));
    return;
  }
  if (!cases::PartnerStatusFollows(now->state, r.state)) {
    return refuse(std::string("the status is ") +
                  wire::EnumNameRecipientState(now->state) + "; " +
                  wire::EnumNameRecipientState(r.state) + " cannot follow it");
  }
  auto dedup = w_->journal_->GetDedup(r.message_id);
  const uint64_t sequence = dedup.ok() ? dedup->sequence : 0;
  cases::ApplyPartnerStatus(state, r.participant, r.message_id, sequence,
                            r.state, r.reason, now_ms_);
  AppendAudit({now_ms_, cases::PartnerTraceEvent(r.state), r.message_id,
               case_id, r.participant, "", r.reason});
  ReportToSender(*v, r.participant, r.state, 0, r.reason);
  if (LogsEvents()) {
    report_.events.push_back("case " + case_id + ": " + r.participant +
                             " reports " +
                             wire::EnumNameRecipientState(r.state));
  }
  out.changed = true;
  report_.status_outcomes.push_back(std::move(out));
}

// Registers or unregisters references for a participant; `changed`
// counts those whose registration changes (as this batch leaves them).
void JournalWriter::BatchBuilder::Add(SubjectRequest& r) {
  SubjectOutcome out{r.reply, 0, static_cast<uint32_t>(r.subject_refs.size()),
                     Status::OK()};
  for (const std::string& ref : r.subject_refs) {
    const std::string key = ref + r.participant;
    bool held = false;
    if (auto it = subjects_.find(key); it != subjects_.end()) {
      held = it->second;
    } else {
      auto has = w_->journal_->HasSubject(ref, r.participant);
      if (!has.ok()) {
        out.status = has.status();
        break;
      }
      held = *has;
    }
    if (held == !r.unregister) continue;
    if (r.unregister) {
      batch_->DeleteSubject(ref, r.participant);
    } else {
      batch_->PutSubject(ref, r.participant, now_ms_);
    }
    subjects_[key] = !r.unregister;
    ++changes_;
    ++out.changed;
  }
  if (!out.status.ok()) out.changed = 0;
  report_.subject_outcomes.push_back(std::move(out));
}
}  // namespace relais::broker::journal
