#include "broker/ingress/ingress.h"

#include "core/case_extras.h"
#include "core/crypto.h"
#include "core/flatbuf.h"
#include "core/ids.h"
#include "core/thread_name.h"

namespace relais::broker {

Result<journal::SubmitRequest> VerifySubmission(
    IngressTask& task, const Registry& registry, int64_t now_ms,
    const TimePolicy& time, const LookUpReceipt& lookup, VerifiedRoots* roots) {
  RELAIS_ASSIGN_OR_RETURN(EnvelopeView v, ParseEnvelope(task.envelope));
  task.message_id = std::string(v.message_id);
  if (v.sender != task.participant) {
    return Status::Rejected(wire::RejectCode::SenderMismatch,
                            "header sender '" + std::string(v.sender) +
                                "' is not the connection's identity '" +
                                task.participant + "'");
  }
  if (v.header->payload_encoding() == wire::PayloadEncoding::StatusReport) {
    return Status::Rejected(
        wire::RejectCode::MalformedEnvelope,
        "payload_encoding StatusReport is the broker's own");
  }
  const wire::CaseType type = v.header->case_type();
  const std::string header_sha256 = crypto::Sha256(v.header_bytes);
  journal::PriorReceipt prior;
  if (lookup) {
    // A failed read is the writer's to report: it reads again.
    if (auto found = lookup(v.message_id); found.ok()) prior = *found;
  }
  // The very message this sender already had accepted: the journal answers
  // with the first receipt, even if it has expired, its key was rotated or
  // its route removed since (and no signature needs checking again).
  const bool resent = prior.first && journal::SameMessage(
                                         *prior.first, v.sender, header_sha256);
  if (!resent) {
    // A new message: its case id is logged and shown to every party.
    if (const std::string why = CaseIdProblem(v.case_id); !why.empty()) {
      return Status::Rejected(wire::RejectCode::MalformedEnvelope,
                              "case_id: " + why);
    }
    for (const auto* r : *v.header->recipients()) {
      RELAIS_RETURN_IF_ERROR(
          registry.CheckRoute(v.sender, StringView(r), type));
    }
    RELAIS_ASSIGN_OR_RETURN(const PublicSigningKey* key,
                            registry.keys().FindSigningKey(
                                std::string(v.sender), std::string(v.key_id),
                                v.header->created_at_ms()));
    RELAIS_RETURN_IF_ERROR(
        VerifyEnvelopeSignature(v, key->key, roots, header_sha256));
    RELAIS_RETURN_IF_ERROR(CheckEnvelopeTime(v, now_ms, time));
  }

  journal::SubmitRequest r;
  r.prior = std::move(prior);
  r.message_id = std::string(v.message_id);
  r.case_id = std::string(v.case_id);
  r.sender = std::string(v.sender);
  r.header_sha256 = header_sha256;
  r.subject_ref = std::string(VectorBytes(v.header->subject_ref()));
  r.recipients = RecipientsOf(v);
  r.case_type = type;
  r.expires_at_ms = v.header->expires_at_ms();
  // Who opened the case at a counter (its form checked with the payload).
  if (v.header->payload_encoding() == wire::PayloadEncoding::CaseEvent) {
    const auto* event = flatbuffers::GetRoot<wire::CaseEvent>(v.payload.data());
    if (event->assistance() != nullptr) {
      r.trail_detail = AssistanceTrailDetail(*event->assistance());
    }
  }
  r.envelope = std::move(task.envelope);  // v points into it: used no further
  return r;
}

IngressPool::IngressPool(const Registry* registry, const Clock* clock,
                         IngressLimits limits, size_t threads, AcceptFn accept,
                         RejectFn reject, LookUpReceipt lookup)
    : registry_(registry),
      clock_(clock),
      limits_(limits),
      accept_(std::move(accept)),
      reject_(std::move(reject)),
      lookup_(std::move(lookup)) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      NameThisThread("ingress-verify");
      Work();
    });
  }
}

IngressPool::~IngressPool() { Stop(); }

std::optional<IngressRejection> IngressPool::Admit(IngressTask task) {
  const size_t bytes = task.envelope.size();
  auto refuse = [&](wire::RejectCode code, std::string reason) {
    std::string message_id = PeekMessageId(task.envelope);
    return IngressRejection{std::move(task.reply), std::move(task.participant),
                            std::move(message_id),
                            Status::Rejected(code, std::move(reason))};
  };
  if (bytes > limits_.max_message_bytes) {
    return refuse(wire::RejectCode::MessageTooLarge,
                  "envelope of " + std::to_string(bytes) +
                      " bytes exceeds the limit of " +
                      std::to_string(limits_.max_message_bytes));
  }
  if (pending_bytes_.fetch_add(bytes) + bytes > limits_.max_pending_bytes) {
    pending_bytes_.fetch_sub(bytes);
    return refuse(wire::RejectCode::Overloaded,
                  "too many bytes awaiting the journal; retry later");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && queue_.size() < limits_.max_queued) {
      queue_.emplace_back(next_ticket_++, std::move(task));
      cv_.notify_one();
      return std::nullopt;
    }
  }
  pending_bytes_.fetch_sub(bytes);
  return refuse(wire::RejectCode::Overloaded,
                "ingress queue is full; retry later");
}

void IngressPool::Release(size_t envelope_bytes) {
  pending_bytes_.fetch_sub(envelope_bytes);
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
    auto result = VerifySubmission(item.second, *registry_, clock_->NowMs(),
                                   limits_.time, lookup_, &roots_);
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
      r.received = task.received;
      r.posted = std::chrono::steady_clock::now();
      accept_(std::move(r));
    } else {
      Release(task.envelope.size());
      // An envelope that did not parse may still name its message.
      if (task.message_id.empty())
        task.message_id = PeekMessageId(task.envelope);
      reject_(IngressRejection{std::move(task.reply),
                               std::move(task.participant),
                               std::move(task.message_id), result.status()});
    }
  }
}

}  // namespace relais::broker
