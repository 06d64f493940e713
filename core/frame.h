#pragma once

// Frames on the wire (schemas/frames.fbs): one parser for untrusted bytes
// and one builder per body. Builders return the finished FlatBuffer bytes,
// ready to be one ZeroMQ message.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "schemas/frames_generated.h"

namespace relais {

inline constexpr char kFrameIdentifier[] = "RLF1";
inline constexpr char kCaseStateIdentifier[] = "RLS1";
inline constexpr uint16_t kProtocolVersion = 1;
// The most frames one Bundle may carry, either way (Welcome.max_bundle_frames).
inline constexpr uint32_t kMaxBundleFrames = 1024;
// The bytes relais puts in one bundle it builds, about (a larger frame goes
// alone): enough to share a message among a hundred 1 KiB envelopes, and
// small enough that bundles do not swell the heaps of the threads that
// build and read them.
inline constexpr size_t kBundleBytes = 128 << 10;

// Verifies `bytes` as a Frame (identifier "RLF1") whose body type is one
// this version knows. Nested envelopes and case states are not verified here:
// ParseEnvelope and ParseCaseState do that, with their identifiers.
// Rejected(MalformedFrame) otherwise. The result points into `bytes`.
Result<const wire::Frame*> ParseFrame(std::string_view bytes);

// The frame bytes a Bundle carries, in order (a missing one is empty).
std::vector<std::string_view> BundledFrames(const wire::Bundle& bundle);
// One of them, readable in place: `bytes` itself when it sits at an 8-byte
// boundary (as every builder here puts it), else a copy in `*copy`, which
// must outlive the result.
std::string_view AlignedFrameBytes(std::string_view bytes, std::string* copy);
// ParseFrame for one of them, on AlignedFrameBytes.
Result<const wire::Frame*> ParseBundledFrame(std::string_view bytes,
                                             std::string* copy);

// Verifies a CaseState buffer (identifier "RLS1"); null if invalid.
const wire::CaseState* ParseCaseState(std::string_view bytes);

struct WelcomeInfo {
  std::string broker;
  uint32_t max_message_bytes = 0;
  uint32_t heartbeat_interval_ms = 0;
  int64_t server_time_ms = 0;
  uint32_t window = 0;
  uint32_t max_window = 0;
  uint32_t max_bundle_frames = 0;
};

// `bundles`: this connection reads Bundle frames (Hello.bundles).
std::string HelloFrame(uint64_t request_id, std::string_view participant,
                       uint32_t window, std::string_view software,
                       bool bundles = false);
std::string WelcomeFrame(uint64_t request_id, const WelcomeInfo& info);
std::string SubmitFrame(uint64_t request_id, std::string_view envelope);
std::string AcceptedFrame(uint64_t request_id, std::string_view message_id,
                          uint64_t sequence, int64_t accepted_at_ms,
                          bool duplicate);
// `message_id` may be empty when unknown.
std::string RejectedFrame(uint64_t request_id, wire::RejectCode code,
                          std::string_view reason, std::string_view message_id);
std::string DeliverFrame(uint64_t sequence, uint32_t attempt,
                         std::string_view envelope, bool replayed = false);
std::string DeliveryAckFrame(uint64_t request_id, uint64_t sequence,
                             std::string_view message_id,
                             wire::AckOutcome outcome, std::string_view reason);
// A Bundle of finished frames (each must not itself be a Bundle).
std::string BundleFrame(uint64_t request_id,
                        const std::vector<std::string_view>& frames);
// Gathers frames into bundles of at most `max_frames` frames and about
// `max_bytes` bytes (a frame larger than that goes alone): Add returns the
// ZeroMQ messages to send now, Finish the last one. A lone frame is sent as
// it is, not wrapped.
class BundlePacker {
 public:
  BundlePacker(uint32_t max_frames, size_t max_bytes)
      : max_frames_(max_frames), max_bytes_(max_bytes) {}
  // Appends `frame`; returns the bundle it completes, or empty.
  std::string Add(std::string frame);
  // The frames added since the last message, as one message (empty if
  // none).
  std::string Finish();
  bool empty() const { return frames_.empty(); }

 private:
  uint32_t max_frames_;
  size_t max_bytes_;
  std::vector<std::string> frames_;
  size_t bytes_ = 0;
};

std::string CreditFrame(uint64_t request_id, uint32_t window);
std::string HeartbeatFrame(uint64_t request_id, int64_t sent_at_ms);
std::string CaseStatusQueryFrame(uint64_t request_id, std::string_view case_id);
std::string CaseStatusReplyFrame(uint64_t request_id, std::string_view case_id,
                                 std::string_view case_state);

std::string AdminRequestFrame(uint64_t request_id, wire::AdminOp op,
                              std::string_view recipient, uint64_t sequence,
                              uint32_t limit,
                              const wire::CaseFilterT* cases = nullptr);
// `dead_letters` are DeadLetter buffers as the journal keeps them (they are
// verified again here; ones that do not verify are left out).
std::string StatusUpdateFrame(uint64_t request_id, std::string_view message_id,
                              wire::RecipientState state,
                              std::string_view reason);
std::string StatusRecordedFrame(uint64_t request_id,
                                std::string_view message_id,
                                wire::RecipientState state, bool changed,
                                int64_t recorded_at_ms);
// `subject_refs`: 32-byte references, concatenated.
std::string SubjectRegistrationFrame(uint64_t request_id,
                                     std::string_view subject_refs,
                                     bool unregister);
std::string SubjectsRegisteredFrame(uint64_t request_id, uint32_t changed,
                                    uint32_t count);
std::string RouteQueryFrame(uint64_t request_id, wire::CaseType case_type,
                            std::string_view subject_ref);
std::string RouteReplyFrame(uint64_t request_id,
                            const std::vector<std::string>& recipients);
// AdminReply to ListCases: the page, `more` and where to go on from.
std::string CaseListFrame(uint64_t request_id,
                          const std::vector<wire::CaseSummaryT>& cases,
                          bool more, std::string_view next_case_id);
std::string AdminReplyFrame(uint64_t request_id, wire::AdminOp op,
                            const std::vector<std::string>& dead_letters,
                            std::string_view envelope, bool more,
                            const wire::BrokerStatsT* stats,
                            const wire::BackupMadeT* backup = nullptr);

}  // namespace relais
