// Client::Impl's durable outbox (client_impl.h): with a state_dir, each
// submit is kept in the local store (the keeper thread: one sync for all
// the submits that queued meanwhile) while the I/O thread sends it, and
// forgotten once the broker answered (by the keeper's next write: the I/O
// thread never waits for the store). Start submits again what an earlier
// run left unanswered.
//
// Sending before the keep is synced loses nothing that was promised: a
// submit's caller hears only the broker's answer, and the broker answers
// once the message is synced in its journal. A crash before the keep
// loses a submit the broker may or may not have, and whose caller heard
// nothing, as a crash just before the submit would.

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

void Client::Impl::Keep(std::vector<SubmitCmd>* cmds) {
  const uint64_t first = store_->ReserveOutboxKeys(cmds->size());
  std::vector<KeepCmd> keep;
  keep.reserve(cmds->size());
  for (size_t i = 0; i < cmds->size(); ++i) {
    (*cmds)[i].outbox_key = first + i;
    keep.push_back({first + i, (*cmds)[i].envelope.bytes});
  }
  keeping_.fetch_add(keep.size());
  {
    std::lock_guard<std::mutex> lock(keep_mu_);
    for (auto& k : keep) to_keep_.push_back(std::move(k));
  }
  keep_cv_.notify_one();
}

void Client::Impl::KeeperLoop() {
  for (;;) {
    std::vector<KeepCmd> batch;
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
    std::vector<LocalStore::ToKeep> envelopes;
    envelopes.reserve(batch.size());
    for (const auto& k : batch) envelopes.push_back({k.key, k.envelope});
    // The answered ones go with the next sync (or alone, unsynced); one
    // answered before it was kept is removed by the write that keeps it.
    Status st = store_->KeepUnder(envelopes, answered);
    if (!answered.empty()) {
      {
        std::lock_guard<std::mutex> lock(keep_mu_);
        forgets_written_ += answered.size();
      }
      forgot_cv_.notify_all();
    }
    if (batch.empty()) {
      if (!st.ok()) spdlog::warn("{}: {}", participant(), st.ToString());
      continue;
    }
    CrashPoint("client.kept");
    if (!st.ok()) {
      // They are on their way all the same: only a crash before their
      // answers would lose them.
      spdlog::error(
          "{}: {} submit(s) are sent but not kept in the outbox, so they "
          "would not be sent again if this process stopped before the "
          "broker answered: {}",
          participant(), batch.size(), st.ToString());
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
  // Given to the keeper as it stopped: kept here, for the next run.
  std::vector<KeepCmd> left;
  {
    std::lock_guard<std::mutex> lock(keep_mu_);
    left.swap(to_keep_);
  }
  if (left.empty()) return;
  std::vector<LocalStore::ToKeep> envelopes;
  envelopes.reserve(left.size());
  for (const auto& k : left) envelopes.push_back({k.key, k.envelope});
  Status st = Status::OK();
  try {  // Stop runs in the destructor: nothing may escape
    st = store_->KeepUnder(envelopes);
  } catch (const std::exception& e) {
    st = Status::IOError(e.what());
  }
  if (!st.ok()) {
    spdlog::error("{}: {} submit(s) could not be kept in the outbox: {}",
                  participant(), left.size(), st.ToString());
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
