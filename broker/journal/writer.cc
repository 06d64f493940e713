#include "broker/journal/writer.h"

#include <spdlog/spdlog.h>

#include <set>
#include <variant>

#include "broker/delivery/case_book.h"
#include "core/bytes.h"
#include "core/crash_point.h"
#include "core/crypto.h"
#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/frame.h"

namespace relais::broker::journal {

struct JournalWriter::Request {
  std::variant<SubmitRequest, AckRequest, DeadLetterRequest, OperatorRequest,
               StatusRequest, SubjectRequest>
      op;
};

namespace {

using Key = std::pair<std::string, uint64_t>;

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

const wire::DeadLetter* ParseDeadLetter(std::string_view bytes) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(bytes.data()),
                          bytes.size());
  if (!v.VerifyBuffer<wire::DeadLetter>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<wire::DeadLetter>(bytes.data());
}

// Builds one batch: sequences, dedup, case states and audit records, with
// in-memory overlays so that requests in the same batch see each other.
class JournalWriter::BatchBuilder {
 public:
  BatchBuilder(JournalWriter* w, int64_t now_ms)
      : w_(w),
        now_ms_(now_ms),
        batch_(w->journal_->NewBatch()),
        first_sequence_(w->next_sequence_),
        audit_start_(w->audit_.head()) {}

  void Add(SubmitRequest& r) {
    SubmitOutcome out;
    out.routing_id = std::move(r.routing_id);
    out.request_id = r.request_id;
    out.message_id = r.message_id;
    out.envelope_bytes = r.envelope.size();
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
    if (!state->case_id.empty() && !delivery::IsPartyTo(*state, r.sender)) {
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
      recipients_.insert(recipient);
    }
    DedupEntry dedup{seq, now_ms_, r.header_sha256, r.sender};
    batch_->PutDedup(r.message_id, dedup);
    if (r.expires_at_ms > 0) {
      batch_->PutExpiry(r.expires_at_ms, seq, r.message_id);
    }
    accepted_[r.message_id] = dedup;
    delivery::ApplyAccepted(
        state, {r.message_id, r.case_id, r.sender, r.subject_ref, r.case_type,
                &r.recipients, seq, now_ms_});
    AppendAudit({now_ms_, wire::TraceEvent::Accepted, r.message_id, r.case_id,
                 r.sender, r.header_sha256, ""});
    out.sequence = seq;
    out.accepted_at_ms = now_ms_;
    depends_on_batch_.push_back(report_.submits.size());
    report_.submits.push_back(std::move(out));
  }

  void Add(AckRequest& r) {
    wire::CaseStateT* state = LoadCase(r.case_id);
    if (state != nullptr && !state->case_id.empty()) {
      delivery::ApplyAck(state, r.recipient, r.message_id, r.sequence,
                         r.outcome, r.reason, now_ms_);
    }
    batch_->DeleteOutbox(r.recipient, r.sequence);
    removed_outbox_.insert({r.recipient, r.sequence});
    ack_recipients_.insert(r.recipient);
    const bool refused = r.outcome == wire::AckOutcome::Rejected;
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

  void Add(DeadLetterRequest& r) {
    auto entry = OutboxEntryOf(r.recipient, r.sequence);
    if (!entry || entry->message_id != r.message_id) return;  // acked since
    std::string bytes;
    auto v = LoadEnvelope(r.message_id, &bytes);
    if (!v.ok()) return;
    MakeDead(r.recipient, r.sequence, *v, wire::RecipientState::Undeliverable,
             r.attempts, r.detail);
  }

  void Add(OperatorRequest& r) {
    OperatorOutcome out{r.routing_id, r.request_id, r.replay, Status::OK(), {}};
    const Key key{r.recipient, r.sequence};
    Result<std::string> dead =
        dead_removed_.count(key)
            ? Result<std::string>(Status::NotFound("dead letter"))
            : w_->journal_->GetDead(r.recipient, r.sequence);
    const wire::DeadLetter* dl = dead.ok() ? ParseDeadLetter(*dead) : nullptr;
    if (!dead.ok() || dl == nullptr) {
      out.status = dead.status().code() == Status::Code::kNotFound
                       ? Status::NotFound("no dead letter of sequence " +
                                          std::to_string(r.sequence) +
                                          " for '" + r.recipient + "'")
                   : dead.ok() ? Status::Corruption("unreadable dead letter")
                               : dead.status();
      report_.operator_outcomes.push_back(std::move(out));
      return;
    }
    out.dead_letter = *dead;
    const std::string message_id(VectorBytes(dl->message_id()));
    const std::string case_id(StringView(dl->case_id()));
    const std::string detail =
        (r.replay ? "replayed by " : "dropped by ") + r.operator_id;
    batch_->DeleteDead(r.recipient, r.sequence);
    dead_removed_.insert(key);
    if (r.replay) {
      batch_->PutOutbox(r.recipient, r.sequence, message_id, /*replayed=*/true);
      removed_outbox_.erase(key);
      recipients_.insert(r.recipient);
      report_.replayed.push_back(key);
    }
    if (wire::CaseStateT* state = LoadCase(case_id);
        state != nullptr && !state->case_id.empty()) {
      delivery::ApplyOperatorAction(state, r.recipient, message_id, r.sequence,
                                    r.replay, detail, now_ms_);
    }
    AppendAudit(
        {now_ms_,
         r.replay ? wire::TraceEvent::Replayed : wire::TraceEvent::Purged,
         message_id, case_id, r.recipient, "", detail});
    if (r.replay) {
      std::string bytes;
      auto v = LoadEnvelope(message_id, &bytes);
      if (v.ok()) {
        ReportToSender(*v, r.recipient, wire::RecipientState::Sent,
                       dl->attempts(), detail);
      }
    }
    report_.operator_outcomes.push_back(std::move(out));
  }

  // A recipient's StatusUpdate: checked against the case as this batch
  // leaves it, recorded, and relayed to the originator.
  void Add(StatusRequest& r) {
    StatusOutcome out{r.routing_id, r.request_id, r.message_id, r.state,
                      false,        now_ms_,      Status::OK()};
    const auto refuse = [&](const std::string& why) {
      out.status = Status::Rejected(wire::RejectCode::StatusNotAllowed, why);
      report_.status_outcomes.push_back(std::move(out));
    };
    std::string bytes;
    auto stored = w_->journal_->GetMessage(r.message_id);
    if (!stored.ok()) {
      if (stored.status().code() == Status::Code::kNotFound) {
        return refuse("no message " + HexEncode(r.message_id));
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
        state == nullptr ? nullptr
                         : delivery::FindRecipient(state, r.participant);
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
    if (!delivery::PartnerStatusFollows(now->state, r.state)) {
      return refuse(std::string("the status is ") +
                    wire::EnumNameRecipientState(now->state) + "; " +
                    wire::EnumNameRecipientState(r.state) +
                    " cannot follow it");
    }
    auto dedup = w_->journal_->GetDedup(r.message_id);
    const uint64_t sequence = dedup.ok() ? dedup->sequence : 0;
    delivery::ApplyPartnerStatus(state, r.participant, r.message_id, sequence,
                                 r.state, r.reason, now_ms_);
    AppendAudit({now_ms_, delivery::PartnerTraceEvent(r.state), r.message_id,
                 case_id, r.participant, "", r.reason});
    ReportToSender(*v, r.participant, r.state, 0, r.reason);
    out.changed = true;
    report_.status_outcomes.push_back(std::move(out));
  }

  // Registers or unregisters references for a participant; `changed`
  // counts those whose registration changes (as this batch leaves them).
  void Add(SubjectRequest& r) {
    SubjectOutcome out{r.routing_id, r.request_id, 0,
                       static_cast<uint32_t>(r.subject_refs.size()),
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

  // Every message whose expiry passed becomes a dead letter for each
  // recipient that has not acknowledged it (replayed ones excepted).
  void Sweep() {
    std::vector<ExpiryEntry> expired;
    Status st = w_->journal_->ReadExpired(now_ms_, kMaxSweep, &expired);
    if (!st.ok()) {
      spdlog::error("expiry sweep: {}", st.ToString());
      return;
    }
    for (const auto& e : expired) {
      batch_->DeleteExpiry(e.expires_at_ms, e.sequence);
      ++changes_;
      std::string bytes;
      auto v = LoadEnvelope(e.message_id, &bytes);
      if (!v.ok()) continue;
      for (const auto* r : *v->header->recipients()) {
        const std::string recipient(StringView(r));
        auto entry = OutboxEntryOf(recipient, e.sequence);
        if (!entry || entry->replayed) continue;
        MakeDead(recipient, e.sequence, *v, wire::RecipientState::Expired, 0,
                 "expired before the recipient acknowledged it");
      }
    }
  }

  bool empty() const { return changes_ == 0; }

  // Commits the batch and returns the report to send.
  CommitReport Commit() {
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
    report_.commit_status = w_->state_status_.ok()
                                ? w_->journal_->Commit(batch_.get())
                                : w_->state_status_;
    if (report_.commit_status.ok()) {
      CrashPoint("writer.batch.synced");
      report_.recipients.assign(recipients_.begin(), recipients_.end());
      return std::move(report_);
    }
    // Nothing of the batch is on disk: undo the in-memory state and refuse
    // every submit that was to be accepted by it. The details (paths, OS
    // errors) are for the broker's log, not for partners.
    w_->next_sequence_ = first_sequence_;
    w_->audit_.Reset(audit_start_);
    const Status unavailable =
        Status::Rejected(wire::RejectCode::JournalUnavailable,
                         "the broker's journal cannot write at the moment; "
                         "nothing was journaled, retry later");
    for (size_t i : depends_on_batch_) {
      auto& s = report_.submits[i];
      s.status = unavailable;
      s.sequence = 0;
      s.duplicate = false;
    }
    report_.acks = 0;
    report_.failed_ack_recipients.assign(ack_recipients_.begin(),
                                         ack_recipients_.end());
    report_.dead_letters.clear();
    report_.replayed.clear();
    for (auto& o : report_.operator_outcomes) {
      if (o.status.ok()) o.status = unavailable;
    }
    for (auto& o : report_.status_outcomes) {
      if (o.status.ok()) o.status = unavailable;
    }
    for (auto& o : report_.subject_outcomes) {
      if (o.status.ok()) o.status = unavailable;
    }
    return std::move(report_);
  }

 private:
  // `recipient`'s pending outbox entry of `sequence`, as this batch leaves it.
  std::optional<OutboxEntry> OutboxEntryOf(const std::string& recipient,
                                           uint64_t sequence) {
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
  Result<EnvelopeView> LoadEnvelope(const std::string& message_id,
                                    std::string* bytes) {
    auto envelope = w_->journal_->GetMessage(message_id);
    if (envelope.ok()) *bytes = std::move(*envelope);
    auto v = envelope.ok() ? ParseEnvelope(*bytes) : envelope.status();
    if (!v.ok()) {
      spdlog::error("message {}: {}", HexEncode(message_id),
                    v.status().ToString());
    }
    return v;
  }

  void MakeDead(const std::string& recipient, uint64_t sequence,
                const EnvelopeView& v, wire::RecipientState reason,
                uint32_t attempts, const std::string& detail) {
    const std::string message_id(v.message_id);
    batch_->PutDead(recipient, sequence,
                    BuildDeadLetter(recipient, sequence, v, reason, attempts,
                                    now_ms_, detail));
    batch_->DeleteOutbox(recipient, sequence);
    removed_outbox_.insert({recipient, sequence});
    dead_removed_.erase({recipient, sequence});
    ++changes_;
    const std::string case_id(v.case_id);
    if (wire::CaseStateT* state = LoadCase(case_id);
        state != nullptr && !state->case_id.empty()) {
      delivery::ApplyDeadLetter(state, recipient, message_id, sequence, reason,
                                detail, now_ms_);
    }
    AppendAudit({now_ms_,
                 reason == wire::RecipientState::Expired
                     ? wire::TraceEvent::Expired
                     : wire::TraceEvent::DeadLettered,
                 message_id, case_id, recipient, "", detail});
    report_.dead_letters.push_back({recipient, sequence});
    ReportToSender(v, recipient, reason, attempts, detail);
  }

  // Journals a StatusReport, sealed by the broker, for the sender of `v`
  // (never for the broker's own reports).
  void ReportToSender(const EnvelopeView& v, const std::string& recipient,
                      wire::RecipientState state, uint32_t attempts,
                      const std::string& detail) {
    const std::string sender(v.sender);
    if (sender == w_->signer_.id) return;
    flatbuffers::FlatBufferBuilder fbb(256);
    fbb.Finish(wire::CreateStatusReport(
                   fbb, CreateBytes(fbb, v.message_id),
                   fbb.CreateString(v.case_id.data(), v.case_id.size()),
                   fbb.CreateString(recipient), state, now_ms_, attempts,
                   fbb.CreateString(detail)),
               kStatusReportIdentifier);
    EnvelopeDraft d;
    d.case_id = std::string(v.case_id);
    d.sender = w_->signer_.id;
    d.recipients = {sender};
    d.case_type = v.header->case_type();
    d.encoding = wire::PayloadEncoding::StatusReport;
    d.payload.assign(AsStringView(fbb.GetBufferPointer(), fbb.GetSize()));
    d.created_at_ms = now_ms_;
    d.expires_at_ms = now_ms_ + w_->signer_.report_ttl_ms;
    d.in_reply_to = std::string(v.message_id);
    d.subject_ref = std::string(VectorBytes(v.header->subject_ref()));
    auto sealed = SealEnvelope(d, w_->signer_.key);
    if (!sealed.ok()) {
      spdlog::error("cannot seal a status report for {}: {}", sender,
                    sealed.status().ToString());
      return;
    }
    const uint64_t seq = w_->next_sequence_++;
    batch_->PutMessage(sealed->message_id, sealed->bytes);
    batch_->PutOutbox(sender, seq, sealed->message_id);
    batch_->PutDedup(
        sealed->message_id,
        DedupEntry{seq, now_ms_,
                   crypto::Sha256(ParseEnvelope(sealed->bytes)->header_bytes),
                   w_->signer_.id});
    batch_->PutExpiry(d.expires_at_ms, seq, sealed->message_id);
    AppendAudit({now_ms_, wire::TraceEvent::Accepted, sealed->message_id,
                 d.case_id, w_->signer_.id, "", detail});
    recipients_.insert(sender);
  }

  // True if `r`'s message id is known: `out` then holds the first receipt
  // or a refusal, and `in_batch` says whether it was accepted by this batch.
  bool FindDuplicate(const SubmitRequest& r, SubmitOutcome* out,
                     bool* in_batch) {
    DedupEntry found;
    auto it = accepted_.find(r.message_id);
    if (it != accepted_.end()) {
      found = it->second;
      *in_batch = true;
    } else {
      auto stored = w_->journal_->GetDedup(r.message_id);
      if (stored.status().code() == Status::Code::kNotFound) return false;
      if (!stored.ok()) {
        out->status = Status::Rejected(wire::RejectCode::JournalUnavailable,
                                       stored.status().message());
        return true;
      }
      found = *stored;
    }
    if (found.sender != r.sender || found.header_sha256 != r.header_sha256) {
      out->status = Status::Rejected(
          wire::RejectCode::DuplicateConflict,
          "message id was already accepted with a different header");
      return true;
    }
    out->sequence = found.sequence;
    out->accepted_at_ms = found.accepted_at_ms;
    out->duplicate = true;
    return true;
  }

  // The case's state in this batch: loaded from the journal once, or empty
  // if the case is new. Null if the journal cannot be read.
  wire::CaseStateT* LoadCase(const std::string& case_id) {
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

  void AppendAudit(const audit::AuditEntry& entry) {
    const std::string record = w_->audit_.Append(entry);
    batch_->PutAudit(w_->audit_.head().sequence, record);
  }

  JournalWriter* w_;
  const int64_t now_ms_;
  std::unique_ptr<Batch> batch_;
  const uint64_t first_sequence_;
  const audit::AuditHead audit_start_;
  std::map<std::string, std::unique_ptr<wire::CaseStateT>> cases_;
  std::map<std::string, bool> subjects_;  // ref || participant -> held
  std::map<std::string, DedupEntry> accepted_;
  std::set<std::string> recipients_;
  // Indexes of the outcomes that hold only if this batch commits: first
  // accepts, and duplicates of them in the same batch.
  std::vector<size_t> depends_on_batch_;
  std::set<std::string> ack_recipients_;
  std::set<Key> removed_outbox_;  // acked or dead in this batch
  std::set<Key> dead_removed_;    // replayed or dropped in this batch
  size_t changes_ = 0;            // requests and dead letters in the batch
  CommitReport report_;
};

Result<std::unique_ptr<JournalWriter>> JournalWriter::Create(
    Journal* journal, const Clock* clock, BrokerSigner signer,
    ReportFn report) {
  std::unique_ptr<JournalWriter> w(
      new JournalWriter(journal, clock, std::move(signer), std::move(report)));
  RELAIS_RETURN_IF_ERROR(w->LoadState());
  return w;
}

Status JournalWriter::LoadState() {
  uint64_t next_sequence = 1;
  audit::AuditHead audit_head;
  auto next = journal_->GetMeta(kMetaNextSequence);
  if (next.ok()) {
    if (next->size() != 8)
      return Status::Corruption("next_sequence is not 8 bytes");
    next_sequence = GetBigEndian64(next->data());
  } else if (next.status().code() != Status::Code::kNotFound) {
    return next.status();
  }
  auto head = journal_->GetMeta(kMetaAuditHead);
  if (head.ok()) {
    RELAIS_ASSIGN_OR_RETURN(audit_head, audit::DecodeHead(*head));
  } else if (head.status().code() != Status::Code::kNotFound) {
    return head.status();
  }
  next_sequence_ = next_sequence;
  audit_.Reset(std::move(audit_head));
  return Status::OK();
}

bool JournalWriter::RecoverJournal() {
  const uint64_t generation = journal_->generation();
  if (!journal_->Recover().ok()) return false;
  if (journal_->generation() != generation) {
    // Reopened: a batch reported as failed may still have reached the log
    // (a failed sync after a complete write) and been replayed, so the
    // sequence and audit head are read again rather than trusted.
    state_status_ = LoadState();
    if (!state_status_.ok()) {
      spdlog::error("journal reopened but its state cannot be read: {}",
                    state_status_.ToString());
    }
  }
  return true;
}

JournalWriter::JournalWriter(Journal* journal, const Clock* clock,
                             BrokerSigner signer, ReportFn report)
    : journal_(journal),
      clock_(clock),
      signer_(std::move(signer)),
      report_(std::move(report)),
      audit_(audit::AuditHead{}) {}

JournalWriter::~JournalWriter() { Stop(); }

void JournalWriter::Start() {
  thread_ = std::thread([this] { Run(); });
}

void JournalWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JournalWriter::PostSubmit(SubmitRequest request) {
  Post(Request{std::move(request)});
}

void JournalWriter::PostAck(AckRequest request) {
  Post(Request{std::move(request)});
}

void JournalWriter::PostDeadLetter(DeadLetterRequest request) {
  Post(Request{std::move(request)});
}

void JournalWriter::PostOperator(OperatorRequest request) {
  Post(Request{std::move(request)});
}

void JournalWriter::PostStatus(StatusRequest request) {
  Post(Request{std::move(request)});
}

void JournalWriter::PostSubjects(SubjectRequest request) {
  Post(Request{std::move(request)});
}

void JournalWriter::Post(Request request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(request));
  }
  cv_.notify_one();
}

void JournalWriter::Run() {
  std::vector<Request> batch;
  auto next_sweep = std::chrono::steady_clock::now();
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, next_sweep,
                     [this] { return stopping_ || !queue_.empty(); });
      if (stopping_ && queue_.empty()) return;
      stopping = stopping_;
      size_t bytes = 0;
      while (!queue_.empty() && batch.size() < kMaxBatchRequests &&
             bytes < kMaxBatchBytes) {
        if (auto* s = std::get_if<SubmitRequest>(&queue_.front().op)) {
          bytes += s->envelope.size();
        }
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const auto now = std::chrono::steady_clock::now();
    const bool sweep = !stopping && now >= next_sweep;
    if (sweep) next_sweep = now + kSweepInterval;
    CommitBatch(&batch, sweep);
    batch.clear();
  }
}

void JournalWriter::CommitBatch(std::vector<Request>* requests, bool sweep) {
  const bool recovered = !journal_->healthy() && RecoverJournal();
  if (!state_status_.ok()) state_status_ = LoadState();
  // Nothing to write the sweep's dead letters with until it recovers.
  sweep = sweep && journal_->healthy();
  BatchBuilder builder(this, clock_->NowMs());
  size_t submits = 0;
  for (auto& r : *requests) {
    if (std::holds_alternative<SubmitRequest>(r.op)) ++submits;
    std::visit([&](auto& op) { builder.Add(op); }, r.op);
  }
  if (sweep) builder.Sweep();
  if (requests->empty() && builder.empty()) {
    if (recovered) {
      CommitReport report;
      report.journal_recovered = true;
      report_(std::move(report));
    }
    if (sweep) stats_.sweeps.fetch_add(1);
    return;
  }
  CommitReport report = builder.Commit();
  report.journal_recovered = recovered;
  if (report.commit_status.ok()) {
    stats_.dead_letters.fetch_add(report.dead_letters.size());
  }
  stats_.batches.fetch_add(1);
  stats_.submits.fetch_add(submits);
  if (!report.commit_status.ok()) stats_.failed_batches.fetch_add(1);
  uint64_t largest = stats_.largest_batch.load();
  while (submits > largest &&
         !stats_.largest_batch.compare_exchange_weak(largest, submits)) {
  }
  report_(std::move(report));
  if (sweep) stats_.sweeps.fetch_add(1);
}

}  // namespace relais::broker::journal
