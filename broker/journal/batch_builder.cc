// JournalWriter::BatchBuilder (batch_builder.h): the batch itself.
#include "broker/journal/batch_builder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "broker/cases/case_book.h"
#include "broker/cases/status_report.h"
#include "core/bytes.h"
#include "core/crash_point.h"
#include "core/flatbuf.h"
#include "core/frame.h"

namespace relais::broker::journal {
namespace {

std::string BuildDeadLetter(std::string_view recipient, uint64_t sequence,
                            const EnvelopeView& v, wire::RecipientState reason,
                            uint32_t attempts, int64_t at_ms,
                            std::string_view detail) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto dl = wire::CreateDeadLetter(
      fbb, fbb.CreateString(recipient.data(), recipient.size()), sequence,
      CreateBytes(fbb, v.message_id),
      fbb.CreateString(v.case_id.data(), v.case_id.size()),
      fbb.CreateString(v.sender.data(), v.sender.size()), v.header->case_type(),
      reason, attempts, at_ms, v.header->expires_at_ms(),
      fbb.CreateString(detail.data(), detail.size()));
  fbb.Finish(dl);
  return std::string(AsStringView(fbb.GetBufferPointer(), fbb.GetSize()));
}

}  // namespace

// Every message whose expiry passed becomes a dead letter for each
// recipient that has not acknowledged it (replayed ones excepted).
bool JournalWriter::BatchBuilder::Sweep() {
  std::vector<DueEntry> expired;
  Status st =
      w_->journal_->ReadDue(TimeIndex::kExpiry, now_ms_, kMaxSweep, &expired);
  if (!st.ok()) {
    spdlog::error("expiry sweep: {}", st.ToString());
    return false;
  }
  size_t done = 0;
  for (const auto& e : expired) {
    const std::string& message_id = e.value;
    std::string bytes;
    auto v = LoadEnvelope(message_id, &bytes);  // errors logged
    // A failed read: the entry stays, for the next sweep.
    if (!v.ok() && v.status().code() == Status::Code::kIOError) continue;
    batch_->DeleteExpiry(e.due_ms, e.sequence);
    ++changes_;
    ++done;
    if (!v.ok()) continue;  // damaged (or gone): kept as it is, never purged
    const std::vector<std::string> recipients = RecipientsOf(*v);
    // Its retention counts from its expiry.
    batch_->PutPurge(e.due_ms, e.sequence, message_id, recipients);
    for (const std::string& recipient : recipients) {
      auto entry = OutboxEntryOf(recipient, e.sequence);
      if (!entry || entry->replayed) continue;
      MakeDead(recipient, e.sequence, *v, wire::RecipientState::Expired, 0,
               "expired before the recipient acknowledged it");
    }
  }
  // A full read with entries done: more may be due (a load above what one
  // sweep per interval handles). Not when every entry failed: the next
  // sweep, an interval later, tries them again.
  const bool expiry_behind = expired.size() == kMaxSweep && done > 0;
  return Purge() || expiry_behind;
}

bool JournalWriter::BatchBuilder::Purge() {
  std::vector<DueEntry> due;
  Status st = w_->journal_->ReadDue(TimeIndex::kPurge,
                                    now_ms_ - w_->payload_retention_.count(),
                                    kMaxSweep, &due);
  if (!st.ok()) {
    spdlog::error("retention sweep: {}", st.ToString());
    return false;
  }
  std::string message_id;
  std::vector<std::string> recipients;
  size_t done = 0;
  for (const auto& e : due) {
    batch_->DeletePurge(e.due_ms, e.sequence);
    ++changes_;
    ++done;
    if (!DecodePurge(e.value, &message_id, &recipients)) {
      spdlog::error("retention sweep: a malformed entry of sequence {}: left",
                    e.sequence);
      continue;
    }
    // Still in a recipient's queue (an operator replayed it), or its
    // replayed delivery ended in this batch: that delivery's end starts its
    // retention again.
    Result<bool> waited_for = retained_.count(message_id) > 0;
    for (const std::string& recipient : recipients) {
      if (!waited_for.ok() || *waited_for) break;
      waited_for = InAQueue(recipient, e.sequence);
    }
    Result<bool> held =
        waited_for.ok() ? w_->journal_->HasMessage(message_id) : false;
    if (!waited_for.ok() || !held.ok()) {  // looked at again next sweep
      spdlog::error("retention sweep: message {}: {}", HexEncode(message_id),
                    (waited_for.ok() ? held : waited_for).status().ToString());
      batch_->PutPurge(e.due_ms, e.sequence, message_id, recipients);
      --done;
      continue;
    }
    // Deleted already (another entry of a replayed message).
    if (*waited_for || !*held) continue;
    // The message id is enough: its Accepted record has its case and
    // header hash, and reading the envelope again would cost every
    // deletion a read.
    AppendAudit({now_ms_, wire::TraceEvent::PayloadDeleted, message_id, "",
                 w_->signer_.id, "", "its retention ended"});
    batch_->DeleteMessage(message_id);
    ++report_.payloads_deleted;
  }
  return due.size() == kMaxSweep && done > 0;
}

// Whether `recipient`'s queue holds `sequence`, as this batch leaves it; a
// read error is not taken for a no.
Result<bool> JournalWriter::BatchBuilder::InAQueue(const std::string& recipient,
                                                   uint64_t sequence) {
  const Key key{recipient, sequence};
  if (replayed_.count(key)) return true;
  if (removed_outbox_.count(key)) return false;
  RELAIS_ASSIGN_OR_RETURN(auto entry,
                          w_->journal_->GetOutbox(recipient, sequence));
  return entry.has_value();
}

// The retention of a replayed delivery's message starts again when the
// delivery ends (acknowledged, or a dead letter again), and never before
// the message expires.
void JournalWriter::BatchBuilder::RetainFromNow(const EnvelopeView& v,
                                                uint64_t sequence) {
  const std::string message_id(v.message_id);
  retained_.insert(message_id);
  batch_->PutPurge(std::max(now_ms_, v.header->expires_at_ms()), sequence,
                   message_id, RecipientsOf(v));
}

bool JournalWriter::BatchBuilder::LogsEvents() {
  return spdlog::should_log(spdlog::level::info);
}

// Commits the batch and returns the report to send.
CommitReport JournalWriter::BatchBuilder::Commit(Journal::Durability durability,
                                                 bool defer_sync) {
  for (const auto& [case_id, state] : cases_) {
    if (state->case_id.empty()) continue;
    flatbuffers::FlatBufferBuilder fbb(512);
    fbb.Finish(wire::CaseState::Pack(fbb, state.get()), kCaseStateIdentifier);
    batch_->PutCase(case_id,
                    AsStringView(fbb.GetBufferPointer(), fbb.GetSize()));
  }
  std::string next;
  PutBigEndian64(&next, w_->next_sequence_);
  batch_->PutMeta(kMetaNextSequence, next);
  batch_->PutMeta(kMetaAuditHead, audit::EncodeHead(w_->audit_.head()));

  CrashPoint("writer.batch.built");
  if (!report_.dead_letters.empty()) durability = Journal::Durability::kSynced;
  report_.synced = durability == Journal::Durability::kSynced;
  const auto write_start = std::chrono::steady_clock::now();
  report_.commit_status =
      w_->state_status_.ok()
          ? w_->journal_->Commit(
                batch_.get(),
                defer_sync ? Journal::Durability::kWritten : durability)
          : w_->state_status_;
  report_.write_seconds = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - write_start)
                              .count();
  if (report_.commit_status.ok()) {
    if (!defer_sync && report_.synced) CrashPoint("writer.batch.synced");
    report_.recipients.assign(recipients_.begin(), recipients_.end());
    return std::move(report_);
  }
  // Nothing of the batch is on disk: undo the in-memory state and refuse
  // every submit that was to be accepted by it.
  w_->next_sequence_ = first_sequence_;
  w_->audit_.Reset(audit_start_);
  FailReport(Undo(), &report_);
  return std::move(report_);
}

JournalWriter::BatchUndo JournalWriter::BatchBuilder::Undo() const {
  return {depends_on_batch_, {ack_recipients_.begin(), ack_recipients_.end()}};
}

void JournalWriter::FailReport(const BatchUndo& undo, CommitReport* report) {
  // The details (paths, OS errors) are for the broker's log, not for
  // partners.
  const Status unavailable =
      Status::Rejected(wire::RejectCode::JournalUnavailable,
                       "the broker's journal cannot write at the moment; "
                       "send the same message again later");
  report->events.clear();
  report->recipients.clear();
  for (size_t i : undo.depends_on_batch) {
    auto& s = report->submits[i];
    s.status = unavailable;
    s.sequence = 0;
    s.duplicate = false;
  }
  report->acks = 0;
  report->failed_ack_recipients = undo.ack_recipients;
  report->dead_letters.clear();
  report->replayed.clear();
  report->payloads_deleted = 0;
  for (auto& o : report->operator_outcomes) {
    if (o.status.ok()) o.status = unavailable;
  }
  for (auto& o : report->status_outcomes) {
    if (o.status.ok()) o.status = unavailable;
  }
  for (auto& o : report->subject_outcomes) {
    if (o.status.ok()) o.status = unavailable;
  }
}

std::vector<std::pair<std::string, DedupEntry>>
JournalWriter::BatchBuilder::TakeAccepted() {
  std::vector<std::pair<std::string, DedupEntry>> out;
  out.reserve(accepted_.size());
  for (auto& [id, entry] : accepted_) out.emplace_back(id, std::move(entry));
  accepted_.clear();
  return out;
}

// `recipient`'s pending outbox entry of `sequence`, as this batch leaves it.
std::optional<OutboxEntry> JournalWriter::BatchBuilder::OutboxEntryOf(
    const std::string& recipient, uint64_t sequence) {
  if (removed_outbox_.count({recipient, sequence})) return std::nullopt;
  auto entry = w_->journal_->GetOutbox(recipient, sequence);
  if (!entry.ok()) {
    spdlog::error("outbox of {}: {}", recipient, entry.status().ToString());
    return std::nullopt;
  }
  return *entry;
}

// The journaled envelope of `message_id`, parsed; its bytes in `*bytes`.
// Errors are logged: the journal is damaged.
Result<EnvelopeView> JournalWriter::BatchBuilder::LoadEnvelope(
    const std::string& message_id, std::string* bytes) {
  auto envelope = w_->journal_->GetMessage(message_id);
  if (envelope.ok()) *bytes = std::move(*envelope);
  auto v = envelope.ok() ? ParseEnvelope(*bytes) : envelope.status();
  if (!v.ok()) {
    spdlog::error("message {}: {}", HexEncode(message_id),
                  v.status().ToString());
  }
  return v;
}

void JournalWriter::BatchBuilder::MakeDead(
    const std::string& recipient, uint64_t sequence, const EnvelopeView& v,
    wire::RecipientState reason, uint32_t attempts, const std::string& detail) {
  const std::string message_id(v.message_id);
  batch_->PutDead(recipient, sequence,
                  BuildDeadLetter(recipient, sequence, v, reason, attempts,
                                  now_ms_, detail));
  batch_->DeleteOutbox(recipient, sequence);
  --report_.outbox_changes[recipient];
  removed_outbox_.insert({recipient, sequence});
  dead_removed_.erase({recipient, sequence});
  ++changes_;
  const std::string case_id(v.case_id);
  if (wire::CaseStateT* state = LoadCase(case_id);
      state != nullptr && !state->case_id.empty()) {
    cases::ApplyDeadLetter(state, recipient, message_id, sequence, reason,
                           detail, now_ms_);
  }
  AppendAudit({now_ms_,
               reason == wire::RecipientState::Expired
                   ? wire::TraceEvent::Expired
                   : wire::TraceEvent::DeadLettered,
               message_id, case_id, recipient, "", detail});
  report_.dead_letters.push_back({recipient, sequence});
  if (LogsEvents()) {
    report_.events.push_back("case " + case_id + ": message " +
                             HexEncode(message_id) + " to " + recipient +
                             " is a dead letter (" +
                             wire::EnumNameRecipientState(reason) + ", after " +
                             std::to_string(attempts) + " deliveries)");
  }
  ReportToSender(v, recipient, reason, attempts, detail);
}

// Journals a StatusReport, sealed by the broker, for the sender of `v`
// (never for the broker's own reports).
void JournalWriter::BatchBuilder::ReportToSender(const EnvelopeView& v,
                                                 const std::string& recipient,
                                                 wire::RecipientState state,
                                                 uint32_t attempts,
                                                 const std::string& detail) {
  const std::string sender(v.sender);
  if (sender == w_->signer_.id) return;
  const EnvelopeDraft d = cases::StatusReportDraft(
      v, {recipient, state, attempts, detail}, w_->signer_.id, now_ms_,
      w_->signer_.report_ttl_ms);
  auto sealed = SealEnvelope(d, w_->signer_.key);
  if (!sealed.ok()) {
    spdlog::error("cannot seal a status report for {}: {}", sender,
                  sealed.status().ToString());
    return;
  }
  const uint64_t seq = w_->next_sequence_++;
  batch_->PutMessage(sealed->message_id, sealed->bytes);
  batch_->PutOutbox(sender, seq, sealed->message_id);
  ++report_.outbox_changes[sender];
  const DedupEntry dedup{seq, now_ms_, sealed->header_sha256, w_->signer_.id};
  batch_->PutDedup(sealed->message_id, dedup);
  accepted_[sealed->message_id] = dedup;
  batch_->PutExpiry(d.expires_at_ms, seq, sealed->message_id);
  AppendAudit({now_ms_, wire::TraceEvent::Accepted, sealed->message_id,
               d.case_id, w_->signer_.id, "", detail});
  recipients_.insert(sender);
}

// The case's state in this batch: loaded from the journal once, or empty
// if the case is new. Null if the journal cannot be read.
wire::CaseStateT* JournalWriter::BatchBuilder::LoadCase(
    const std::string& case_id) {
  auto it = cases_.find(case_id);
  if (it != cases_.end()) return it->second.get();
  auto state = std::make_unique<wire::CaseStateT>();
  auto stored = w_->journal_->GetCase(case_id);
  if (stored.ok()) {
    const wire::CaseState* flat = ParseCaseState(*stored);
    if (flat == nullptr) return nullptr;
    flat->UnPackTo(state.get());
  } else if (stored.status().code() != Status::Code::kNotFound) {
    return nullptr;
  }
  return cases_.emplace(case_id, std::move(state)).first->second.get();
}

void JournalWriter::BatchBuilder::AppendAudit(const audit::AuditEntry& entry) {
  const std::string record = w_->audit_.Append(entry);
  batch_->PutAudit(w_->audit_.head().sequence, record);
}
}  // namespace relais::broker::journal
