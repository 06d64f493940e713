#pragma once

// How a case's state (schemas/case_state.fbs) changes as its messages are
// accepted and acknowledged: per-recipient status and the case's trail.
// Pure functions over the FlatBuffers object API; the JournalWriter applies
// them inside its batches.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/case_state_generated.h"
#include "schemas/frames_generated.h"

namespace relais::broker::cases {

// Trail entries kept per case; older ones (but the first) are dropped. The
// audit chain keeps everything.
inline constexpr size_t kMaxTrailEntries = 512;

struct AcceptedMessage {
  std::string_view message_id;
  std::string_view case_id;
  std::string_view sender;
  std::string_view subject_ref;
  wire::CaseType case_type = wire::CaseType::Unknown;
  const std::vector<std::string>* recipients = nullptr;
  uint64_t sequence = 0;
  int64_t at_ms = 0;
  std::string_view detail;  // the trail entry's detail (may be empty)
};

// True if `participant` opened the case or is one of its recipients.
bool IsPartyTo(const wire::CaseStateT& state, std::string_view participant);
bool IsPartyTo(const wire::CaseState& state, std::string_view participant);

// Opens the case if `state` is empty (no case_id yet), then marks each
// recipient Sent with this message and adds an Accepted trail entry (with
// `m.detail`).
void ApplyAccepted(wire::CaseStateT* state, const AcceptedMessage& m);

// When the case's message of broker sequence `sequence` was accepted (its
// Accepted trail entry), or 0 if the trail has none.
int64_t AcceptedAtMs(const wire::CaseStateT& state, uint64_t sequence);

// Records `recipient`'s acknowledgement of message `message_id`: status
// Delivered (outcome Processed) or Rejected with `reason`, and a trail entry.
// The status only moves if it concerns the recipient's latest message.
void ApplyAck(wire::CaseStateT* state, std::string_view recipient,
              std::string_view message_id, uint64_t sequence,
              wire::AckOutcome outcome, std::string_view reason, int64_t at_ms);

// Records that message `message_id` became a dead letter for `recipient`:
// status `reason` (Expired or Undeliverable) with `detail`, and a trail
// entry (Expired or DeadLettered). The status only moves if it concerns the
// recipient's latest message.
void ApplyDeadLetter(wire::CaseStateT* state, std::string_view recipient,
                     std::string_view message_id, uint64_t sequence,
                     wire::RecipientState reason, std::string_view detail,
                     int64_t at_ms);

// Records an operator's replay (status back to Sent, trail Replayed) or
// drop (trail Purged; the status stays) of a dead letter. `detail` names
// the operator.
void ApplyOperatorAction(wire::CaseStateT* state, std::string_view recipient,
                         std::string_view message_id, uint64_t sequence,
                         bool replayed, std::string_view detail, int64_t at_ms);

// `recipient`'s status in `state`, or null.
wire::RecipientStatusT* FindRecipient(wire::CaseStateT* state,
                                      std::string_view recipient);

// Whether a partner's StatusUpdate may move a recipient from `from` to
// `to`: Received < InProgress < Done, forward only, from Delivered on; and
// Rejected from Delivered, Received or InProgress.
bool PartnerStatusFollows(wire::RecipientState from, wire::RecipientState to);
// The trail event of a partner's status (Received, InProgress, Done or
// Rejected).
wire::TraceEvent PartnerTraceEvent(wire::RecipientState state);
// Records a partner's progress with message `message_id`: the recipient's
// status `to` (with `reason`) if it is about its latest message, and a
// trail entry.
void ApplyPartnerStatus(wire::CaseStateT* state, std::string_view recipient,
                        std::string_view message_id, uint64_t sequence,
                        wire::RecipientState to, std::string_view reason,
                        int64_t at_ms);

}  // namespace relais::broker::cases
