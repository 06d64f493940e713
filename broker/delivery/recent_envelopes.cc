#include "broker/delivery/recent_envelopes.h"

namespace relais::broker::delivery {

void RecentEnvelopes::Remember(std::string message_id, std::string envelope) {
  if (envelope.size() > max_bytes_ || by_id_.count(message_id) != 0) return;
  while (bytes_ + envelope.size() > max_bytes_ && !order_.empty()) {
    auto oldest = by_id_.find(order_.front());
    bytes_ -= oldest->second.size();
    by_id_.erase(oldest);
    order_.pop_front();
  }
  bytes_ += envelope.size();
  order_.push_back(message_id);
  by_id_.emplace(std::move(message_id), std::move(envelope));
}

const std::string* RecentEnvelopes::Find(const std::string& message_id) const {
  auto it = by_id_.find(message_id);
  return it == by_id_.end() ? nullptr : &it->second;
}

}  // namespace relais::broker::delivery
