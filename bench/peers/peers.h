#pragma once

// relais-peer-bench: relais-bench's workload (bench/load/) run against the
// brokers operators know, each at the strongest per-message durability it
// offers, so that figures can be put side by side (bench/peers/README.md).
//
// A Peer is one system: a setup connection that creates this run's
// stream or queue, reports the server's version and durability setting,
// and deletes the stream or queue at the end. Its Producer and Consumer
// each own a connection of their own and are driven by one thread each
// (workload.cc), so the three systems are measured by the same loop.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relais::peers {

// What a call reports: empty message when all went well (a standalone
// project: relais's own Status is not linked here).
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Error(std::string message) {
    return Status(std::move(message));
  }
  bool ok() const { return message_.empty(); }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::string message_;
};

// CLOCK_MONOTONIC in ns: the clock relais-bench stamps its payloads with.
int64_t NowNs();

// The payload: the message's index and its scheduled send time
// (big-endian, 8 bytes each), then filler up to the payload size.
inline constexpr size_t kPayloadHeader = 16;
void FillPayload(uint64_t index, int64_t scheduled_ns, std::string* payload);
// False if `payload` is too short to carry the header.
bool ParsePayload(std::string_view payload, uint64_t* index,
                  int64_t* scheduled_ns);

// The broker's answer to one published message.
struct Ack {
  uint64_t index = 0;
  bool ok = false;  // false: the broker refused it (nack, error reply)
  int64_t at_ns = 0;
};

class Producer {
 public:
  virtual ~Producer() = default;
  // Hands one message to the broker without waiting for its answer.
  virtual Status Send(uint64_t index, std::string_view payload) = 0;
  // Waits at most `timeout` for answers (none: returns at once if none is
  // there yet), appending those that came to `acks`.
  virtual Status Poll(std::chrono::nanoseconds timeout,
                      std::vector<Ack>* acks) = 0;
};

// Called by a Consumer for each delivery, before it acknowledges it.
using DeliveryFn = std::function<void(std::string_view payload)>;

class Consumer {
 public:
  virtual ~Consumer() = default;
  // Waits at most `timeout` for deliveries, hands each to `got`, then
  // acknowledges it to the broker.
  virtual Status Poll(std::chrono::nanoseconds timeout,
                      const DeliveryFn& got) = 0;
  // Sends the acknowledgements still buffered, if any.
  virtual Status Close() { return Status(); }
};

struct PeerOptions {
  std::string url;
  uint32_t window = 256;
  // The run's timeout: broker answers may take this long under load.
  int timeout_s = 60;
};

class Peer {
 public:
  virtual ~Peer() = default;
  // "nats-jetstream", "rabbitmq" or "redis-streams".
  virtual std::string System() const = 0;
  // The server's version, as the server reports it.
  virtual std::string Version() const = 0;
  // The durability setting measured, in a few words.
  virtual std::string Durability() const = 0;
  // Producer and consumer of this run's stream or queue (each with a
  // connection of its own; the consumer subscribes at once).
  virtual Status NewProducer(std::unique_ptr<Producer>* out) = 0;
  virtual Status NewConsumer(std::unique_ptr<Consumer>* out) = 0;
  // Deletes this run's stream or queue.
  virtual Status Teardown() = 0;
};

// Connects to the system's server and creates this run's stream or queue.
Status ConnectRedis(const PeerOptions& options, std::unique_ptr<Peer>* out);
Status ConnectRabbitMq(const PeerOptions& options, std::unique_ptr<Peer>* out);
Status ConnectNats(const PeerOptions& options, std::unique_ptr<Peer>* out);

// A name for this run's stream or queue, unique on the machine.
std::string RunName();

}  // namespace relais::peers
