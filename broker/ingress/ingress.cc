#include "broker/ingress/ingress.h"

#include "core/crypto.h"
#include "core/flatbuf.h"

namespace relais::broker {

Result<journal::SubmitRequest> VerifySubmission(
    std::string& envelope, std::string_view participant,
    const Registry& registry, int64_t now_ms, const IngressLimits& limits,
    const AlreadyAccepted& accepted) {
  if (envelope.size() > limits.max_message_bytes) {
    return Status::Rejected(wire::RejectCode::MessageTooLarge,
                            "envelope of " + std::to_string(envelope.size()) +
                                " bytes exceeds the limit of " +
                                std::to_string(limits.max_message_bytes));
  }
  RELAIS_ASSIGN_OR_RETURN(EnvelopeView v, ParseEnvelope(envelope));
  if (v.sender != participant) {
    return Status::Rejected(wire::RejectCode::SenderMismatch,
                            "header sender '" + std::string(v.sender) +
                                "' is not the connection's identity '" +
                                std::string(participant) + "'");
  }
  if (v.header->payload_encoding() == wire::PayloadEncoding::StatusReport) {
    return Status::Rejected(
        wire::RejectCode::MalformedEnvelope,
        "payload_encoding StatusReport is the broker's own");
  }
  const wire::CaseType type = v.header->case_type();
  const std::string header_sha256 = crypto::Sha256(v.header_bytes);
  // The very message this sender already had accepted: the journal answers
  // with the first receipt, even if it has expired, its key was rotated or
  // its route removed since (and no signature needs checking again).
  const bool resent =
      accepted && accepted(v.message_id, v.sender, header_sha256);
  if (!resent) {
    for (const auto* r : *v.header->recipients()) {
      RELAIS_RETURN_IF_ERROR(
          registry.CheckRoute(v.sender, StringView(r), type));
    }
    RELAIS_ASSIGN_OR_RETURN(const PublicSigningKey* key,
                            registry.keys().FindSigningKey(
                                std::string(v.sender), std::string(v.key_id),
                                v.header->created_at_ms()));
    RELAIS_RETURN_IF_ERROR(VerifyEnvelopeSignature(v, key->key));
    RELAIS_RETURN_IF_ERROR(CheckEnvelopeTime(v, now_ms, limits.time));
  }

  journal::SubmitRequest r;
  r.message_id = std::string(v.message_id);
  r.case_id = std::string(v.case_id);
  r.sender = std::string(v.sender);
  r.header_sha256 = header_sha256;
  r.subject_ref = std::string(VectorBytes(v.header->subject_ref()));
  r.recipients = RecipientsOf(v);
  r.case_type = type;
  r.expires_at_ms = v.header->expires_at_ms();
  r.envelope = std::move(envelope);  // v points into it: used no further
  return r;
}

IngressPool::IngressPool(const Registry* registry, const Clock* clock,
                         IngressLimits limits, size_t threads,
                         size_t max_queued, AcceptFn accept, RejectFn reject,
                         AlreadyAccepted accepted)
    : registry_(registry),
      clock_(clock),
      limits_(limits),
      max_queued_(max_queued),
      accept_(std::move(accept)),
      reject_(std::move(reject)),
      accepted_(std::move(accepted)) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Work(); });
  }
}

IngressPool::~IngressPool() { Stop(); }

bool IngressPool::TrySubmit(IngressTask task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.emplace_back(next_ticket_++, std::move(task));
  }
  cv_.notify_one();
  return true;
}

void IngressPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void IngressPool::Work() {
  for (;;) {
    std::pair<uint64_t, IngressTask> item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    auto result =
        VerifySubmission(item.second.envelope, item.second.participant,
                         *registry_, clock_->NowMs(), limits_, accepted_);
    Emit(item.first, Outcome(std::move(item.second), std::move(result)));
  }
}

void IngressPool::Emit(uint64_t ticket, Outcome outcome) {
  std::lock_guard<std::mutex> lock(emit_mu_);
  done_.emplace(ticket, std::move(outcome));
  for (auto it = done_.begin(); it != done_.end() && it->first == next_emit_;
       it = done_.erase(it), ++next_emit_) {
    IngressTask& task = it->second.first;
    auto& result = it->second.second;
    if (result.ok()) {
      journal::SubmitRequest r = std::move(result).value();
      r.reply = std::move(task.reply);
      accept_(std::move(r));
    } else {
      reject_(IngressRejection{
          std::move(task.reply), std::move(task.participant),
          PeekMessageId(task.envelope), result.status(), task.envelope.size()});
    }
  }
}

}  // namespace relais::broker
