// Client::Impl's durable outbox (client_impl.h): with a state_dir, each
// submit is kept in the local store (the keeper thread: one sync for all
// the submits that queued meanwhile) before it is posted to the I/O
// thread, and forgotten once the broker answered (by the keeper's next
// write: the I/O thread never waits for the store). Start submits again
// what an earlier run left unanswered.

#include <spdlog/spdlog.h>

#include "adapters/sdk/client_impl.h"
#include "core/crash_point.h"

namespace relais::sdk {

Status Client::Impl::RestoreOutbox() {
  RELAIS_ASSIGN_OR_RETURN(std::vector<LocalStore::Kept> kept, store_->Outbox());
  if (kept.empty()) return Status::OK();
  spdlog::info("{}: submitting again {} unanswered submits from the outbox",
               participant(), kept.size());
  std::vector<Command> cmds;
  for (auto& k : kept) {
    std::string id = PeekMessageId(k.envelope);
    SubmitCallback done = [this, id](Result<Receipt> r) {
      if (opts_.restored_done) {
        opts_.restored_done(id, std::move(r));
      } else if (!r.ok()) {
        spdlog::warn("{}: a submit restored from the outbox was refused: {}",
                     participant(), r.status().ToString());
      }
    };
    // Only its bytes are sent again: the header hash is not needed.
    cmds.push_back(SubmitCmd{
        {std::move(id), std::move(k.envelope), {}}, std::move(done), k.key});
  }
  stats_.outbox_restored.fetch_add(kept.size());
  std::lock_guard<std::mutex> lock(cmd_mu_);
  for (auto& c : cmds) commands_.push_back(std::move(c));
  return Status::OK();
}

void Client::Impl::Keep(SubmitCmd c) {
  keeping_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(keep_mu_);
    to_keep_.push_back(std::move(c));
  }
  keep_cv_.notify_one();
}

void Client::Impl::KeeperLoop() {
  for (;;) {
    std::vector<SubmitCmd> batch;
    std::vector<uint64_t> answered;
    {
      std::unique_lock<std::mutex> lock(keep_mu_);
      keep_cv_.wait(lock, [this] {
        return stopping_.load() || !to_keep_.empty() || !to_forget_.empty();
      });
      batch.swap(to_keep_);
      answered.swap(to_forget_);
    }
    if (batch.empty() && answered.empty()) return;  // stopping
    std::vector<std::string_view> envelopes;
    envelopes.reserve(batch.size());
    for (const auto& c : batch) envelopes.push_back(c.envelope.bytes);
    // The answered ones go with the next sync (or alone, unsynced).
    auto keys = store_->Keep(envelopes, answered);
    if (!answered.empty()) {
      {
        std::lock_guard<std::mutex> lock(keep_mu_);
        forgets_written_ += answered.size();
      }
      forgot_cv_.notify_all();
    }
    if (batch.empty()) {
      if (!keys.ok())
        spdlog::warn("{}: {}", participant(), keys.status().ToString());
      continue;
    }
    CrashPoint("client.kept");
    if (!keys.ok()) {
      spdlog::error("{}: {}", participant(), keys.status().ToString());
      for (auto& c : batch) c.done(keys.status());
    } else {
      std::vector<Command> cmds;
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i].outbox_key = (*keys)[i];
        cmds.push_back(std::move(batch[i]));
      }
      PostAll(std::move(cmds));
    }
    if (keeping_.fetch_sub(batch.size()) == batch.size()) {
      // Idle: the sealer may seal what gathered meanwhile.
      { std::lock_guard<std::mutex> lock(seal_mu_); }  // no lost wake-up
      seal_cv_.notify_one();
    }
  }
}

void Client::Impl::StopKeeper() {
  {
    std::lock_guard<std::mutex> lock(keep_mu_);  // no lost wake-up
  }
  keep_cv_.notify_all();
  if (keeper_thread_.joinable()) keeper_thread_.join();
  // Never kept: their callers hear it (kept ones stay for the next run).
  std::vector<SubmitCmd> never_kept;
  {
    std::lock_guard<std::mutex> lock(keep_mu_);
    never_kept.swap(to_keep_);
  }
  for (auto& c : never_kept) {
    c.done(Status::Rejected(wire::RejectCode::ShuttingDown, "client stopped"));
  }
}

void Client::Impl::Answered(uint64_t key) {
  if (key == 0) return;
  {
    std::lock_guard<std::mutex> lock(keep_mu_);
    to_forget_.push_back(key);
    ++forgets_asked_;
  }
  keep_cv_.notify_one();
}

void Client::Impl::WaitForgotten(milliseconds timeout) {
  std::unique_lock<std::mutex> lock(keep_mu_);
  const uint64_t asked = forgets_asked_;
  forgot_cv_.wait_for(lock, timeout, [&] { return forgets_written_ >= asked; });
}

}  // namespace relais::sdk
