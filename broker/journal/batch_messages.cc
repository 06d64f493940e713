// JournalWriter::BatchBuilder (batch_builder.h): submits, acks and dead
// letters.
#include <spdlog/spdlog.h>

#include "broker/cases/case_book.h"
#include "broker/journal/batch_builder.h"
#include "core/bytes.h"
#include "core/flatbuf.h"

namespace relais::broker::journal {

void JournalWriter::BatchBuilder::Add(SubmitRequest& r) {
  SubmitOutcome out;
  out.reply = std::move(r.reply);
  out.message_id = r.message_id;
  out.envelope_bytes = r.envelope.size();
  out.received = r.received;
  out.posted = r.posted;
  out.sender = r.sender;
  bool in_batch = false;
  if (FindDuplicate(r, &out, &in_batch)) {
    // A duplicate of a message of this very batch stands or falls with it.
    if (in_batch && out.status.ok())
      depends_on_batch_.push_back(report_.submits.size());
    report_.submits.push_back(std::move(out));
    return;
  }
  wire::CaseStateT* state = LoadCase(r.case_id);
  if (state == nullptr) {
    out.status = Status::Rejected(wire::RejectCode::JournalUnavailable,
                                  "cannot read the case from the journal");
    report_.submits.push_back(std::move(out));
    return;
  }
  if (!state->case_id.empty() && !cases::IsPartyTo(*state, r.sender)) {
    out.status = Status::Rejected(wire::RejectCode::NotAuthorised,
                                  "case " + r.case_id + " exists and '" +
                                      r.sender + "' is not part of it");
    report_.submits.push_back(std::move(out));
    return;
  }
  const uint64_t seq = w_->next_sequence_++;
  batch_->PutMessage(r.message_id, r.envelope);
  for (const auto& recipient : r.recipients) {
    batch_->PutOutbox(recipient, seq, r.message_id);
    ++report_.outbox_changes[recipient];
    recipients_.insert(recipient);
  }
  DedupEntry dedup{seq, now_ms_, r.header_sha256, r.sender};
  batch_->PutDedup(r.message_id, dedup);
  if (r.expires_at_ms > 0) {
    batch_->PutExpiry(r.expires_at_ms, seq, r.message_id);
  }
  accepted_[r.message_id] = dedup;
  cases::ApplyAccepted(
      state, {r.message_id, r.case_id, r.sender, r.subject_ref, r.case_type,
              &r.recipients, seq, now_ms_, r.trail_detail});
  AppendAudit({now_ms_, wire::TraceEvent::Accepted, r.message_id, r.case_id,
               r.sender, r.header_sha256, ""});
  if (LogsEvents()) {
    std::string to;
    for (const auto& recipient : r.recipients) {
      to += (to.empty() ? "" : ", ") + recipient;
    }
    report_.events.push_back("case " + r.case_id + ": message " +
                             HexEncode(r.message_id) + " from " + r.sender +
                             " accepted (sequence " + std::to_string(seq) +
                             ") for " + to);
  }
  out.sequence = seq;
  out.accepted_at_ms = now_ms_;
  out.envelope = std::move(r.envelope);  // written into the batch above
  depends_on_batch_.push_back(report_.submits.size());
  report_.submits.push_back(std::move(out));
}

// True if `r`'s message id is known: `out` then holds the first receipt
// or a refusal, and `in_batch` says whether it was accepted by this batch.
bool JournalWriter::BatchBuilder::FindDuplicate(const SubmitRequest& r,
                                                SubmitOutcome* out,
                                                bool* in_batch) {
  std::optional<DedupEntry> found;
  if (auto it = accepted_.find(r.message_id); it != accepted_.end()) {
    found = it->second;
    *in_batch = true;
  } else {
    Result<PriorReceipt> prior =
        r.prior.looked_up && w_->recent_.Covers(r.prior.as_of_batch)
            ? r.prior
            : w_->LookUpReceipt(r.message_id);
    if (!prior.ok()) {
      out->status = Status::Rejected(wire::RejectCode::JournalUnavailable,
                                     prior.status().message());
      return true;
    }
    found = prior->first;
    if (const DedupEntry* since =
            w_->recent_.FindAfter(r.message_id, prior->as_of_batch)) {
      found = *since;
    }
  }
  if (!found) return false;
  if (!SameMessage(*found, r.sender, r.header_sha256)) {
    out->status = Status::Rejected(
        wire::RejectCode::DuplicateConflict,
        "message id was already accepted with a different header");
    return true;
  }
  out->sequence = found->sequence;
  out->accepted_at_ms = found->accepted_at_ms;
  out->duplicate = true;
  return true;
}

void JournalWriter::BatchBuilder::Add(AckRequest& r) {
  // An ack already on its way when the message left the recipient's queue
  // (the expiry sweep made it a dead letter, or an operator dropped it):
  // the dead letter stands, and the case keeps its Expired state
  // (PROTOCOL 7.1).
  auto entry = OutboxEntryOf(r.recipient, r.sequence);
  if (!entry || entry->message_id != r.message_id) {
    spdlog::info(
        "{}: acknowledgement of sequence {} came after the message left its "
        "queue (expired or dropped): ignored",
        r.recipient, r.sequence);
    return;
  }
  wire::CaseStateT* state = LoadCase(r.case_id);
  if (state != nullptr && !state->case_id.empty()) {
    cases::ApplyAck(state, r.recipient, r.message_id, r.sequence, r.outcome,
                    r.reason, now_ms_);
  }
  batch_->DeleteOutbox(r.recipient, r.sequence);
  --report_.outbox_changes[r.recipient];
  removed_outbox_.insert({r.recipient, r.sequence});
  ack_recipients_.insert(r.recipient);
  if (entry->replayed) {
    std::string bytes;
    // Unreadable (logged): kept as it is, never purged.
    if (auto v = LoadEnvelope(r.message_id, &bytes); v.ok()) {
      RetainFromNow(*v, r.sequence);
    }
  }
  const bool refused = r.outcome == wire::AckOutcome::Rejected;
  // When the message was accepted (for the end-to-end latency metric):
  // from its case's trail (loaded above), else from the last batches'
  // acceptances, else from the journal.
  int64_t accepted_at_ms =
      state != nullptr ? cases::AcceptedAtMs(*state, r.sequence) : 0;
  if (accepted_at_ms == 0) {
    if (const DedupEntry* known = w_->recent_.FindAfter(r.message_id, 0)) {
      accepted_at_ms = known->accepted_at_ms;
    } else if (auto dedup = w_->journal_->GetDedup(r.message_id); dedup.ok()) {
      accepted_at_ms = dedup->accepted_at_ms;
    }
  }
  report_.acked.push_back({r.recipient, refused, accepted_at_ms});
  if (LogsEvents()) {
    // A recipient's reason is its own text: it stays in the case's trail.
    report_.events.push_back(
        "case " + r.case_id + ": message " + HexEncode(r.message_id) +
        (refused ? " refused by " + r.recipient +
                       " (its reason is in the case's trail)"
                 : " delivered to " + r.recipient));
  }
  AppendAudit(
      {now_ms_,
       refused ? wire::TraceEvent::Rejected : wire::TraceEvent::Delivered,
       r.message_id, r.case_id, r.recipient, "",
       refused ? std::string_view(r.reason) : std::string_view()});
  // A recipient that refuses a message tells its sender, as a partner's
  // Rejected status does.
  if (refused) {
    std::string bytes;
    if (auto v = LoadEnvelope(r.message_id, &bytes); v.ok()) {
      ReportToSender(*v, r.recipient, wire::RecipientState::Rejected, 0,
                     r.reason);
    }
  }
  ++report_.acks;
}

void JournalWriter::BatchBuilder::Add(DeadLetterRequest& r) {
  auto entry = OutboxEntryOf(r.recipient, r.sequence);
  if (!entry || entry->message_id != r.message_id) return;  // acked since
  std::string bytes;
  auto v = LoadEnvelope(r.message_id, &bytes);
  if (!v.ok()) return;
  MakeDead(r.recipient, r.sequence, *v, wire::RecipientState::Undeliverable,
           r.attempts, r.detail);
  if (entry->replayed) RetainFromNow(*v, r.sequence);
}
}  // namespace relais::broker::journal
