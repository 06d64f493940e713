#include "broker/frames/replies.h"

#include "core/frame.h"

namespace relais::broker {

wire::RejectCode RejectCodeOf(const Status& s) {
  return s.code() == Status::Code::kRejected
             ? s.reject_code()
             : wire::RejectCode::JournalUnavailable;
}

Outgoing RejectionTo(const journal::ReplyTo& to, const Status& status,
                     std::string_view message_id) {
  return {to.routing_id,
          RejectedFrame(to.request_id, RejectCodeOf(status), status.message(),
                        message_id),
          to.bundled};
}

std::vector<Outgoing> ReplyFrames(const journal::CommitReport& report) {
  std::vector<Outgoing> frames;
  frames.reserve(report.submits.size() + report.operator_outcomes.size() +
                 report.status_outcomes.size() +
                 report.subject_outcomes.size());
  for (const auto& s : report.submits) {
    if (!s.status.ok()) {
      frames.push_back(RejectionTo(s.reply, s.status, s.message_id));
      continue;
    }
    frames.push_back({s.reply.routing_id,
                      AcceptedFrame(s.reply.request_id, s.message_id,
                                    s.sequence, s.accepted_at_ms, s.duplicate),
                      s.reply.bundled});
  }
  for (const auto& o : report.operator_outcomes) {
    if (!o.status.ok()) {
      // NotFound: no such dead letter; anything else is the journal's.
      frames.push_back(RejectionTo(
          o.reply, o.status.code() == Status::Code::kNotFound
                       ? Status::Rejected(wire::RejectCode::UnknownDelivery,
                                          o.status.message())
                       : o.status));
      continue;
    }
    frames.push_back({o.reply.routing_id,
                      AdminReplyFrame(o.reply.request_id,
                                      o.replay ? wire::AdminOp::ReplayDeadLetter
                                               : wire::AdminOp::DropDeadLetter,
                                      {o.dead_letter}, {}, false, nullptr),
                      o.reply.bundled});
  }
  for (const auto& b : report.backups) {
    if (!b.status.ok()) {
      frames.push_back(RejectionTo(b.reply, b.status));
      continue;
    }
    wire::BackupMadeT made;
    made.folder = b.folder;
    made.sequence = b.sequence;
    made.bytes = b.bytes;
    made.made_at_ms = b.made_at_ms;
    frames.push_back({b.reply.routing_id,
                      AdminReplyFrame(b.reply.request_id, wire::AdminOp::Backup,
                                      {}, {}, false, nullptr, &made),
                      b.reply.bundled});
  }
  for (const auto& o : report.status_outcomes) {
    frames.push_back(
        o.status.ok()
            ? Outgoing{o.reply.routing_id,
                       StatusRecordedFrame(o.reply.request_id, o.message_id,
                                           o.state, o.changed, o.at_ms),
                       o.reply.bundled}
            : RejectionTo(o.reply, o.status, o.message_id));
  }
  for (const auto& o : report.subject_outcomes) {
    frames.push_back(o.status.ok()
                         ? Outgoing{o.reply.routing_id,
                                    SubjectsRegisteredFrame(o.reply.request_id,
                                                            o.changed, o.count),
                                    o.reply.bundled}
                         : RejectionTo(o.reply, o.status));
  }
  return frames;
}

}  // namespace relais::broker
