#pragma once

// Delivery to connected recipients: one session per participant (the
// connection of its latest Hello with window > 0), a window of deliveries in
// flight, a cursor into the participant's outbox, and acks.
//
// At least once: a delivery leaves the outbox only when its ack is
// journaled. A new session (reconnect, takeover, broker restart) starts its
// cursor at the participant's remembered first sequence (below it every
// entry was acknowledged or dead-lettered), so everything still in the
// outbox is sent again, in sequence order, and the read never walks over
// the deleted entries of what was acknowledged before. The first sequence
// is remembered in memory: 0 after a broker start (one read from the
// beginning), and again after a lost ack or a journal outage. A delivery
// unacknowledged on a live session is sent again after a wait that doubles each
// time (with jitter), and after `max_attempts` deliveries it becomes a dead
// letter (Tick). The backlog stays on disk; memory per session is bounded by
// its window.
//
// Thread-safety: none; owned by the broker loop thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "broker/delivery/recent_envelopes.h"
#include "broker/journal/journal.h"
#include "broker/journal/requests.h"
#include "core/clock.h"
#include "core/frame.h"
#include "core/status.h"

namespace relais::broker::delivery {

struct RedeliveryPolicy {
  // Wait for an ack before the first redelivery; it doubles with each
  // attempt up to max_ms, and each wait is drawn in [wait/2, wait] (jitter).
  // Defaults: 10 s, 300 s.
  uint32_t initial_ms = 10000;
  uint32_t max_ms = 300000;
  // Deliveries without an ack after which the message becomes a dead letter
  // (Undeliverable); 0 = never. Default: 20.
  uint32_t max_attempts = 20;
};

class Sessions {
 public:
  // Sends `frame` to `routing_id`; Unavailable if the peer is gone or full.
  using SendFn = std::function<Status(const std::string& routing_id,
                                      std::string_view frame)>;

  // `journal` and `clock` must outlive this object. A bundle of deliveries
  // holds about `max_bundle_bytes` at most (a larger delivery goes alone).
  Sessions(const journal::Journal* journal, const Clock* clock,
           RedeliveryPolicy policy, SendFn send,
           size_t max_bundle_bytes = kBundleBytes);

  // Starts (or takes over) `participant`'s deliveries on `routing_id` with
  // `window` deliveries in flight at most; window 0 ends its session if this
  // connection held it. `bundles`: the connection reads Bundle frames, so
  // the deliveries of one Pump go out in bundles.
  void Open(const std::string& participant, const std::string& routing_id,
            uint32_t window, bool bundles = false);
  // Rejected(UnexpectedFrame) if `routing_id` holds no session.
  Status SetWindow(const std::string& routing_id, uint32_t window);
  // Matches an ack against the deliveries in flight on `routing_id`.
  // Rejected(UnknownDelivery) if sequence and message id do not match one.
  Result<journal::AckRequest> Ack(const std::string& routing_id,
                                  uint64_t sequence,
                                  std::string_view message_id,
                                  wire::AckOutcome outcome,
                                  std::string_view reason);
  // Outbox entries above `synced_through()` are readable but not yet
  // synced (journal/writer.h): they are not sent until they are. Unset:
  // every entry read is sent.
  void SetSyncedThrough(std::function<uint64_t()> synced_through) {
    synced_through_ = std::move(synced_through);
  }
  // Sends what `participant`'s window allows from its outbox, up to the
  // last synced sequence.
  void Pump(const std::string& participant);
  // A message just accepted: its deliveries take its bytes from memory
  // rather than from the journal while it is among the latest
  // kRecentEnvelopeBytes.
  void Remember(std::string message_id, std::string envelope) {
    recent_.Remember(std::move(message_id), std::move(envelope));
  }
  static constexpr size_t kRecentEnvelopeBytes = 16 << 20;
  // Pump() for every session (e.g. once the journal is readable again).
  void PumpAll();
  // Restart() for every participant, and forgets every remembered first
  // sequence (after a journal outage, when batches holding acks or dead
  // letters may have failed).
  void RestartAll();
  // `participant`'s remembered first sequence (for tests).
  uint64_t first_sequence(const std::string& participant) const;
  // Sends everything in `participant`'s outbox again, from the start (its
  // acks were lost): the deliveries in flight are forgotten, so their acks
  // get UnknownDelivery and the redeliveries are acknowledged instead.
  void Restart(const std::string& participant);
  // Sends again the deliveries whose ack is overdue; returns those that ran
  // out of attempts (no longer in flight: the caller journals them as dead
  // letters).
  std::vector<journal::DeadLetterRequest> Tick();
  // `participant`'s outbox got `sequence` back (an operator's replay).
  void Rewind(const std::string& participant, uint64_t sequence);
  // `sequence` is no longer pending for `participant` (a dead letter).
  void Forget(const std::string& participant, uint64_t sequence);
  uint64_t redeliveries() const { return redeliveries_; }
  // Called after each delivery sent, with its attempt (1: the first since
  // the broker started).
  using DeliveredFn =
      std::function<void(const std::string& participant, uint32_t attempt)>;
  void OnDelivered(DeliveredFn fn) { delivered_ = std::move(fn); }
  bool has_session(const std::string& participant) const {
    return sessions_.count(participant) != 0;
  }

  size_t in_flight(const std::string& participant) const;
  size_t session_count() const { return sessions_.size(); }

 private:
  struct InFlight {
    std::string message_id;
    std::string case_id;
    uint32_t attempt = 0;
    bool replayed = false;
    int64_t deadline_ms = 0;  // send again (or give up) at this time
  };
  struct Session {
    std::string participant;
    std::string routing_id;
    uint32_t window = 0;
    uint64_t cursor = 0;  // next outbox sequence to read
    std::map<uint64_t, InFlight> in_flight;
    bool bundles = false;
  };
  // A delivery built by Pump and not sent yet.
  struct Built {
    uint64_t sequence = 0;
    InFlight f;
    std::string frame;
  };
  Session* ByRoutingId(const std::string& routing_id);
  // The Deliver frame of `f` (its attempt: the deliveries made so far + 1).
  std::string DeliveryFrame(const Session& s, uint64_t sequence,
                            const InFlight& f, std::string_view envelope);
  // Counts a delivery sent: its attempt, its deadline, delivered_.
  void Delivered(Session& s, uint64_t sequence, InFlight& f);
  // Sends one delivery; false if the socket cannot take it now.
  bool SendDelivery(Session& s, uint64_t sequence, InFlight& f,
                    std::string_view envelope);
  // Sends `built` as one message (a bundle if more than one) and puts
  // them in flight; false, and the cursor back at the first, if the
  // socket cannot take it now.
  bool SendBuilt(Session& s, std::vector<Built>* built);
  int64_t NextDeadline(int64_t now_ms, uint32_t attempt);

  const journal::Journal* journal_;
  const Clock* clock_;
  RedeliveryPolicy policy_;
  SendFn send_;
  std::function<uint64_t()> synced_through_;  // SetSyncedThrough
  size_t max_bundle_bytes_;
  std::mt19937_64 rng_;
  uint64_t redeliveries_ = 0;
  DeliveredFn delivered_;
  // Advances `participant`'s first sequence to what its session has read
  // and not got in flight.
  void NoteFirstLive(const Session& s);

  // The envelope of `message_id`: from recent_ if there, else read from
  // the journal into `*read`.
  Result<std::string_view> EnvelopeOf(const std::string& message_id,
                                      std::string* read) const;

  RecentEnvelopes recent_{kRecentEnvelopeBytes};
  std::map<std::string, Session> sessions_;  // by participant
  // By participant: every outbox entry below it was acknowledged or
  // dead-lettered (its deletion journaled or being journaled).
  std::map<std::string, uint64_t> first_live_;
  // Deliveries made per (participant, sequence) since the broker started
  // (Deliver.attempt and the retry budget); entries go when acked or dead.
  std::map<std::pair<std::string, uint64_t>, uint32_t> attempts_;
};

}  // namespace relais::broker::delivery
