#pragma once

// RecentEnvelopes: the envelopes of the messages accepted last, kept in
// memory up to a number of bytes, so that delivering a message that is
// still there costs no journal read. The oldest go first; a message not
// (or no longer) here is read from the journal, as before. Message ids
// name immutable bytes (the journal never accepts other bytes under an
// id it has), so what is here is what the journal holds.
//
// Thread-safety: none; the loop thread owns it (in Sessions).

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>

namespace relais::broker::delivery {

class RecentEnvelopes {
 public:
  explicit RecentEnvelopes(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Keeps `envelope` under `message_id`, forgetting the oldest ones beyond
  // the byte budget. One larger than the whole budget is not kept; an id
  // already here keeps its bytes.
  void Remember(std::string message_id, std::string envelope);
  // The envelope of `message_id`, or nullptr. Valid until the next
  // Remember.
  const std::string* Find(const std::string& message_id) const;

  size_t bytes() const { return bytes_; }
  size_t size() const { return by_id_.size(); }

 private:
  size_t max_bytes_;
  size_t bytes_ = 0;  // envelope bytes held
  std::unordered_map<std::string, std::string> by_id_;
  std::deque<std::string> order_;  // ids, oldest first
};

}  // namespace relais::broker::delivery
