#pragma once

// The broker's one listening socket, and everything ZeroMQ: the context,
// the ZAP handler that decides who gets in (zap.h), a CURVE ROUTER socket
// with ZMQ_ROUTER_MANDATORY (a message to a peer that is gone is an error
// rather than silently dropped), the poll, and a wake-up for other
// threads. Every ZeroMQ error becomes a Status here; nothing outside
// broker/transport/ sees a ZeroMQ type.
//
// Thread-safety: Wait, TryReceive and Send from one thread (the broker
// loop); Wake from any thread, and from a signal handler.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace relais::broker::transport {

// The participant id that owns a 32-byte CURVE public key, or nullopt to
// refuse the connection. `address` is the peer's IP address. Called on the
// ZAP handler's thread: must be thread-safe.
using Authenticate = std::function<std::optional<std::string>(
    std::string_view curve_key, std::string_view address)>;

struct RouterOptions {
  // Endpoint to bind, e.g. "tcp://127.0.0.1:7700"; port 0 or "*" picks one.
  std::string endpoint;
  // The broker's CURVE secret key (Z85).
  std::string curve_secret_z85;
  // Hard transport ceiling: a peer sending a larger message is disconnected
  // by ZeroMQ. Set above the broker's max_message_bytes so that moderately
  // oversized envelopes still get a coded MessageTooLarge.
  int64_t max_transport_bytes = 4 << 20;
  // Per-peer queue limits (messages). At the receive limit ZeroMQ stops
  // reading from that peer (TCP back-pressure); at the send limit Send()
  // returns Unavailable and the broker keeps the message for later.
  int receive_hwm = 1000;
  int send_hwm = 10000;
  // ZMTP heartbeats detect dead peers. Default: 2000 ms / 6000 ms.
  int heartbeat_interval_ms = 2000;
  int heartbeat_timeout_ms = 6000;
};

// One message from a client: where it came from and its bytes.
struct Incoming {
  std::string routing_id;
  // The identity the ZAP handler bound to the connection.
  std::string participant;
  // One frame; empty if the message had more than one part (the broker
  // answers it MalformedFrame, request_id 0).
  std::string payload;
};

class RouterServer {
 public:
  // Starts the ZAP handler with `authenticate` (before the bind: without a
  // handler a CURVE server admits any key), then binds. IOError if the
  // endpoint or the ZAP endpoint cannot be bound.
  static Result<std::unique_ptr<RouterServer>> Start(
      const RouterOptions& options, Authenticate authenticate);
  ~RouterServer();  // closes the socket, stops the ZAP handler

  // The endpoint actually bound (with the chosen port).
  const std::string& endpoint() const;

  // Returns when a message is waiting, Wake() was called, or `timeout` has
  // passed, whichever comes first. IOError if the poll fails (not EINTR).
  Status Wait(std::chrono::milliseconds timeout);
  // Makes the current or next Wait return. Async-signal-safe.
  void Wake();

  // One message if one is waiting; nullopt if none. A message without a
  // ZAP User-Id is dropped and logged.
  std::optional<Incoming> TryReceive();
  // Unavailable if the peer is gone (EHOSTUNREACH) or its queue is full
  // (EAGAIN); the caller decides whether to keep the message.
  Status Send(const std::string& routing_id, std::string_view payload);

 private:
  struct Sockets;
  explicit RouterServer(std::unique_ptr<Sockets> sockets);
  std::unique_ptr<Sockets> sockets_;
};

}  // namespace relais::broker::transport
