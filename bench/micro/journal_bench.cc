// Micro-benchmark of the journal's durable write: one synced RocksDB batch
// holding N messages (their envelope, outbox entry and dedup entry), as the
// JournalWriter's group commit writes them. Items/s is messages/s. The
// second argument: 1 if the batch reserves its bytes at once, as the
// writer's do.

#include <benchmark/benchmark.h>

#include <filesystem>

#include "broker/journal/journal.h"
#include "core/bytes.h"
#include "core/crypto.h"

namespace relais::broker::journal {
namespace {

void BM_JournalSyncedBatch(benchmark::State& state) {
  const std::string dir = std::filesystem::temp_directory_path().string() +
                          "/relais-journal-bench-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  auto journal = Journal::Open(dir, JournalOptions());
  if (!journal.ok()) {
    state.SkipWithError(journal.status().ToString().c_str());
    return;
  }
  const size_t per_batch = static_cast<size_t>(state.range(0));
  const std::string envelope(1024, 'e');
  const std::string dedup_and_envelope = std::string(60, 'd') + envelope;
  uint64_t seq = 0;
  for (auto _ : state) {
    auto batch = (*journal)->NewBatch(
        state.range(1) != 0 ? per_batch * (envelope.size() + 256) : 0);
    for (size_t i = 0; i < per_batch; ++i) {
      std::string id;
      PutBigEndian64(&id, ++seq);
      PutBigEndian64(&id, seq);
      if (state.range(2) != 0) {
        // Not the journal's format: what one record for the message and
        // its dedup entry (both keyed by message id) would cost.
        batch->PutMessage(id, dedup_and_envelope);
        batch->PutOutbox("bench-receiver", seq, id);
        continue;
      }
      batch->PutMessage(id, envelope);
      batch->PutOutbox("bench-receiver", seq, id);
      batch->PutDedup(id,
                      DedupEntry{seq, 1, std::string(32, 'h'), "bench-sender"});
    }
    if (!(*journal)->Commit(batch.get()).ok())
      state.SkipWithError("commit failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(per_batch));
  journal->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_JournalSyncedBatch)
    ->ArgNames({"messages", "reserve", "dedup_in_message"})
    ->ArgsProduct({{1, 64, 512, 2048}, {0, 1}, {0, 1}})
    ->UseRealTime();

}  // namespace
}  // namespace relais::broker::journal

BENCHMARK_MAIN();
