#include "broker/frames/inbound.h"

#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais::broker {

Status CheckHello(const wire::Hello& h, std::string_view participant) {
  RELAIS_RETURN_IF_ERROR(CheckWireText(
      "Hello.participant", StringView(h.participant()), kMaxParticipantIdSize));
  RELAIS_RETURN_IF_ERROR(CheckWireText(
      "Hello.software", StringView(h.software()), kMaxSoftwareBytes));
  if (StringView(h.participant()) != participant) {
    return Status::Rejected(wire::RejectCode::HelloMismatch,
                            "Hello says '" +
                                std::string(StringView(h.participant())) +
                                "' but the CURVE key belongs to '" +
                                std::string(participant) + "'");
  }
  if (h.protocol_version() != kProtocolVersion) {
    return Status::Rejected(wire::RejectCode::UnsupportedVersion,
                            "protocol version " +
                                std::to_string(h.protocol_version()) +
                                " is not supported (this broker speaks 1)");
  }
  return Status::OK();
}

Status CheckCredit(const wire::Credit& credit, uint32_t max_window) {
  if (credit.window() <= max_window) return Status::OK();
  return Status::Rejected(
      wire::RejectCode::WindowTooLarge,
      "Credit asks for a window of " + std::to_string(credit.window()) +
          "; this broker grants at most " + std::to_string(max_window));
}

Status CheckAck(const wire::DeliveryAck& a) {
  // The Verifier does not range-check enums.
  if (a.outcome() != wire::AckOutcome::Processed &&
      a.outcome() != wire::AckOutcome::Rejected) {
    return Status::Rejected(
        wire::RejectCode::MalformedFrame,
        "unknown ack outcome " + std::to_string(static_cast<int>(a.outcome())));
  }
  // The reason goes into the case, the audit chain and the sender's
  // status report.
  return CheckWireText("DeliveryAck.reason", StringView(a.reason()),
                       kMaxReasonBytes);
}

Result<journal::StatusRequest> StatusRequestOf(const wire::StatusUpdate& u,
                                               std::string_view participant,
                                               journal::ReplyTo reply) {
  using S = wire::RecipientState;
  const std::string_view message_id = VectorBytes(u.message_id());
  const std::string_view reason = StringView(u.reason());
  RELAIS_RETURN_IF_ERROR(
      CheckWireText("StatusUpdate.reason", reason, kMaxReasonBytes));
  if (message_id.size() != kMessageIdSize ||
      (u.state() != S::Received && u.state() != S::InProgress &&
       u.state() != S::Done && u.state() != S::Rejected)) {
    return Status::Rejected(wire::RejectCode::MalformedFrame,
                            "a StatusUpdate needs a 16-byte message id and a "
                            "state among Received, InProgress, Done and "
                            "Rejected");
  }
  journal::StatusRequest r;
  r.reply = std::move(reply);
  r.participant = std::string(participant);
  r.message_id = std::string(message_id);
  r.state = u.state();
  r.reason = std::string(reason);
  return r;
}

Result<journal::SubjectRequest> SubjectRequestOf(
    const wire::SubjectRegistration& registration, std::string_view participant,
    journal::ReplyTo reply) {
  const std::string_view refs = VectorBytes(registration.subject_refs());
  if (refs.empty() || refs.size() % kSubjectRefSize != 0 ||
      refs.size() > kMaxSubjectRefs * kSubjectRefSize) {
    return Status::Rejected(wire::RejectCode::MalformedFrame,
                            "a SubjectRegistration needs 1 to " +
                                std::to_string(kMaxSubjectRefs) +
                                " subject references of 32 bytes each");
  }
  journal::SubjectRequest s;
  s.reply = std::move(reply);
  s.participant = std::string(participant);
  s.unregister = registration.unregister();
  for (size_t at = 0; at < refs.size(); at += kSubjectRefSize) {
    s.subject_refs.emplace_back(refs.substr(at, kSubjectRefSize));
  }
  return s;
}

}  // namespace relais::broker
