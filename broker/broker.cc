#include "broker/broker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/files.h"
#include "core/text.h"

namespace relais::broker {
namespace {

std::string Hex8(std::string_view id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < id.size() && i < 8; ++i) {
    out.push_back(kHex[static_cast<uint8_t>(id[i]) >> 4]);
    out.push_back(kHex[static_cast<uint8_t>(id[i]) & 0xf]);
  }
  return out;
}

double Seconds(std::chrono::steady_clock::time_point from,
               std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

template <typename T>
void Append(std::vector<T>* to, std::vector<T>&& from) {
  for (auto& x : from) to->push_back(std::move(x));
}

}  // namespace

Broker::Broker(BrokerConfig config, const Clock* clock)
    : config_(std::move(config)), clock_(clock ? clock : Clock::System()) {}

Result<std::unique_ptr<Broker>> Broker::Start(BrokerConfig config,
                                              const Clock* clock) {
  std::unique_ptr<Broker> b(new Broker(std::move(config), clock));
  RELAIS_RETURN_IF_ERROR(b->Init());
  return b;
}

// The stages, from the journal outwards; each hands on to the next
// through the one method named in its callback.
Status Broker::Init() {
  RELAIS_ASSIGN_OR_RETURN(identity_, LoadIdentityFile(config_.identity_file));
  // Recipients verify the broker's reports with the keys of [broker] id.
  if (identity_.participant != config_.broker_id) {
    return Status::InvalidArgument(
        config_.identity_file + ": the identity of '" +
        Escaped(identity_.participant, 64) + "', not of the broker ('" +
        config_.broker_id +
        "', [broker] id): make it with relais keygen --id " +
        config_.broker_id);
  }
  RELAIS_ASSIGN_OR_RETURN(Registry registry,
                          Registry::Build(std::move(config_.participants)));
  registry_ = std::make_unique<Registry>(std::move(registry));
  std::vector<std::string> ids = registry_->Participants();
  ids.push_back(config_.broker_id);
  metrics_ = std::make_unique<BrokerMetrics>(ids);
  RELAIS_ASSIGN_OR_RETURN(
      journal_, journal::Journal::Open(config_.journal_dir, config_.journal));
  // The outbox gauges start from the journal's count (one scan of each
  // outbox's keys); the writer's reports keep them exact from there.
  for (const auto& id : ids) {
    auto n = journal_->CountOutbox(id);
    if (!n.ok()) return n.status();
    metrics_->Of(id)->outbox.Set(static_cast<int64_t>(*n));
  }
  RELAIS_ASSIGN_OR_RETURN(
      writer_,
      journal::JournalWriter::Create(
          journal_.get(), clock_,
          journal::BrokerSigner{config_.broker_id, identity_.signing},
          [this](journal::CommitReport r) { OnCommitted(std::move(r)); }));
  writer_->set_backup_dir(config_.backup_dir.empty()
                              ? config_.journal_dir + ".backups"
                              : config_.backup_dir);
  writer_->set_payload_retention(config_.payload_retention);
  ingress_ = std::make_unique<IngressPool>(
      registry_.get(), clock_,
      IngressLimits{config_.max_message_bytes, config_.max_pending_bytes,
                    config_.ingress_queue, config_.time_policy},
      config_.ingress_threads
          ? config_.ingress_threads
          : std::max(1u, std::thread::hardware_concurrency()),
      [this](journal::SubmitRequest r) { writer_->Post(std::move(r)); },
      [this](IngressRejection r) { OnRefused(std::move(r)); },
      [this](std::string_view id) { return writer_->LookUpReceipt(id); });

  transport::RouterOptions ro;
  ro.endpoint = config_.listen;
  ro.curve_secret_z85 = identity_.curve.secret_z85;
  ro.max_transport_bytes = int64_t{2} * config_.max_message_bytes + (64 << 10);
  ro.send_hwm = static_cast<int>(config_.max_window) * 4 + 1000;
  RELAIS_ASSIGN_OR_RETURN(
      router_, transport::RouterServer::Start(ro, [this](std::string_view key,
                                                         std::string_view) {
        const std::string* id = registry_->ParticipantForCurveKey(key);
        return id ? std::optional<std::string>(*id) : std::nullopt;
      }));
  MakeSessions();
  queries_ = std::make_unique<Queries>(registry_.get(), journal_.get(),
                                       [this] { return Stats(); });
  writer_->Start();
  if (!config_.endpoint_file.empty()) {
    RELAIS_RETURN_IF_ERROR(
        WriteFileAtomic(config_.endpoint_file, router_->endpoint() + "\n"));
  }
  spdlog::info("relaisd '{}' listening on {} ({} participants, journal {})",
               config_.broker_id, router_->endpoint(), registry_->size(),
               config_.journal_dir);
  return Status::OK();
}

void Broker::MakeSessions() {
  sessions_ = std::make_unique<delivery::Sessions>(
      journal_.get(), clock_, config_.redelivery,
      [this](const std::string& rid, std::string_view frame) {
        return SendDelivery(rid, frame);
      },
      kBundleBytes);
  // Nothing is delivered before its batch is synced.
  sessions_->SetSyncedThrough([this] { return writer_->synced_through(); });
  sessions_->OnDelivered([this](const std::string& p, uint32_t attempt) {
    if (auto* m = metrics_->Of(p)) {
      (attempt == 1 ? m->delivered : m->redelivered).Add();
    }
  });
}

Broker::~Broker() {
  if (ingress_) ingress_->Stop();
  if (writer_) writer_->Stop();
  router_.reset();
}

void Broker::RequestStop() {
  stop_.store(true);
  if (router_) router_->Wake();
}

// On the writer's thread: answers what the batch decided and hands the
// loop the recipients and sessions it changed.
void Broker::OnCommitted(journal::CommitReport report) {
  CountCommitted(report);
  for (const auto& s : report.submits) {
    ingress_->Release(s.envelope_bytes);
    if (!s.status.ok()) {
      spdlog::warn("message {} refused at journaling: {}", Hex8(s.message_id),
                   s.status.ToString());
    }
  }
  if (!report.commit_status.ok()) {
    spdlog::error("journal batch failed: {}", report.commit_status.ToString());
  }
  for (const auto& e : report.events) spdlog::info("{}", e);
  LoopWork work;
  work.frames = ReplyFrames(report);
  work.recipients = std::move(report.recipients);
  work.restarts = std::move(report.failed_ack_recipients);
  work.dead = std::move(report.dead_letters);
  work.replayed = std::move(report.replayed);
  work.pump_all = report.journal_recovered;
  if (report.commit_status.ok()) {
    for (auto& s : report.submits) {
      if (s.status.ok() && !s.envelope.empty()) {
        work.accepted.emplace_back(std::move(s.message_id),
                                   std::move(s.envelope));
      }
    }
  }
  Post(std::move(work));
}

// On an ingress thread: a submission refused by verification.
void Broker::OnRefused(IngressRejection r) {
  metrics_->Rejected(RejectCodeOf(r.status));
  spdlog::warn("{}: rejected message {}: {}", r.participant, Hex8(r.message_id),
               r.status.ToString());
  LoopWork work;
  work.frames.push_back(RejectionTo(r.reply, r.status, r.message_id));
  Post(std::move(work));
}

void Broker::Post(LoopWork work) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    Append(&posted_.frames, std::move(work.frames));
    Append(&posted_.recipients, std::move(work.recipients));
    Append(&posted_.restarts, std::move(work.restarts));
    Append(&posted_.dead, std::move(work.dead));
    Append(&posted_.replayed, std::move(work.replayed));
    posted_.pump_all |= work.pump_all;
    Append(&posted_.accepted, std::move(work.accepted));
  }
  router_->Wake();
}

void Broker::CountCommitted(const journal::CommitReport& report) {
  const auto now = std::chrono::steady_clock::now();
  for (const auto& s : report.submits) {
    if (!s.status.ok()) {
      metrics_->Rejected(RejectCodeOf(s.status));
      continue;
    }
    metrics_->accept_latency.Observe(Seconds(s.received, now));
    // Each stage from the end of the one before: they add up to the above.
    if (s.received <= s.posted && s.posted <= report.taken) {
      metrics_->accept_ingress.Observe(Seconds(s.received, s.posted));
      metrics_->accept_journal_queue.Observe(Seconds(s.posted, report.taken));
      metrics_->accept_journal_batch.Observe(Seconds(report.taken, now));
    }
    auto* sender = metrics_->Of(s.sender);
    if (!s.duplicate && sender) sender->accepted.Add();
  }
  if (!report.commit_status.ok()) {
    metrics_->failed_batches.Add();
    return;
  }
  (report.synced ? metrics_->batches : metrics_->unsynced_batches).Add();
  metrics_->payloads_deleted.Add(report.payloads_deleted);
  if (report.synced) metrics_->journal_write.Observe(report.write_seconds);
  if (!report.submits.empty()) {
    metrics_->batch_submits.Observe(static_cast<double>(report.submits.size()));
  }
  for (const auto& [recipient, delta] : report.outbox_changes) {
    if (auto* m = metrics_->Of(recipient)) m->outbox.Add(delta);
  }
  const int64_t now_ms = clock_->NowMs();
  for (const auto& a : report.acked) {
    auto* m = metrics_->Of(a.recipient);
    if (m) (a.refused ? m->refused : m->acked).Add();
    if (a.accepted_at_ms > 0) {
      metrics_->end_to_end_latency.Observe(
          static_cast<double>(std::max<int64_t>(0, now_ms - a.accepted_at_ms)) /
          1000.0);
    }
  }
  for (const auto& [recipient, seq] : report.dead_letters) {
    if (auto* m = metrics_->Of(recipient)) m->dead_lettered.Add();
  }
  for (const auto& [recipient, seq] : report.replayed) {
    if (auto* m = metrics_->Of(recipient)) m->oldest_hint.store(0);
  }
  for (const auto& s : report.status_outcomes) {
    if (s.status.ok() && s.changed) metrics_->StatusRecorded(s.state);
  }
}

std::string Broker::RenderMetrics() const {
  BrokerMetrics::ScrapeInputs in;
  in.journal = journal_.get();
  in.journal_dir = config_.journal_dir;
  in.now_ms = clock_->NowMs();
  in.online_within_ms = 3 * int64_t{config_.heartbeat_interval_ms};
  in.sessions = open_sessions_.load();
  in.ingress_pending_bytes = ingress_->pending_bytes();
  in.batch_roots_verified = ingress_->root_verifications();
  in.journal_syncs = writer_->stats().syncs.load();
  return metrics_->Render(in);
}

wire::BrokerStatsT Broker::Stats() const {
  wire::BrokerStatsT stats;
  const auto& w = writer_->stats();
  stats.journal_batches = w.batches.load();
  stats.journal_submits = w.submits.load();
  stats.journal_syncs = w.syncs.load();
  stats.journal_largest_batch = w.largest_batch.load();
  stats.journal_failed_batches = w.failed_batches.load();
  stats.dead_letters_made = w.dead_letters.load();
  stats.redeliveries = sessions_->redeliveries();
  stats.sessions = static_cast<uint32_t>(sessions_->session_count());
  return stats;
}

}  // namespace relais::broker
