#include "broker/metrics.h"

#include <algorithm>
#include <filesystem>

namespace relais::broker {
namespace {

using Type = metrics::TextWriter::Type;

std::string Lower(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z' && !out.empty()) out.push_back('_');
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out;
}

}  // namespace

BrokerMetrics::BrokerMetrics(const std::vector<std::string>& participants)
    : ids_(participants) {
  std::sort(ids_.begin(), ids_.end());
  ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
  for (const auto& id : ids_) by_id_[id] = std::make_unique<Participant>();
  for (wire::RejectCode c : wire::EnumValuesRejectCode()) {
    if (c != wire::RejectCode::None) rejected_[c];
  }
  for (wire::RecipientState s :
       {wire::RecipientState::Received, wire::RecipientState::InProgress,
        wire::RecipientState::Done, wire::RecipientState::Rejected}) {
    statuses_[s];
  }
}

BrokerMetrics::Participant* BrokerMetrics::Of(std::string_view participant) {
  auto it = by_id_.find(std::string(participant));
  return it == by_id_.end() ? nullptr : it->second.get();
}

void BrokerMetrics::Rejected(wire::RejectCode code) {
  auto it = rejected_.find(code);
  if (it != rejected_.end()) it->second.Add();
}

void BrokerMetrics::StatusRecorded(wire::RecipientState state) {
  auto it = statuses_.find(state);
  if (it != statuses_.end()) it->second.Add();
}

double BrokerMetrics::OldestAgeSeconds(const std::string& id, Participant& p,
                                       const ScrapeInputs& in) {
  if (p.outbox.value() <= 0 || in.journal == nullptr) return 0;
  std::vector<journal::OutboxEntry> first;
  if (!in.journal->ReadOutbox(id, p.oldest_hint.load(), 1, &first).ok() ||
      first.empty()) {
    return 0;
  }
  p.oldest_hint.store(first[0].sequence);
  auto dedup = in.journal->GetDedup(first[0].message_id);
  if (!dedup.ok()) return 0;
  return static_cast<double>(
             std::max<int64_t>(0, in.now_ms - dedup->accepted_at_ms)) /
         1000.0;
}

std::string BrokerMetrics::Render(const ScrapeInputs& in) {
  metrics::TextWriter w;
  w.Family("relais_build_info", "The relaisd version (the value is 1).",
           Type::kGauge);
  w.Sample({{"version", RELAIS_VERSION}}, int64_t{1});
  WriteCounters(w);
  WriteParticipants(w, in);
  WriteBroker(w, in);
  metrics::WriteProcessMetrics(w);
  return w.Take();
}

void BrokerMetrics::WriteCounters(metrics::TextWriter& w) const {
  struct PerParticipant {
    const char* name;
    const char* label;
    const char* help;
    metrics::Counter Participant::*counter;
  };
  static constexpr PerParticipant kCounters[] = {
      {"relais_submits_received_total", "participant",
       "Submit frames received, by sender.", &Participant::submitted},
      {"relais_messages_accepted_total", "sender",
       "Messages accepted and synced to the journal (duplicates not "
       "counted), by sender.",
       &Participant::accepted},
      {"relais_deliveries_total", "recipient",
       "Messages delivered for the first time since relaisd started, by "
       "recipient.",
       &Participant::delivered},
      {"relais_redeliveries_total", "recipient",
       "Deliveries sent again (no acknowledgement in time, or a new "
       "connection), by recipient.",
       &Participant::redelivered},
      {"relais_dead_letters_total", "recipient",
       "Deliveries made dead letters (out of attempts, or expired), by "
       "recipient.",
       &Participant::dead_lettered},
  };
  for (const auto& c : kCounters) {
    w.Family(c.name, c.help, Type::kCounter);
    for (const auto& id : ids_) {
      w.Sample({{c.label, id}}, (by_id_.at(id).get()->*c.counter).value());
    }
  }
  w.Family("relais_acknowledgements_total",
           "Acknowledgements journaled, by recipient and outcome (processed, "
           "or rejected by the recipient).",
           Type::kCounter);
  for (const auto& id : ids_) {
    w.Sample({{"recipient", id}, {"outcome", "processed"}},
             by_id_.at(id)->acked.value());
    w.Sample({{"recipient", id}, {"outcome", "rejected"}},
             by_id_.at(id)->refused.value());
  }
  w.Family("relais_rejections_total",
           "Frames and messages refused, by code (docs/PROTOCOL.md, section "
           "9).",
           Type::kCounter);
  for (const auto& [code, counter] : rejected_) {
    w.Sample({{"code", wire::EnumNameRejectCode(code)}}, counter.value());
  }
  w.Family("relais_status_updates_total",
           "Partner statuses recorded (changes only), by state.",
           Type::kCounter);
  for (const auto& [state, counter] : statuses_) {
    w.Sample({{"state", Lower(wire::EnumNameRecipientState(state))}},
             counter.value());
  }
}

void BrokerMetrics::WriteParticipants(metrics::TextWriter& w,
                                      const ScrapeInputs& in) {
  w.Family("relais_outbox_depth",
           "Messages waiting for the recipient's acknowledgement (in flight "
           "or not yet sent).",
           Type::kGauge);
  for (const auto& id : ids_)
    w.Sample({{"recipient", id}}, by_id_.at(id)->outbox.value());
  w.Family("relais_outbox_oldest_age_seconds",
           "Age of the recipient's oldest waiting message (0 if none).",
           Type::kGauge);
  for (const auto& id : ids_) {
    w.Sample({{"recipient", id}}, OldestAgeSeconds(id, *by_id_.at(id), in));
  }
  w.Family("relais_participant_online",
           "1 while the participant holds a delivery session and was heard "
           "from within three heartbeat intervals.",
           Type::kGauge);
  for (const auto& id : ids_) {
    const Participant& p = *by_id_.at(id);
    const bool online = p.session.load() && in.now_ms - p.last_seen_ms.load() <=
                                                in.online_within_ms;
    w.Sample({{"participant", id}}, int64_t{online ? 1 : 0});
  }
  w.Family("relais_sessions", "Open delivery sessions.", Type::kGauge);
  w.Sample({}, static_cast<uint64_t>(in.sessions));
}

void BrokerMetrics::WriteBroker(metrics::TextWriter& w,
                                const ScrapeInputs& in) const {
  w.Family("relais_accept_latency_seconds",
           "From a Submit frame's arrival to its receipt (verified, synced "
           "to the journal).",
           Type::kHistogram);
  w.Histogram({}, accept_latency.Take());
  w.Family("relais_accept_stage_seconds",
           "The stages of relais_accept_latency_seconds, which add up to it: "
           "ingress (queued for a verify thread and verified), journal_queue "
           "(waiting while the batch before is written), journal_batch (its "
           "own batch built, synced and answered).",
           Type::kHistogram);
  w.Histogram({{"stage", "ingress"}}, accept_ingress.Take());
  w.Histogram({{"stage", "journal_queue"}}, accept_journal_queue.Take());
  w.Histogram({{"stage", "journal_batch"}}, accept_journal_batch.Take());
  w.Family("relais_end_to_end_latency_seconds",
           "From a message's acceptance to the journaling of its "
           "recipient's acknowledgement.",
           Type::kHistogram);
  w.Histogram({}, end_to_end_latency.Take());
  w.Family("relais_journal_batch_submits",
           "Messages per journal batch (group commit).", Type::kHistogram);
  w.Histogram({}, batch_submits.Take());
  w.Family("relais_journal_write_seconds",
           "Time of each synced journal batch (RocksDB's write, and the "
           "sync of the log that covered it): what the disk adds to every "
           "receipt.",
           Type::kHistogram);
  w.Histogram({}, journal_write.Take());
  w.Family("relais_journal_batches_total", "Journal batches synced.",
           Type::kCounter);
  w.Sample({}, batches.value());
  w.Family("relais_journal_syncs_total",
           "Syncs of the journal's log: each covers every batch written while "
           "the one before it ran.",
           Type::kCounter);
  w.Sample({}, in.journal_syncs);
  w.Family("relais_journal_unsynced_batches_total",
           "Journal batches written without a sync (acknowledgements "
           "Processed only: a lost one means a redelivery).",
           Type::kCounter);
  w.Sample({}, unsynced_batches.value());
  w.Family("relais_journal_failed_batches_total",
           "Journal batches whose write or sync failed.", Type::kCounter);
  w.Sample({}, failed_batches.value());
  w.Family("relais_journal_payloads_deleted_total",
           "Envelopes deleted from the journal at the end of their retention "
           "(payload_retention_days after their expiry).",
           Type::kCounter);
  w.Sample({}, payloads_deleted.value());
  w.Family("relais_journal_disk_bytes", "Size on disk of the journal's folder.",
           Type::kGauge);
  w.Sample({}, FolderBytes(in.journal_dir));
  w.Family("relais_ingress_pending_bytes",
           "Envelope bytes received and not yet answered (Overloaded above "
           "max_pending_bytes).",
           Type::kGauge);
  w.Sample({}, in.ingress_pending_bytes);
  w.Family("relais_batch_roots_verified_total",
           "Batch seal root signatures verified (one per distinct batch; "
           "its other envelopes cost only hashes).",
           Type::kCounter);
  w.Sample({}, in.batch_roots_verified);
}

uint64_t FolderBytes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  uint64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto n = it->file_size(size_ec);
      if (!size_ec) total += n;
    }
  }
  return total;
}

}  // namespace relais::broker
