// relais-bench: end-to-end load generator (bench/README.md). Parses flags
// and hands over to relais::bench::RunLoad.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench/load/load_run.h"
#include "core/command_line.h"
#include "core/log.h"
#include "deploy/lib/provision.h"

// The command line's table, then the run (or the receiving process).
// NOLINTNEXTLINE(readability-function-size)
static int RunBench(int argc, char** argv) {
  CLI::App app{"relais-bench: end-to-end load through relaisd", "relais-bench"};
  relais::bench::LoadOptions o;
  bool json = false;
  app.add_option("--messages", o.messages, "messages to send")
      ->check(relais::WholeNumberIn(1, 10000000))
      ->capture_default_str();
  // Past relaisd's largest max_message_bytes, every submit is refused.
  app.add_option("--payload-bytes", o.payload_bytes, "payload size")
      ->check(relais::WholeNumberIn(0, size_t{64} << 20))
      ->capture_default_str();
  app.add_option("--broker", o.broker,
                 "use this relaisd instead of starting one");
  app.add_option("--stack", o.stack_dir,
                 "with --broker: folder from `relais provision --bench`");
  app.add_option("--in-flight", o.in_flight,
                 "submits awaiting receipts at most, per sender")
      ->check(relais::WholeNumberIn(1, 1000000))
      ->capture_default_str();
  app.add_option("--senders", o.senders,
                 "sending participants, each its own client (bench-sender, "
                 "bench-sender-2, ...)")
      ->check(relais::WholeNumberIn(1, 64))
      ->capture_default_str();
  app.add_option("--receivers", o.receivers,
                 "receiving processes, each its own participant "
                 "(bench-receiver, bench-receiver-2, ...)")
      ->check(relais::WholeNumberIn(1, 64))
      ->capture_default_str();
  app.add_option("--recipients-per-message", o.recipients_per_message,
                 "receivers each message goes to (at most --receivers)")
      ->check(relais::WholeNumberIn(1, 64))
      ->capture_default_str();
  // 0 would take no deliveries at all: the run could never drain.
  app.add_option("--window", o.window, "receiver delivery window")
      ->check(relais::WholeNumberIn(1, 65536))
      ->capture_default_str();
  app.add_option("--drain-timeout", o.drain_timeout_s,
                 "seconds without progress before giving up")
      ->check(relais::WholeNumberIn(1, 86400))
      ->capture_default_str();
  app.add_option("--backlog", o.backlog,
                 "receiver connects once this many messages are journaled")
      ->check(relais::WholeNumberIn(0, 10000000))
      ->capture_default_str();
  app.add_option("--kill-broker", o.kill_broker,
                 "SIGKILL and restart relaisd this many times during the run")
      ->check(relais::WholeNumberIn(0, 1000))
      ->capture_default_str();
  app.add_option("--kill-receiver", o.kill_receiver,
                 "SIGKILL and restart the receiving process this many times")
      ->check(relais::WholeNumberIn(0, 1000))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the random kill moments (0: any)")
      ->check(relais::kWholeNumber);
  app.add_option("--batch-seal", o.batch_seal,
                 "seal up to N envelopes with one signature (PROTOCOL.md "
                 "4.8); 0: each signed alone")
      ->check(relais::WholeNumberIn(0, 65536))
      ->capture_default_str();
  app.add_option("--batch-window-ms", o.batch_window_ms,
                 "with --batch-seal: longest wait after the previous seal "
                 "(an idle sealer seals at once)")
      ->check(relais::kFiniteNumber)
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  app.add_option("--rate", o.rate,
                 "open loop: offer this many messages per second, whatever "
                 "the answers (latency counted from each one's moment)")
      ->check(relais::kFiniteNumber)
      ->check(CLI::Range(0.0, 10000000.0));
  // The receiving process that RunLoad starts (receiver.cc).
  bool receive = false;
  int run_pid = 0;
  relais::bench::ReceiverOptions ro;
  auto* internal = app.add_option_group("internal");
  internal->add_flag("--receive", receive, "be the receiving process");
  internal->add_option("--run-pid", run_pid);
  internal->add_option("--nonce", ro.nonce_hex);
  internal->add_option("--participant", ro.participant);
  internal->add_option("--progress", ro.progress_file);
  app.add_flag("--json", json, "print one JSON object");
  relais::AddVersionFlag(app);
  if (auto rc = relais::ParseCommandLine(app, argc, argv)) return *rc;
  if (receive) {
    relais::SetUpLog("relais-bench", "warn").PermitUnchecked();
    ro.window = o.window;
    if (ro.participant.empty())
      ro.participant = relais::deploy::BenchReceiver(0);
    auto client = relais::bench::BenchClient(o.stack_dir, o.broker,
                                             ro.participant, run_pid);
    if (!client.ok()) {
      std::fprintf(stderr, "relais-bench --receive: %s\n",
                   client.status().ToString().c_str());
      return 1;
    }
    return relais::bench::RunReceiver(ro, std::move(*client));
  }
  if (o.recipients_per_message > o.receivers) {
    std::fprintf(stderr,
                 "relais-bench: --recipients-per-message (%u) cannot exceed "
                 "--receivers (%u)\n",
                 o.recipients_per_message, o.receivers);
    return 2;
  }
  if (!o.broker.empty() && o.stack_dir.empty()) {
    std::fprintf(stderr, "relais-bench: --broker needs --stack\n");
    return 2;
  }
  if (o.broker.empty() && !o.stack_dir.empty()) {
    std::fprintf(stderr,
                 "relais-bench: --stack goes with --broker (without --broker, "
                 "relais-bench provisions a stack of its own)\n");
    return 2;
  }
  relais::SetUpLog("relais-bench", "warn").PermitUnchecked();
  auto report = relais::bench::RunLoad(o);
  if (!report.ok()) {
    std::fprintf(stderr, "relais-bench: %s\n",
                 report.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", json ? report->ToJson().dump().c_str()
                           : report->ToText().c_str());
  return report->lost == 0 && report->duplicates == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  try {
    return RunBench(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "relais-bench: unexpected error: %s\n", e.what());
    return 1;
  }
}
