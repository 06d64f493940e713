// relais::sdk::Client: the public methods, and Client::Impl's start, stop
// and shared helpers. The threads' work is in client_io.cc (I/O),
// client_handler.cc (deliveries) and client_outbox.cc (durable outbox);
// client_impl.h says which thread owns what.

#include "adapters/sdk/client.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <random>

#include "adapters/sdk/client_impl.h"
#include "core/clock.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/ids.h"
#include "core/merkle.h"
#include "core/text.h"
#include "core/thread_name.h"

namespace relais::sdk {

// --- Client::Impl: start and stop ------------------------------------------

Status Client::Impl::Init() {
  if (opts_.endpoint.empty() || opts_.broker_public_key.size() != 40) {
    return Status::InvalidArgument(
        "client needs an endpoint and the broker's "
        "40-character CURVE public key");
  }
  const bool receiving = handler_ && opts_.window > 0;
  if (receiving && opts_.state_dir.empty()) {
    return Status::InvalidArgument("a receiving client needs a state_dir");
  }
  if (!receiving) opts_.window = 0;
  if (!opts_.state_dir.empty()) {
    RELAIS_ASSIGN_OR_RETURN(
        store_, LocalStore::Open(opts_.state_dir,
                                 {.retention = opts_.processed_retention}));
    outbox_ = opts_.durable_outbox;
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::IOError("eventfd failed");
  RELAIS_RETURN_IF_ERROR(ConnectSocket());
  if (outbox_) RELAIS_RETURN_IF_ERROR(RestoreOutbox());
  io_thread_ = std::thread([this] {
    NameThisThread("sdk-io");
    IoLoop();
  });
  if (opts_.window > 0) {
    uint32_t threads = opts_.verify_threads;
    if (threads == 0)
      threads = std::min(8u, std::thread::hardware_concurrency());
    verify_pool_ = std::make_unique<WorkerPool>(threads, "sdk-verify");
    handler_thread_ = std::thread([this] {
      NameThisThread("sdk-handler");
      HandlerLoop();
    });
  }
  if (outbox_) {
    keeper_thread_ = std::thread([this] {
      NameThisThread("sdk-keeper");
      KeeperLoop();
    });
  }
  if (opts_.batch_seal_max > merkle::kMaxLeaves) {
    opts_.batch_seal_max = merkle::kMaxLeaves;
  }
  if (opts_.batch_seal_max > 1) {
    sealer_thread_ = std::thread([this] {
      NameThisThread("sdk-sealer");
      SealerLoop();
    });
  }
  return Status::OK();
}

void Client::Impl::Stop() {
  // Drafts waiting for a batch are sealed and submitted first, so that a
  // durable outbox keeps them.
  StopSealer();
  if (stopping_.exchange(true)) return;
  Wake();
  {
    // Taken once, so that the handler thread, between its look at
    // stopping_ and its wait, cannot miss the notification and sleep out
    // its 60 s wait (a console refusing its configuration hung that long).
    std::lock_guard<std::mutex> lock(del_mu_);
  }
  del_cv_.notify_all();
  StopKeeper();
  if (handler_thread_.joinable()) handler_thread_.join();
  if (io_thread_.joinable()) io_thread_.join();
  CloseSocket();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
}

Status Client::Impl::WaitConnected(milliseconds timeout) {
  std::unique_lock<std::mutex> lock(conn_mu_);
  if (conn_cv_.wait_for(lock, timeout,
                        [this] { return welcomed_.load() || auth_refused_; })) {
    if (welcomed_.load()) return Status::OK();
    return Status::Rejected(
        wire::RejectCode::NotAuthorised,
        "relaisd at " + opts_.endpoint + " refused the CURVE key of " +
            participant() +
            " (is it registered in relaisd.toml with this public key?)");
  }
  return Status::Timeout("not connected to " + opts_.endpoint + " after " +
                         std::to_string(timeout.count()) + " ms");
}

// --- Client::Impl: what the public methods call ------------------------------

void Client::Impl::FillDraft(EnvelopeDraft* d, int64_t now_ms,
                             milliseconds ttl) const {
  d->sender = opts_.identity.participant;
  if (d->created_at_ms == 0) d->created_at_ms = now_ms;
  if (d->expires_at_ms == 0) d->expires_at_ms = d->created_at_ms + ttl.count();
}

Result<SealedEnvelope> Client::Impl::Seal(EnvelopeDraft d, milliseconds ttl) {
  FillDraft(&d, relais::Clock::System()->NowMs(), ttl);
  return SealEnvelope(d, opts_.identity.signing);
}

Result<std::vector<SealedEnvelope>> Client::Impl::SealBatch(
    std::vector<EnvelopeDraft> drafts, milliseconds ttl) {
  const int64_t now = relais::Clock::System()->NowMs();
  for (auto& d : drafts) FillDraft(&d, now, ttl);
  return relais::SealBatch(drafts, opts_.identity.signing);
}

void Client::Impl::SubmitDraftAsync(EnvelopeDraft draft, SubmitCallback done,
                                    milliseconds ttl) {
  FillDraft(&draft, relais::Clock::System()->NowMs(), ttl);
  if (opts_.batch_seal_max > 1) {
    {
      std::lock_guard<std::mutex> lock(seal_mu_);
      if (!seal_stop_) {
        drafts_.push_back({std::move(draft), std::move(done)});
        seal_cv_.notify_one();
        return;
      }
    }
    done(
        Status::Rejected(wire::RejectCode::ShuttingDown, "client is stopping"));
    return;
  }
  auto sealed = SealEnvelope(draft, opts_.identity.signing);
  if (!sealed.ok()) {
    done(sealed.status());
    return;
  }
  SubmitAsync(std::move(*sealed), std::move(done));
}

void Client::Impl::SealerLoop() {
  const size_t max = opts_.batch_seal_max;
  // Self-clocked, like the broker's group commit: a batch is sealed at once
  // when what the sealer sealed before is answered, or (durable outbox)
  // the keeper has synced all it was given, so a light load waits for
  // nothing; under load, the drafts that come meanwhile gather into the
  // next batch, and none waits more than the window after the last seal.
  Clock::time_point last_seal = Clock::now() - opts_.batch_seal_window;
  for (;;) {
    std::vector<DraftCmd> batch;
    {
      std::unique_lock<std::mutex> lock(seal_mu_);
      seal_cv_.wait(lock, [this] { return seal_stop_ || !drafts_.empty(); });
      if (drafts_.empty()) return;  // stopping, nothing left
      seal_cv_.wait_until(lock, last_seal + opts_.batch_seal_window, [&] {
        return seal_stop_ || drafts_.size() >= max ||
               sealed_unanswered_.load() == 0 ||
               (outbox_ && keeping_.load() == 0);
      });
      const size_t n = std::min(max, drafts_.size());
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(drafts_.front()));
        drafts_.pop_front();
      }
    }
    last_seal = Clock::now();
    sealed_unanswered_.fetch_add(batch.size());
    std::vector<EnvelopeDraft> drafts;
    drafts.reserve(batch.size());
    for (auto& cmd : batch) {
      drafts.push_back(std::move(cmd.draft));
      cmd.done = [this, done = std::move(cmd.done)](Result<Receipt> r) {
        done(std::move(r));
        if (sealed_unanswered_.fetch_sub(1) == 1) {
          { std::lock_guard<std::mutex> lock(seal_mu_); }  // no lost wake-up
          seal_cv_.notify_one();
        }
      };
    }
    auto sealed = relais::SealBatch(drafts, opts_.identity.signing);
    if (!sealed.ok()) {
      // One bad draft spoils its batch: seal them one by one, so that the
      // others go and it alone gets its error.
      for (size_t i = 0; i < batch.size(); ++i) {
        auto one = SealEnvelope(drafts[i], opts_.identity.signing);
        if (one.ok()) {
          SubmitAsync(std::move(*one), std::move(batch[i].done));
        } else {
          batch[i].done(one.status());
        }
      }
      continue;
    }
    std::vector<SubmitCallback> callbacks;
    callbacks.reserve(batch.size());
    for (auto& cmd : batch) callbacks.push_back(std::move(cmd.done));
    SubmitAllAsync(std::move(*sealed), std::move(callbacks));
  }
}

void Client::Impl::StopSealer() {
  {
    std::lock_guard<std::mutex> lock(seal_mu_);
    seal_stop_ = true;
  }
  seal_cv_.notify_all();
  std::lock_guard<std::mutex> join(sealer_join_mu_);
  if (sealer_thread_.joinable()) sealer_thread_.join();
}

void Client::Impl::SubmitAsync(SealedEnvelope env, SubmitCallback done) {
  std::vector<SealedEnvelope> envelopes;
  envelopes.push_back(std::move(env));
  std::vector<SubmitCallback> callbacks;
  callbacks.push_back(std::move(done));
  SubmitAllAsync(std::move(envelopes), std::move(callbacks));
}

void Client::Impl::SubmitAllAsync(std::vector<SealedEnvelope> envelopes,
                                  std::vector<SubmitCallback> done) {
  if (stopping_.load()) {
    for (auto& d : done) {
      d(Status::Rejected(wire::RejectCode::ShuttingDown, "client is stopping"));
    }
    return;
  }
  std::vector<SubmitCmd> cmds;
  cmds.reserve(envelopes.size());
  for (size_t i = 0; i < envelopes.size(); ++i) {
    cmds.push_back(SubmitCmd{std::move(envelopes[i]), std::move(done[i])});
  }
  // Kept and sent at once (client_outbox.cc): the broker's answer does not
  // wait for the local sync.
  if (outbox_) Keep(&cmds);
  std::vector<Command> posted;
  posted.reserve(cmds.size());
  for (auto& c : cmds) posted.emplace_back(std::move(c));
  PostAll(std::move(posted));
}

// --- Client::Impl: shared helpers --------------------------------------------

Client::Impl::milliseconds Client::Impl::Backoff(int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  const int64_t base = std::min<int64_t>(5000, 100LL << std::min(attempt, 6));
  return milliseconds(base / 2 + static_cast<int64_t>(rng() % (base / 2 + 1)));
}

// --- Client ------------------------------------------------------------------

const wire::StatusReport* AsStatusReport(const EnvelopeView& envelope) {
  if (envelope.header->payload_encoding() !=
      wire::PayloadEncoding::StatusReport) {
    return nullptr;
  }
  return VerifiedRoot<wire::StatusReport>(envelope.payload,
                                          kStatusReportIdentifier);
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Start(ClientOptions options,
                                              DeliveryHandler handler) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  RELAIS_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Status Client::WaitConnected(std::chrono::milliseconds timeout) {
  return impl_->WaitConnected(timeout);
}
bool Client::connected() const { return impl_->connected(); }

Result<SealedEnvelope> Client::Seal(EnvelopeDraft draft,
                                    std::chrono::milliseconds ttl) {
  return impl_->Seal(std::move(draft), ttl);
}

Result<std::vector<SealedEnvelope>> Client::SealBatch(
    std::vector<EnvelopeDraft> drafts, std::chrono::milliseconds ttl) {
  return impl_->SealBatch(std::move(drafts), ttl);
}

void Client::SubmitDraftAsync(EnvelopeDraft draft, SubmitCallback done,
                              std::chrono::milliseconds ttl) {
  impl_->SubmitDraftAsync(std::move(draft), std::move(done), ttl);
}

void Client::SubmitAsync(SealedEnvelope envelope, SubmitCallback done) {
  impl_->SubmitAsync(std::move(envelope), std::move(done));
}

Result<Receipt> Client::Submit(SealedEnvelope envelope,
                               std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<Receipt>>>();
  auto future = promise->get_future();
  impl_->SubmitAsync(std::move(envelope), [promise](Result<Receipt> r) {
    promise->set_value(std::move(r));
  });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Status::Timeout("no receipt from the broker within " +
                           std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

Result<std::string> Client::QueryCase(const std::string& case_id,
                                      std::chrono::milliseconds timeout) {
  return impl_->QueryCase(case_id, timeout, nullptr);
}

void Client::Stop() { impl_->Stop(); }

Result<std::optional<std::string>> Client::ReadEffect(const std::string& key) {
  if (impl_->store() == nullptr) {
    return Status::InvalidArgument("this client has no local store");
  }
  return impl_->store()->GetEffect(key);
}

Result<size_t> Client::OutboxSize() {
  if (impl_->store() == nullptr) return size_t{0};
  // Answered submits are forgotten by the keeper's next write.
  impl_->WaitForgotten(std::chrono::seconds(10));
  RELAIS_ASSIGN_OR_RETURN(auto kept, impl_->store()->Outbox());
  return kept.size();
}
const ClientStats& Client::stats() const { return impl_->stats(); }
const std::string& Client::participant() const { return impl_->participant(); }

Result<StatusRecord> Client::ReportStatus(const std::string& message_id,
                                          wire::RecipientState state,
                                          const std::string& reason,
                                          std::chrono::milliseconds timeout) {
  RELAIS_ASSIGN_OR_RETURN(
      std::string reply,
      impl_->QueryCase(
          {}, timeout,
          [message_id, state,
           clean = CleanText(reason, kMaxReasonBytes)](uint64_t req) {
            return StatusUpdateFrame(req, message_id, state, clean);
          }));
  auto f = ParseFrame(reply);
  const wire::StatusRecorded* r =
      f.ok() ? (*f)->body_as_StatusRecorded() : nullptr;
  if (r == nullptr) {
    return Status::Corruption("the broker's answer is not a StatusRecorded");
  }
  return StatusRecord{r->state(), r->changed(), r->recorded_at_ms()};
}

Result<uint32_t> Client::RegisterSubjects(const std::vector<std::string>& refs,
                                          bool unregister,
                                          std::chrono::milliseconds timeout) {
  std::string joined;
  for (const auto& r : refs) joined += r;
  RELAIS_ASSIGN_OR_RETURN(
      std::string reply,
      impl_->QueryCase(
          {}, timeout, [joined = std::move(joined), unregister](uint64_t req) {
            return SubjectRegistrationFrame(req, joined, unregister);
          }));
  auto f = ParseFrame(reply);
  const wire::SubjectsRegistered* r =
      f.ok() ? (*f)->body_as_SubjectsRegistered() : nullptr;
  if (r == nullptr) {
    return Status::Corruption(
        "the broker's answer is not a SubjectsRegistered");
  }
  return r->changed();
}

Result<std::vector<std::string>> Client::Route(
    wire::CaseType case_type, const std::string& subject_ref,
    std::chrono::milliseconds timeout) {
  RELAIS_ASSIGN_OR_RETURN(
      std::string reply,
      impl_->QueryCase({}, timeout, [case_type, subject_ref](uint64_t req) {
        return RouteQueryFrame(req, case_type, subject_ref);
      }));
  auto f = ParseFrame(reply);
  const wire::RouteReply* r = f.ok() ? (*f)->body_as_RouteReply() : nullptr;
  if (r == nullptr) {
    return Status::Corruption("the broker's answer is not a RouteReply");
  }
  std::vector<std::string> out;
  if (r->recipients()) {
    for (const auto* s : *r->recipients()) out.push_back(s->str());
  }
  return out;
}

Result<std::string> Client::Admin(wire::AdminOp op,
                                  const std::string& recipient,
                                  uint64_t sequence, uint32_t limit,
                                  std::chrono::milliseconds timeout,
                                  const wire::CaseFilterT* cases) {
  std::shared_ptr<const wire::CaseFilterT> filter;
  if (cases != nullptr) filter = std::make_shared<wire::CaseFilterT>(*cases);
  return impl_->QueryCase({}, timeout, [=](uint64_t req) {
    return AdminRequestFrame(req, op, recipient, sequence, limit, filter.get());
  });
}

}  // namespace relais::sdk
