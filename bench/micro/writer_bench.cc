// Micro-benchmark of the journal writer (broker/journal/writer.h), the
// stage that takes most of relaisd's CPU under load: N submits (1 KiB
// envelopes, each opening its own case for one recipient), committed by
// group commit, then their N acks. Items/s is messages/s through both;
// the counter cpu_us_per_message is the process's CPU per message (the
// writer thread, RocksDB's own threads, and this thread building the
// requests), which the machine's other load moves less than the time.
// The log shows warnings only, as relaisd's does under relais-bench.

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <mutex>

#include "broker/journal/journal.h"
#include "broker/journal/writer.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/keys.h"

namespace relais::broker::journal {
namespace {

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Counts what the writer's reports answered, for the benchmark to wait on.
class Answers {
 public:
  void Add(const CommitReport& r) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : r.submits) {
      if (s.status.ok()) sequences_.push_back(s.sequence);
    }
    acks_ += r.acks;
    cv_.notify_all();
  }
  // Waits for `submits` accepted submits and `acks` acks in all.
  void WaitFor(size_t submits, size_t acks) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock,
             [&] { return sequences_.size() >= submits && acks_ >= acks; });
  }
  // The sequence of the `i`th accepted submit (from 0, in answer order).
  uint64_t SequenceOf(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return sequences_.at(i);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<uint64_t> sequences_;
  size_t acks_ = 0;
};

void BM_WriterSubmitsThenAcks(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  const std::string dir = std::filesystem::temp_directory_path().string() +
                          "/relais-writer-bench-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  auto journal = Journal::Open(dir, JournalOptions());
  auto broker = GenerateIdentity("relais", Clock::System()->NowMs(), 1);
  if (!journal.ok() || !broker.ok()) {
    state.SkipWithError("cannot open a journal or make a key");
    return;
  }
  Answers answers;
  auto writer = JournalWriter::Create(
      journal->get(), Clock::System(), BrokerSigner{"relais", broker->signing},
      [&answers](CommitReport r) { answers.Add(r); });
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  (*writer)->Start();

  const size_t per_round = static_cast<size_t>(state.range(0));
  const std::string envelope(1024 + 200, 'e');  // a payload, its header
  const int64_t expires_at_ms = Clock::System()->NowMs() + 3600 * 1000;
  const uint64_t run = static_cast<uint64_t>(::getpid());
  size_t submitted = 0;
  double cpu_seconds = 0;
  for (auto _ : state) {
    const double cpu_start = ProcessCpuSeconds();
    std::vector<AckRequest> acks;
    acks.reserve(per_round);
    for (size_t i = 0; i < per_round; ++i) {
      SubmitRequest r;
      PutBigEndian64(&r.message_id, ++submitted);
      PutBigEndian64(&r.message_id, run);
      r.envelope = envelope;
      r.case_id = "bench-" + HexEncode(r.message_id);
      r.sender = "bench-sender";
      r.header_sha256 = crypto::Sha256(r.message_id);
      r.subject_ref = std::string(32, 's');
      r.recipients = {"bench-receiver"};
      r.case_type = wire::CaseType::AddressChange;
      r.expires_at_ms = expires_at_ms;
      acks.push_back(AckRequest{"bench-receiver", 0, r.message_id, r.case_id,
                                wire::AckOutcome::Processed, ""});
      (*writer)->Post(std::move(r));
    }
    answers.WaitFor(submitted, 0);
    // Sequences are given in the order submits were posted.
    const size_t first = submitted - per_round;
    for (size_t i = 0; i < per_round; ++i) {
      acks[i].sequence = answers.SequenceOf(first + i);
      (*writer)->Post(std::move(acks[i]));
    }
    answers.WaitFor(submitted, submitted);
    cpu_seconds += ProcessCpuSeconds() - cpu_start;
  }
  state.SetItemsProcessed(static_cast<int64_t>(submitted));
  state.counters["cpu_us_per_message"] =
      submitted > 0 ? cpu_seconds * 1e6 / static_cast<double>(submitted) : 0;
  const WriterStats& stats = (*writer)->stats();
  state.counters["batches"] =
      static_cast<double>(stats.batches + stats.unsynced_batches);
  writer->reset();
  journal->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_WriterSubmitsThenAcks)
    ->ArgNames({"messages"})
    ->Arg(64)
    ->Arg(512)
    ->Arg(2048)
    ->UseRealTime();

}  // namespace
}  // namespace relais::broker::journal
