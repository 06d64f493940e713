#include "broker/journal/recent_receipts.h"

namespace relais::broker::journal {

void RecentReceipts::Remember(
    uint64_t batch, std::vector<std::pair<std::string, DedupEntry>> accepted) {
  std::vector<std::string> ids;
  ids.reserve(accepted.size());
  for (auto& accepted_one : accepted) {
    ids.push_back(accepted_one.first);
    index_.insert_or_assign(
        std::move(accepted_one.first),
        std::make_pair(batch, std::move(accepted_one.second)));
  }
  entries_ += ids.size();
  batches_.emplace_back(batch, std::move(ids));
  while (batches_.size() > batches_kept_ ||
         (entries_ > entries_kept_ && batches_.size() > 1)) {
    const auto& [oldest, oldest_ids] = batches_.front();
    for (const auto& id : oldest_ids) {
      auto it = index_.find(id);
      if (it != index_.end() && it->second.first == oldest) index_.erase(it);
    }
    entries_ -= oldest_ids.size();
    floor_ = oldest;
    batches_.pop_front();
  }
}

void RecentReceipts::Forget(uint64_t batch) {
  batches_.clear();
  index_.clear();
  entries_ = 0;
  floor_ = batch;
}

const DedupEntry* RecentReceipts::FindAfter(std::string_view message_id,
                                            uint64_t as_of_batch) const {
  auto it = index_.find(std::string(message_id));
  if (it == index_.end() || it->second.first <= as_of_batch) return nullptr;
  return &it->second.second;
}

}  // namespace relais::broker::journal
