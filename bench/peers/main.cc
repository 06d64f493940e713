// relais-peer-bench: relais-bench's workload against NATS JetStream,
// RabbitMQ or Redis Streams (bench/peers/README.md).
//
//   relais-peer-bench --system redis --url redis://127.0.0.1:6379
//       --messages 20000 --payload-bytes 1024 --window 256 [--rate R] --json
//
// Exit status: 0; 1 if anything was lost or duplicated; 2 on bad flags;
// 3 if the broker could not be reached or failed during the run.

#include <nats/nats.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "peers.h"
#include "workload.h"

namespace relais::peers {

std::string RunName() {
  return "relais_peer_bench_" + std::to_string(::getpid()) + "_" +
         std::to_string(NowNs());
}

namespace {

constexpr int kExitFlags = 2;
constexpr int kExitBroker = 3;

int Run(const std::string& system, const PeerOptions& peer_options,
        const WorkloadOptions& options, bool json) {
  std::unique_ptr<Peer> peer;
  Status st;
  if (system == "redis") {
    st = ConnectRedis(peer_options, &peer);
  } else if (system == "rabbitmq") {
    st = ConnectRabbitMq(peer_options, &peer);
  } else {
    st = ConnectNats(peer_options, &peer);
  }
  if (!st.ok()) {
    std::cerr << "relais-peer-bench: " << st.message() << "\n";
    return kExitBroker;
  }
  WorkloadReport report;
  st = RunWorkload(peer.get(), options, &report);
  // The stream or queue goes whatever happened.
  if (Status down = peer->Teardown(); !down.ok())
    std::cerr << "relais-peer-bench: cleaning up: " << down.message() << "\n";
  if (!st.ok()) {
    std::cerr << "relais-peer-bench: " << st.message() << "\n";
    return kExitBroker;
  }
  if (report.timed_out) {
    std::cerr << "relais-peer-bench: no progress for " << options.timeout_s
              << " s, stopped\n";
  }
  if (json) {
    std::cout << report.ToJson().dump() << "\n";
  } else {
    std::cout << report.ToText();
  }
  return report.lost > 0 || report.duplicates > 0 ? 1 : 0;
}

// Flags, then the run.
int Main(int argc, char** argv) {
  // A broker closing its socket shows as a write error, not a signal.
  ::signal(SIGPIPE, SIG_IGN);

  CLI::App app{
      "relais-peer-bench: relais-bench's workload against NATS JetStream, "
      "RabbitMQ or Redis Streams, each at its strongest durability"};
  std::string system;
  std::string url;
  WorkloadOptions o;
  bool json = false;
  app.add_option("--system", system, "nats, rabbitmq or redis")
      ->required()
      ->check(CLI::IsMember({"nats", "rabbitmq", "redis"}));
  app.add_option("--url", url,
                 "server URL (default nats://127.0.0.1:4222, "
                 "amqp://guest:guest@127.0.0.1:5672, redis://127.0.0.1:6379)");
  app.add_option("--messages", o.messages, "messages to send")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  app.add_option("--payload-bytes", o.payload_bytes,
                 "payload size (at least 16: index and send time)")
      ->capture_default_str()
      ->check(CLI::Range(kPayloadHeader, size_t{64} << 20));
  app.add_option("--window", o.window,
                 "messages awaiting their durable ack at most; deliveries "
                 "unacknowledged at most")
      ->capture_default_str()
      ->check(CLI::Range(1u, 65535u));
  app.add_option("--rate", o.rate,
                 "open loop: offer this many messages per second, whatever "
                 "the answers (latency counted from each one's moment)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            // CLI::Range lets "nan" through: its comparisons are false.
            const double v = std::strtod(text.c_str(), nullptr);
            return std::isfinite(v) ? "" : "must be a finite number";
          },
          ""))
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--timeout", o.timeout_s,
                 "seconds without progress before giving up")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_flag("--json", json, "print one JSON object");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitFlags;
  }
  static const std::map<std::string, std::string> kDefaultUrl = {
      {"nats", "nats://127.0.0.1:4222"},
      {"rabbitmq", "amqp://guest:guest@127.0.0.1:5672"},
      {"redis", "redis://127.0.0.1:6379"}};
  PeerOptions peer_options;
  peer_options.url = url.empty() ? kDefaultUrl.at(system) : url;
  peer_options.window = o.window;
  peer_options.timeout_s = o.timeout_s;
  const int code = Run(system, peer_options, o, json);
  // The NATS library's threads are stopped before exit (a no-op when it
  // was never used).
  nats_CloseAndWait(2000);
  return code;
}

}  // namespace
}  // namespace relais::peers

int main(int argc, char** argv) {
  try {
    return relais::peers::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "relais-peer-bench: unexpected error: %s\n", e.what());
    return relais::peers::kExitBroker;
  }
}
