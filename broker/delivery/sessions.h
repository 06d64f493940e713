#pragma once

// Delivery to connected recipients: one session per participant (the
// connection of its latest Hello with window > 0), a window of deliveries in
// flight, a cursor into the participant's outbox, and acks.
//
// At least once: a delivery leaves the outbox only when its ack is
// journaled. A new session (reconnect, takeover, broker restart) starts its
// cursor at 0, so everything still in the outbox is sent again, in sequence
// order. The backlog stays on disk; memory per session is bounded by its
// window.
//
// Thread-safety: none; owned by the broker loop thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "broker/journal/journal.h"
#include "broker/journal/writer.h"
#include "core/status.h"

namespace relais::broker::delivery {

class Sessions {
 public:
  // Sends `frame` to `routing_id`; Unavailable if the peer is gone or full.
  using SendFn = std::function<Status(const std::string& routing_id,
                                      std::string_view frame)>;

  // `journal` must outlive this object.
  Sessions(const journal::Journal* journal, SendFn send)
      : journal_(journal), send_(std::move(send)) {}

  // Starts (or takes over) `participant`'s deliveries on `routing_id` with
  // `window` deliveries in flight at most; window 0 ends its session if this
  // connection held it.
  void Open(const std::string& participant, const std::string& routing_id,
            uint32_t window);
  // Rejected(UnexpectedFrame) if `routing_id` holds no session.
  Status SetWindow(const std::string& routing_id, uint32_t window);
  // Matches an ack against the deliveries in flight on `routing_id`.
  // Rejected(UnknownDelivery) if sequence and message id do not match one.
  Result<journal::AckRequest> Ack(const std::string& routing_id,
                                  uint64_t sequence,
                                  std::string_view message_id,
                                  wire::AckOutcome outcome,
                                  std::string_view reason);
  // Sends what `participant`'s window allows from its outbox.
  void Pump(const std::string& participant);
  // Sends everything in `participant`'s outbox again, from the start (its
  // acks were lost): the deliveries in flight are forgotten, so their acks
  // get UnknownDelivery and the redeliveries are acknowledged instead.
  void Restart(const std::string& participant);
  // Drops the session held by `routing_id`, if any.
  void Close(const std::string& routing_id);

  size_t in_flight(const std::string& participant) const;
  size_t session_count() const { return sessions_.size(); }

 private:
  struct InFlight {
    std::string message_id;
    std::string case_id;
  };
  struct Session {
    std::string participant;
    std::string routing_id;
    uint32_t window = 0;
    uint64_t cursor = 0;  // next outbox sequence to read
    std::map<uint64_t, InFlight> in_flight;
  };
  Session* ByRoutingId(const std::string& routing_id);

  const journal::Journal* journal_;
  SendFn send_;
  std::map<std::string, Session> sessions_;  // by participant
  // Deliveries made per (participant, sequence) since the broker started,
  // for Deliver.attempt; entries go when acked.
  std::map<std::pair<std::string, uint64_t>, uint32_t> attempts_;
};

}  // namespace relais::broker::delivery
