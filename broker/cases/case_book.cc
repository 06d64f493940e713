#include "broker/cases/case_book.h"

#include "core/flatbuf.h"

namespace relais::broker::cases {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

void AddTrail(wire::CaseStateT* state, int64_t at_ms, wire::TraceEvent event,
              std::string_view party, std::string_view message_id,
              uint64_t sequence, std::string_view detail) {
  auto entry = std::make_unique<wire::TrailEntryT>();
  entry->at_ms = at_ms;
  entry->event = event;
  entry->party = std::string(party);
  entry->message_id = Bytes(message_id);
  entry->sequence = sequence;
  entry->detail = std::string(detail);
  state->trail.push_back(std::move(entry));
  if (state->trail.size() > kMaxTrailEntries) {
    state->trail.erase(state->trail.begin() + 1);
  }
}

// Moves `recipient`'s status to `to` if `message_id` is its latest message.
void SetLatestStatus(wire::CaseStateT* state, std::string_view recipient,
                     std::string_view message_id, wire::RecipientState to,
                     std::string_view reason, int64_t at_ms) {
  wire::RecipientStatusT* r = FindRecipient(state, recipient);
  if (r != nullptr && Bytes(message_id) == r->message_id) {
    r->state = to;
    r->updated_at_ms = at_ms;
    r->reason = std::string(reason);
  }
}

}  // namespace

wire::RecipientStatusT* FindRecipient(wire::CaseStateT* state,
                                      std::string_view recipient) {
  for (auto& r : state->recipients) {
    if (r->recipient == recipient) return r.get();
  }
  return nullptr;
}

bool PartnerStatusFollows(wire::RecipientState from, wire::RecipientState to) {
  using S = wire::RecipientState;
  const bool open =
      from == S::Delivered || from == S::Received || from == S::InProgress;
  switch (to) {
    case S::Received:
    case S::InProgress:
    case S::Done:
      return open && static_cast<int>(to) > static_cast<int>(from);
    case S::Rejected:
      return open;
    default:
      return false;
  }
}

wire::TraceEvent PartnerTraceEvent(wire::RecipientState state) {
  switch (state) {
    case wire::RecipientState::Received:
      return wire::TraceEvent::Received;
    case wire::RecipientState::InProgress:
      return wire::TraceEvent::InProgress;
    case wire::RecipientState::Done:
      return wire::TraceEvent::Done;
    default:
      return wire::TraceEvent::Rejected;
  }
}

void ApplyPartnerStatus(wire::CaseStateT* state, std::string_view recipient,
                        std::string_view message_id, uint64_t sequence,
                        wire::RecipientState to, std::string_view reason,
                        int64_t at_ms) {
  SetLatestStatus(state, recipient, message_id, to, reason, at_ms);
  AddTrail(state, at_ms, PartnerTraceEvent(to), recipient, message_id, sequence,
           reason);
}

bool IsPartyTo(const wire::CaseStateT& state, std::string_view participant) {
  if (state.originator == participant) return true;
  for (const auto& r : state.recipients) {
    if (r->recipient == participant) return true;
  }
  return false;
}

bool IsPartyTo(const wire::CaseState& state, std::string_view participant) {
  if (StringView(state.originator()) == participant) return true;
  if (state.recipients() == nullptr) return false;
  for (const auto* r : *state.recipients()) {
    if (StringView(r->recipient()) == participant) return true;
  }
  return false;
}

void ApplyAccepted(wire::CaseStateT* state, const AcceptedMessage& m) {
  if (state->case_id.empty()) {
    state->case_id = std::string(m.case_id);
    state->case_type = m.case_type;
    state->originator = std::string(m.sender);
    state->opened_at_ms = m.at_ms;
    state->subject_ref = Bytes(m.subject_ref);
  }
  for (const auto& recipient : *m.recipients) {
    wire::RecipientStatusT* r = FindRecipient(state, recipient);
    if (r == nullptr) {
      state->recipients.push_back(std::make_unique<wire::RecipientStatusT>());
      r = state->recipients.back().get();
      r->recipient = recipient;
    }
    r->state = wire::RecipientState::Sent;
    r->updated_at_ms = m.at_ms;
    r->reason.clear();
    r->message_id = Bytes(m.message_id);
  }
  AddTrail(state, m.at_ms, wire::TraceEvent::Accepted, m.sender, m.message_id,
           m.sequence, m.detail);
}

int64_t AcceptedAtMs(const wire::CaseStateT& state, uint64_t sequence) {
  // The latest entries first: an acknowledged message is usually recent.
  for (auto it = state.trail.rbegin(); it != state.trail.rend(); ++it) {
    const wire::TrailEntryT& e = **it;
    if (e.event == wire::TraceEvent::Accepted && e.sequence == sequence) {
      return e.at_ms;
    }
  }
  return 0;
}

void ApplyAck(wire::CaseStateT* state, std::string_view recipient,
              std::string_view message_id, uint64_t sequence,
              wire::AckOutcome outcome, std::string_view reason,
              int64_t at_ms) {
  const bool refused = outcome == wire::AckOutcome::Rejected;
  SetLatestStatus(state, recipient, message_id,
                  refused ? wire::RecipientState::Rejected
                          : wire::RecipientState::Delivered,
                  refused ? reason : "", at_ms);
  AddTrail(state, at_ms,
           refused ? wire::TraceEvent::Rejected : wire::TraceEvent::Delivered,
           recipient, message_id, sequence, refused ? reason : "");
}

void ApplyDeadLetter(wire::CaseStateT* state, std::string_view recipient,
                     std::string_view message_id, uint64_t sequence,
                     wire::RecipientState reason, std::string_view detail,
                     int64_t at_ms) {
  SetLatestStatus(state, recipient, message_id, reason, detail, at_ms);
  AddTrail(state, at_ms,
           reason == wire::RecipientState::Expired
               ? wire::TraceEvent::Expired
               : wire::TraceEvent::DeadLettered,
           recipient, message_id, sequence, detail);
}

void ApplyOperatorAction(wire::CaseStateT* state, std::string_view recipient,
                         std::string_view message_id, uint64_t sequence,
                         bool replayed, std::string_view detail,
                         int64_t at_ms) {
  wire::RecipientStatusT* r = FindRecipient(state, recipient);
  if (replayed && r != nullptr && Bytes(message_id) == r->message_id) {
    r->state = wire::RecipientState::Sent;
    r->updated_at_ms = at_ms;
    r->reason.clear();
  }
  AddTrail(state, at_ms,
           replayed ? wire::TraceEvent::Replayed : wire::TraceEvent::Purged,
           recipient, message_id, sequence, detail);
}

}  // namespace relais::broker::cases
