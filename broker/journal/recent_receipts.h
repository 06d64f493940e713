#pragma once

// The acceptances of the last batches the writer committed, so that a
// submit whose dedup entry ingress already looked up (PriorReceipt) needs
// no second journal read: only the batches committed since the lookup can
// have accepted its id, and they are here.
//
// Batches are numbered from 1 as they commit. Remember(n, ...) must be
// called for every n in order; Forget() marks a point after which earlier
// lookups are not trusted (a failed batch, a reopened journal: what is in
// the journal may then differ from what was remembered).
//
// Thread-safety: none; the writer thread only (the batch count that
// ingress reads is the writer's atomic).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/journal/requests.h"

namespace relais::broker::journal {

class RecentReceipts {
 public:
  // Keeps the last `batches_kept` batches, fewer if they hold more than
  // `entries_kept` acceptances (the latest batch always): ingress looks up
  // a few batches before the writer's turn, and batches of thousands under
  // load must not hold hundreds of megabytes.
  explicit RecentReceipts(size_t batches_kept = 256,
                          size_t entries_kept = 32768)
      : batches_kept_(batches_kept), entries_kept_(entries_kept) {}

  // Batch `batch` (the last one plus one) committed these acceptances.
  void Remember(uint64_t batch,
                std::vector<std::pair<std::string, DedupEntry>> accepted);
  // Lookups made when `batch` batches had committed are no longer trusted.
  void Forget(uint64_t batch);

  // Whether every batch committed after `as_of_batch` is remembered (and
  // no Forget came after it): then FindAfter is the whole truth since.
  bool Covers(uint64_t as_of_batch) const { return as_of_batch >= floor_; }
  // `message_id`'s acceptance by a batch numbered above `as_of_batch`.
  const DedupEntry* FindAfter(std::string_view message_id,
                              uint64_t as_of_batch) const;

 private:
  const size_t batches_kept_;
  const size_t entries_kept_;
  size_t entries_ = 0;  // ids in batches_
  uint64_t floor_ = 0;  // every batch above it is remembered
  std::deque<std::pair<uint64_t, std::vector<std::string>>> batches_;
  // message id -> (batch, entry)
  std::unordered_map<std::string, std::pair<uint64_t, DedupEntry>> index_;
};

}  // namespace relais::broker::journal
