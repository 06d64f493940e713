#include "broker/delivery/sessions.h"

#include <spdlog/spdlog.h>

#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/frame.h"

namespace relais::broker::delivery {
namespace {

// Most outbox entries read at once.
constexpr size_t kReadChunk = 256;

// The case id of a journaled envelope (it was verified at ingress; the
// Verifier runs again because bytes from disk are not trusted blindly).
std::string CaseIdOf(std::string_view envelope) {
  const auto* env = VerifiedRoot<wire::Envelope>(envelope, kEnvelopeIdentifier,
                                                 /*verify_nested=*/false);
  if (env == nullptr) return {};
  const auto* h =
      VerifiedRoot<wire::Header>(VectorBytes(env->header()), kHeaderIdentifier);
  return h ? std::string(StringView(h->case_id())) : std::string();
}

}  // namespace

Sessions::Sessions(const journal::Journal* journal, const Clock* clock,
                   RedeliveryPolicy policy, SendFn send,
                   size_t max_bundle_bytes)
    : journal_(journal),
      clock_(clock),
      policy_(policy),
      send_(std::move(send)),
      max_bundle_bytes_(max_bundle_bytes),
      rng_(std::random_device{}()) {}

int64_t Sessions::NextDeadline(int64_t now_ms, uint32_t attempt) {
  uint64_t wait = policy_.initial_ms;
  for (uint32_t i = 1; i < attempt && wait < policy_.max_ms; ++i) wait *= 2;
  wait = std::min<uint64_t>(wait, policy_.max_ms);
  std::uniform_int_distribution<uint64_t> jitter(wait / 2, wait);
  return now_ms + static_cast<int64_t>(jitter(rng_));
}

Result<std::string_view> Sessions::EnvelopeOf(const std::string& message_id,
                                              std::string* read) const {
  if (const std::string* recent = recent_.Find(message_id)) {
    return std::string_view(*recent);
  }
  RELAIS_ASSIGN_OR_RETURN(*read, journal_->GetMessage(message_id));
  return std::string_view(*read);
}

std::string Sessions::DeliveryFrame(const Session& s, uint64_t sequence,
                                    const InFlight& f,
                                    std::string_view envelope) {
  auto it = attempts_.find({s.participant, sequence});
  const uint32_t made = it == attempts_.end() ? 0 : it->second;
  return DeliverFrame(sequence, made + 1, envelope, f.replayed);
}

void Sessions::Delivered(Session& s, uint64_t sequence, InFlight& f) {
  uint32_t& attempt = attempts_[{s.participant, sequence}];
  ++attempt;
  f.attempt = attempt;
  f.deadline_ms = NextDeadline(clock_->NowMs(), attempt);
  if (delivered_) delivered_(s.participant, attempt);
}

bool Sessions::SendDelivery(Session& s, uint64_t sequence, InFlight& f,
                            std::string_view envelope) {
  Status sent = send_(s.routing_id, DeliveryFrame(s, sequence, f, envelope));
  if (!sent.ok()) {
    spdlog::debug("{}: delivery paused: {}", s.participant, sent.ToString());
    return false;
  }
  Delivered(s, sequence, f);
  return true;
}

bool Sessions::SendBuilt(Session& s, std::vector<Built>* built) {
  if (built->empty()) return true;
  std::string message;
  if (built->size() == 1) {
    message = std::move(built->front().frame);
  } else {
    std::vector<std::string_view> frames;
    frames.reserve(built->size());
    for (const auto& b : *built) frames.push_back(b.frame);
    message = BundleFrame(0, frames);
  }
  Status sent = send_(s.routing_id, message);
  if (!sent.ok()) {
    spdlog::debug("{}: delivery paused: {}", s.participant, sent.ToString());
    s.cursor = built->front().sequence;
    built->clear();
    return false;
  }
  for (auto& b : *built) {
    Delivered(s, b.sequence, b.f);
    s.in_flight[b.sequence] = std::move(b.f);
  }
  built->clear();
  return true;
}

std::vector<journal::DeadLetterRequest> Sessions::Tick() {
  std::vector<journal::DeadLetterRequest> dead;
  const int64_t now = clock_->NowMs();
  for (auto& [participant, s] : sessions_) {
    for (auto it = s.in_flight.begin(); it != s.in_flight.end();) {
      InFlight& f = it->second;
      if (f.deadline_ms > now) {
        ++it;
        continue;
      }
      if (policy_.max_attempts != 0 && f.attempt >= policy_.max_attempts) {
        spdlog::warn(
            "{}: message {} unacknowledged after {} deliveries: "
            "dead letter",
            participant, it->first, f.attempt);
        dead.push_back({participant, it->first, f.message_id, f.attempt,
                        "no acknowledgement after " +
                            std::to_string(f.attempt) + " deliveries"});
        attempts_.erase({participant, it->first});
        it = s.in_flight.erase(it);
        continue;
      }
      std::string read;
      auto envelope = EnvelopeOf(f.message_id, &read);
      if (!envelope.ok()) {
        spdlog::error("{}: cannot read message of sequence {}: {}", participant,
                      it->first, envelope.status().ToString());
        f.deadline_ms = NextDeadline(now, f.attempt);
        ++it;
        continue;
      }
      if (!SendDelivery(s, it->first, f, *envelope)) break;  // socket full
      ++redeliveries_;
      ++it;
    }
  }
  return dead;
}

void Sessions::Rewind(const std::string& participant, uint64_t sequence) {
  auto first = first_live_.find(participant);
  if (first != first_live_.end() && sequence < first->second) {
    first->second = sequence;
  }
  auto it = sessions_.find(participant);
  if (it != sessions_.end() && sequence < it->second.cursor) {
    it->second.cursor = sequence;
  }
}

void Sessions::Forget(const std::string& participant, uint64_t sequence) {
  attempts_.erase({participant, sequence});
  auto it = sessions_.find(participant);
  if (it == sessions_.end()) return;
  it->second.in_flight.erase(sequence);
  NoteFirstLive(it->second);
}

void Sessions::NoteFirstLive(const Session& s) {
  uint64_t first = s.cursor;
  if (!s.in_flight.empty()) first = std::min(first, s.in_flight.begin()->first);
  uint64_t& known = first_live_[s.participant];
  known = std::max(known, first);
}

uint64_t Sessions::first_sequence(const std::string& participant) const {
  auto it = first_live_.find(participant);
  return it == first_live_.end() ? 0 : it->second;
}

Sessions::Session* Sessions::ByRoutingId(const std::string& routing_id) {
  for (auto& [p, s] : sessions_) {
    if (s.routing_id == routing_id) return &s;
  }
  return nullptr;
}

void Sessions::Open(const std::string& participant,
                    const std::string& routing_id, uint32_t window,
                    bool bundles) {
  if (window == 0) {
    auto it = sessions_.find(participant);
    if (it != sessions_.end() && it->second.routing_id == routing_id) {
      sessions_.erase(it);
    }
    return;
  }
  auto it = sessions_.find(participant);
  if (it != sessions_.end() && it->second.routing_id != routing_id) {
    spdlog::info(
        "{}: new connection takes over deliveries ({} in flight "
        "will be sent again)",
        participant, it->second.in_flight.size());
  }
  Session& s = sessions_[participant];
  s = Session{participant, routing_id, window, first_sequence(participant),
              {},          bundles};
}

Status Sessions::SetWindow(const std::string& routing_id, uint32_t window) {
  Session* s = ByRoutingId(routing_id);
  if (s == nullptr) {
    return Status::Rejected(wire::RejectCode::UnexpectedFrame,
                            "Credit without a Hello with window > 0");
  }
  s->window = window;
  return Status::OK();
}

Result<journal::AckRequest> Sessions::Ack(const std::string& routing_id,
                                          uint64_t sequence,
                                          std::string_view message_id,
                                          wire::AckOutcome outcome,
                                          std::string_view reason) {
  Session* s = ByRoutingId(routing_id);
  std::map<uint64_t, InFlight>::iterator it;
  if (s == nullptr ||
      (it = s->in_flight.find(sequence)) == s->in_flight.end() ||
      it->second.message_id != message_id) {
    return Status::Rejected(wire::RejectCode::UnknownDelivery,
                            "no delivery of sequence " +
                                std::to_string(sequence) +
                                " with this message id is in flight to this "
                                "connection");
  }
  journal::AckRequest ack;
  ack.recipient = s->participant;
  ack.sequence = sequence;
  ack.message_id = std::move(it->second.message_id);
  ack.case_id = std::move(it->second.case_id);
  ack.outcome = outcome;
  ack.reason = std::string(reason);
  s->in_flight.erase(it);
  attempts_.erase({s->participant, sequence});
  NoteFirstLive(*s);
  return ack;
}

void Sessions::Pump(const std::string& participant) {
  auto sit = sessions_.find(participant);
  if (sit == sessions_.end()) return;
  Session& s = sit->second;
  // One delivery per message, or bundles of up to kMaxBundleFrames and
  // about max_bundle_bytes_ for a session that reads them.
  const size_t most = s.bundles ? kMaxBundleFrames : 1;
  std::vector<Built> built;
  size_t built_bytes = 0;
  std::vector<journal::OutboxEntry> entries;
  std::string read;
  const uint64_t through = synced_through_ ? synced_through_() : UINT64_MAX;
  bool unsynced = false;  // reached an entry whose batch is not synced yet
  while (!unsynced && s.in_flight.size() + built.size() < s.window) {
    entries.clear();
    const size_t room = std::min<size_t>(
        s.window - s.in_flight.size() - built.size(), kReadChunk);
    Status st = journal_->ReadOutbox(participant, s.cursor, room, &entries);
    if (!st.ok()) {
      spdlog::error("{}: cannot read outbox: {}", participant, st.ToString());
      break;
    }
    if (entries.empty()) break;
    for (const auto& e : entries) {
      // Sent once its batch's sync reports it (that report pumps again).
      if (e.sequence > through) {
        unsynced = true;
        break;
      }
      s.cursor = e.sequence + 1;
      if (s.in_flight.count(e.sequence)) continue;  // rewound past it
      auto envelope = EnvelopeOf(e.message_id, &read);
      if (!envelope.ok()) {
        // An outbox entry without its message: the journal is damaged. Never
        // skip it silently; leave it for an operator.
        spdlog::error("{}: outbox sequence {} has no message: {}", participant,
                      e.sequence, envelope.status().ToString());
        if (SendBuilt(s, &built)) s.cursor = e.sequence;
        return;
      }
      Built b{e.sequence,
              {e.message_id, CaseIdOf(*envelope), 0, e.replayed, 0},
              {}};
      b.frame = DeliveryFrame(s, e.sequence, b.f, *envelope);
      if (!built.empty() &&
          (built.size() >= most ||
           built_bytes + b.frame.size() > max_bundle_bytes_)) {
        if (!SendBuilt(s, &built)) return;
        built_bytes = 0;
      }
      built_bytes += b.frame.size();
      built.push_back(std::move(b));
    }
  }
  SendBuilt(s, &built);
}

void Sessions::PumpAll() {
  for (const auto& [participant, session] : sessions_) Pump(participant);
}

void Sessions::Restart(const std::string& participant) {
  auto it = sessions_.find(participant);
  first_live_.erase(participant);  // the lost acks' entries are below it
  if (it == sessions_.end()) return;
  it->second.cursor = 0;
  it->second.in_flight.clear();
}

void Sessions::RestartAll() {
  first_live_.clear();
  for (auto& [participant, s] : sessions_) {
    s.cursor = 0;
    s.in_flight.clear();
  }
}

size_t Sessions::in_flight(const std::string& participant) const {
  auto it = sessions_.find(participant);
  return it == sessions_.end() ? 0 : it->second.in_flight.size();
}

}  // namespace relais::broker::delivery
