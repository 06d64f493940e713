#include "broker/journal/writer.h"

#include <set>
#include <variant>

#include "broker/delivery/case_book.h"
#include "core/bytes.h"
#include "core/flatbuf.h"
#include "core/frame.h"

namespace relais::broker::journal {

struct JournalWriter::Request {
  std::variant<SubmitRequest, AckRequest> op;
};

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
      if (in_batch && out.status.ok()) depends_on_batch_.push_back(report_.submits.size());
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
    ack_recipients_.insert(r.recipient);
    const bool refused = r.outcome == wire::AckOutcome::Rejected;
    AppendAudit(
        {now_ms_,
         refused ? wire::TraceEvent::Rejected : wire::TraceEvent::Delivered,
         r.message_id, r.case_id, r.recipient, "",
         refused ? std::string_view(r.reason) : std::string_view()});
    ++report_.acks;
  }

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

    report_.commit_status = w_->journal_->Commit(batch_.get());
    if (report_.commit_status.ok()) {
      report_.recipients.assign(recipients_.begin(), recipients_.end());
      return std::move(report_);
    }
    // Nothing of the batch is on disk: undo the in-memory state and refuse
    // every submit that was to be accepted by it.
    w_->next_sequence_ = first_sequence_;
    w_->audit_.Reset(audit_start_);
    for (size_t i : depends_on_batch_) {
      auto& s = report_.submits[i];
      s.status = Status::Rejected(
          wire::RejectCode::JournalUnavailable,
          "journal write failed: " + report_.commit_status.message());
      s.sequence = 0;
      s.duplicate = false;
    }
    report_.acks = 0;
    report_.failed_ack_recipients.assign(ack_recipients_.begin(), ack_recipients_.end());
    return std::move(report_);
  }

 private:
  // True if `r`'s message id is known: `out` then holds the first receipt
  // or a refusal, and `in_batch` says whether it was accepted by this batch.
  bool FindDuplicate(const SubmitRequest& r, SubmitOutcome* out, bool* in_batch) {
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
  std::map<std::string, DedupEntry> accepted_;
  std::set<std::string> recipients_;
  // Indexes of the outcomes that hold only if this batch commits: first
  // accepts, and duplicates of them in the same batch.
  std::vector<size_t> depends_on_batch_;
  std::set<std::string> ack_recipients_;
  CommitReport report_;
};

Result<std::unique_ptr<JournalWriter>> JournalWriter::Create(Journal* journal,
                                                             const Clock* clock,
                                                             ReportFn report) {
  std::unique_ptr<JournalWriter> w(
      new JournalWriter(journal, clock, std::move(report)));
  auto next = journal->GetMeta(kMetaNextSequence);
  if (next.ok()) {
    if (next->size() != 8)
      return Status::Corruption("next_sequence is not 8 bytes");
    w->next_sequence_ = GetBigEndian64(next->data());
  } else if (next.status().code() != Status::Code::kNotFound) {
    return next.status();
  }
  auto head = journal->GetMeta(kMetaAuditHead);
  if (head.ok()) {
    RELAIS_ASSIGN_OR_RETURN(audit::AuditHead h, audit::DecodeHead(*head));
    w->audit_.Reset(std::move(h));
  } else if (head.status().code() != Status::Code::kNotFound) {
    return head.status();
  }
  return w;
}

JournalWriter::JournalWriter(Journal* journal, const Clock* clock,
                             ReportFn report)
    : journal_(journal),
      clock_(clock),
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

void JournalWriter::Post(Request request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(request));
  }
  cv_.notify_one();
}

void JournalWriter::Run() {
  std::vector<Request> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
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
    CommitBatch(&batch);
    batch.clear();
  }
}

void JournalWriter::CommitBatch(std::vector<Request>* requests) {
  BatchBuilder builder(this, clock_->NowMs());
  size_t submits = 0;
  for (auto& r : *requests) {
    if (auto* s = std::get_if<SubmitRequest>(&r.op)) {
      builder.Add(*s);
      ++submits;
    } else {
      builder.Add(std::get<AckRequest>(r.op));
    }
  }
  CommitReport report = builder.Commit();
  stats_.batches.fetch_add(1);
  stats_.submits.fetch_add(submits);
  if (!report.commit_status.ok()) stats_.failed_batches.fetch_add(1);
  uint64_t largest = stats_.largest_batch.load();
  while (submits > largest &&
         !stats_.largest_batch.compare_exchange_weak(largest, submits)) {
  }
  report_(std::move(report));
}

}  // namespace relais::broker::journal
