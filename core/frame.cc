#include "core/frame.h"

#include "core/flatbuf.h"

namespace relais {
namespace {

using flatbuffers::FlatBufferBuilder;

template <typename T>
std::string Finish(FlatBufferBuilder& fbb, uint64_t request_id,
                   flatbuffers::Offset<T> body) {
  const auto frame = wire::CreateFrame(
      fbb, request_id, wire::BodyTraits<T>::enum_value, body.Union());
  fbb.Finish(frame, kFrameIdentifier);
  return BufferBytes(fbb);
}

flatbuffers::Offset<flatbuffers::String> OptionalString(FlatBufferBuilder& fbb,
                                                        std::string_view s) {
  return s.empty() ? 0 : fbb.CreateString(s);
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> OptionalBytes(
    FlatBufferBuilder& fbb, std::string_view s) {
  return s.empty() ? 0 : CreateBytes(fbb, s);
}

}  // namespace

Result<const wire::Frame*> ParseFrame(std::string_view bytes) {
  const auto* frame = VerifiedRoot<wire::Frame>(bytes, kFrameIdentifier,
                                                /*verify_nested=*/false);
  if (frame == nullptr) {
    return Status::Rejected(wire::RejectCode::MalformedFrame,
                            "not a valid Frame FlatBuffer (identifier RLF1)");
  }
  const auto type = static_cast<uint8_t>(frame->body_type());
  if (type == 0 || type > static_cast<uint8_t>(wire::Body::MAX) ||
      frame->body() == nullptr) {
    return Status::Rejected(
        wire::RejectCode::MalformedFrame,
        "frame body type " + std::to_string(type) + " is missing or unknown");
  }
  return frame;
}

std::vector<std::string_view> BundledFrames(const wire::Bundle& bundle) {
  std::vector<std::string_view> out;
  if (bundle.frames() == nullptr) return out;
  out.reserve(bundle.frames()->size());
  for (const auto* f : *bundle.frames()) {
    out.push_back(f == nullptr ? std::string_view() : VectorBytes(f->frame()));
  }
  return out;
}

std::string_view AlignedFrameBytes(std::string_view bytes, std::string* copy) {
  if (reinterpret_cast<uintptr_t>(bytes.data()) % 8 == 0) return bytes;
  copy->assign(bytes);
  return *copy;
}

Result<const wire::Frame*> ParseBundledFrame(std::string_view bytes,
                                             std::string* copy) {
  return ParseFrame(AlignedFrameBytes(bytes, copy));
}

const wire::CaseState* ParseCaseState(std::string_view bytes) {
  return VerifiedRoot<wire::CaseState>(bytes, kCaseStateIdentifier);
}

std::string HelloFrame(uint64_t request_id, std::string_view participant,
                       uint32_t window, std::string_view software,
                       bool bundles) {
  FlatBufferBuilder fbb(128);
  return Finish(
      fbb, request_id,
      wire::CreateHello(fbb, kProtocolVersion, fbb.CreateString(participant),
                        window, OptionalString(fbb, software), bundles));
}

std::string WelcomeFrame(uint64_t request_id, const WelcomeInfo& info) {
  FlatBufferBuilder fbb(128);
  return Finish(
      fbb, request_id,
      wire::CreateWelcome(fbb, kProtocolVersion, fbb.CreateString(info.broker),
                          info.max_message_bytes, info.heartbeat_interval_ms,
                          info.server_time_ms, info.window, info.max_window,
                          info.max_bundle_frames));
}

std::string BundleFrame(uint64_t request_id,
                        const std::vector<std::string_view>& frames) {
  size_t bytes = 64;
  for (const auto& f : frames) bytes += f.size() + 24;
  FlatBufferBuilder fbb(bytes);
  std::vector<flatbuffers::Offset<wire::BundledFrame>> bundled;
  bundled.reserve(frames.size());
  for (const auto& f : frames) {
    bundled.push_back(wire::CreateBundledFrame(fbb, CreateNestedBytes(fbb, f)));
  }
  return Finish(fbb, request_id,
                wire::CreateBundle(fbb, fbb.CreateVector(bundled)));
}

std::string BundlePacker::Add(std::string frame) {
  std::string full;
  if (!frames_.empty() &&
      (frames_.size() >= max_frames_ || bytes_ + frame.size() > max_bytes_)) {
    full = Finish();
  }
  bytes_ += frame.size();
  frames_.push_back(std::move(frame));
  return full;
}

std::string BundlePacker::Finish() {
  std::string out;
  if (frames_.size() == 1) {
    out = std::move(frames_.front());
  } else if (!frames_.empty()) {
    out = BundleFrame(0, {frames_.begin(), frames_.end()});
  }
  frames_.clear();
  bytes_ = 0;
  return out;
}

std::string SubmitFrame(uint64_t request_id, std::string_view envelope) {
  FlatBufferBuilder fbb(envelope.size() + 64);
  return Finish(fbb, request_id,
                wire::CreateSubmit(fbb, CreateNestedBytes(fbb, envelope)));
}

std::string AcceptedFrame(uint64_t request_id, std::string_view message_id,
                          uint64_t sequence, int64_t accepted_at_ms,
                          bool duplicate) {
  FlatBufferBuilder fbb(96);
  return Finish(fbb, request_id,
                wire::CreateAccepted(fbb, CreateBytes(fbb, message_id),
                                     sequence, accepted_at_ms, duplicate));
}

std::string RejectedFrame(uint64_t request_id, wire::RejectCode code,
                          std::string_view reason,
                          std::string_view message_id) {
  FlatBufferBuilder fbb(128 + reason.size());
  return Finish(fbb, request_id,
                wire::CreateRejected(fbb, code, fbb.CreateString(reason),
                                     OptionalBytes(fbb, message_id)));
}

std::string DeliverFrame(uint64_t sequence, uint32_t attempt,
                         std::string_view envelope, bool replayed) {
  FlatBufferBuilder fbb(envelope.size() + 64);
  return Finish(
      fbb, 0,
      wire::CreateDeliver(fbb, sequence, attempt,
                          CreateNestedBytes(fbb, envelope), replayed));
}

std::string DeliveryAckFrame(uint64_t request_id, uint64_t sequence,
                             std::string_view message_id,
                             wire::AckOutcome outcome,
                             std::string_view reason) {
  FlatBufferBuilder fbb(96 + reason.size());
  return Finish(
      fbb, request_id,
      wire::CreateDeliveryAck(fbb, sequence, CreateBytes(fbb, message_id),
                              outcome, OptionalString(fbb, reason)));
}

std::string CreditFrame(uint64_t request_id, uint32_t window) {
  FlatBufferBuilder fbb(48);
  return Finish(fbb, request_id, wire::CreateCredit(fbb, window));
}

std::string HeartbeatFrame(uint64_t request_id, int64_t sent_at_ms) {
  FlatBufferBuilder fbb(48);
  return Finish(fbb, request_id, wire::CreateHeartbeat(fbb, sent_at_ms));
}

std::string CaseStatusQueryFrame(uint64_t request_id,
                                 std::string_view case_id) {
  FlatBufferBuilder fbb(96);
  return Finish(fbb, request_id,
                wire::CreateCaseStatusQuery(fbb, fbb.CreateString(case_id)));
}

std::string CaseStatusReplyFrame(uint64_t request_id, std::string_view case_id,
                                 std::string_view case_state) {
  FlatBufferBuilder fbb(case_state.size() + 96);
  return Finish(
      fbb, request_id,
      wire::CreateCaseStatusReply(fbb, fbb.CreateString(case_id),
                                  CreateNestedBytes(fbb, case_state)));
}

std::string AdminRequestFrame(uint64_t request_id, wire::AdminOp op,
                              std::string_view recipient, uint64_t sequence,
                              uint32_t limit, const wire::CaseFilterT* cases) {
  FlatBufferBuilder fbb(128);
  const auto filter = cases ? wire::CaseFilter::Pack(fbb, cases)
                            : flatbuffers::Offset<wire::CaseFilter>();
  return Finish(
      fbb, request_id,
      wire::CreateAdminRequest(fbb, op, OptionalString(fbb, recipient),
                               sequence, limit, filter));
}

std::string StatusUpdateFrame(uint64_t request_id, std::string_view message_id,
                              wire::RecipientState state,
                              std::string_view reason) {
  FlatBufferBuilder fbb(128);
  return Finish(fbb, request_id,
                wire::CreateStatusUpdate(fbb, CreateBytes(fbb, message_id),
                                         state, OptionalString(fbb, reason)));
}

std::string StatusRecordedFrame(uint64_t request_id,
                                std::string_view message_id,
                                wire::RecipientState state, bool changed,
                                int64_t recorded_at_ms) {
  FlatBufferBuilder fbb(96);
  return Finish(fbb, request_id,
                wire::CreateStatusRecorded(fbb, CreateBytes(fbb, message_id),
                                           state, changed, recorded_at_ms));
}

std::string SubjectRegistrationFrame(uint64_t request_id,
                                     std::string_view subject_refs,
                                     bool unregister) {
  FlatBufferBuilder fbb(64 + subject_refs.size());
  return Finish(fbb, request_id,
                wire::CreateSubjectRegistration(
                    fbb, CreateBytes(fbb, subject_refs), unregister));
}

std::string SubjectsRegisteredFrame(uint64_t request_id, uint32_t changed,
                                    uint32_t count) {
  FlatBufferBuilder fbb(64);
  return Finish(fbb, request_id,
                wire::CreateSubjectsRegistered(fbb, changed, count));
}

std::string RouteQueryFrame(uint64_t request_id, wire::CaseType case_type,
                            std::string_view subject_ref) {
  FlatBufferBuilder fbb(96);
  return Finish(fbb, request_id,
                wire::CreateRouteQuery(
                    fbb, case_type,
                    subject_ref.empty() ? 0 : CreateBytes(fbb, subject_ref)));
}

std::string RouteReplyFrame(uint64_t request_id,
                            const std::vector<std::string>& recipients) {
  FlatBufferBuilder fbb(128);
  return Finish(
      fbb, request_id,
      wire::CreateRouteReply(fbb, fbb.CreateVectorOfStrings(recipients)));
}

std::string CaseListFrame(uint64_t request_id,
                          const std::vector<wire::CaseSummaryT>& cases,
                          bool more, std::string_view next_case_id) {
  FlatBufferBuilder fbb(256 + 128 * cases.size());
  std::vector<flatbuffers::Offset<wire::CaseSummary>> items;
  items.reserve(cases.size());
  for (const auto& c : cases) items.push_back(wire::CaseSummary::Pack(fbb, &c));
  const auto list = fbb.CreateVector(items);
  const auto next = fbb.CreateString(next_case_id);
  wire::AdminReplyBuilder b(fbb);
  b.add_op(wire::AdminOp::ListCases);
  b.add_cases(list);
  b.add_more(more);
  b.add_next_case_id(next);
  return Finish(fbb, request_id, b.Finish());
}

std::string AdminReplyFrame(uint64_t request_id, wire::AdminOp op,
                            const std::vector<std::string>& dead_letters,
                            std::string_view envelope, bool more,
                            const wire::BrokerStatsT* stats,
                            const wire::BackupMadeT* backup) {
  FlatBufferBuilder fbb(512 + envelope.size());
  std::vector<flatbuffers::Offset<wire::DeadLetter>> items;
  for (const auto& bytes : dead_letters) {
    flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(bytes.data()),
                            bytes.size());
    if (!v.VerifyBuffer<wire::DeadLetter>(nullptr)) continue;
    wire::DeadLetterT t;
    flatbuffers::GetRoot<wire::DeadLetter>(bytes.data())->UnPackTo(&t);
    items.push_back(wire::DeadLetter::Pack(fbb, &t));
  }
  const auto list = fbb.CreateVector(items);
  const auto env = envelope.empty()
                       ? flatbuffers::Offset<flatbuffers::Vector<uint8_t>>()
                       : CreateNestedBytes(fbb, envelope);
  const auto st = stats ? wire::BrokerStats::Pack(fbb, stats)
                        : flatbuffers::Offset<wire::BrokerStats>();
  const auto made = backup ? wire::BackupMade::Pack(fbb, backup)
                           : flatbuffers::Offset<wire::BackupMade>();
  return Finish(fbb, request_id,
                wire::CreateAdminReply(fbb, op, list, env, more, st, made));
}

}  // namespace relais
