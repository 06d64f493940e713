#pragma once

// The broker's one ROUTER socket: a CURVE server (with the ZAP handler
// deciding who gets in), ZMQ_ROUTER_MANDATORY so that a message to a peer
// that is gone is an error rather than silently dropped, and every ZeroMQ
// error converted to a Status here.
//
// Thread-safety: none; owned and used by the broker loop thread only.

#include <cstdint>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "core/status.h"

namespace relais::broker::transport {

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

struct Incoming {
  std::string routing_id;
  // The identity the ZAP handler bound to the connection.
  std::string participant;
  zmq::message_t payload;
};

class RouterServer {
 public:
  // `context` must outlive the server; the ZAP handler must already run.
  static Result<std::unique_ptr<RouterServer>> Bind(
      zmq::context_t* context, const RouterOptions& options);

  // The endpoint actually bound (with the chosen port).
  const std::string& endpoint() const { return endpoint_; }
  void* handle() { return socket_.handle(); }

  // One message if one is waiting; nullopt if none. A message of more than
  // one payload part is drained whole and handed on with an empty payload
  // (the broker answers it MalformedFrame, request_id 0); a message without
  // a ZAP User-Id is dropped and logged.
  std::optional<Incoming> TryReceive();
  // Unavailable if the peer is gone (EHOSTUNREACH) or its queue is full
  // (EAGAIN); the caller decides whether to keep the message.
  Status Send(const std::string& routing_id, std::string_view payload);

 private:
  RouterServer(zmq::socket_t socket, std::string endpoint)
      : socket_(std::move(socket)), endpoint_(std::move(endpoint)) {}
  zmq::socket_t socket_;
  std::string endpoint_;
};

}  // namespace relais::broker::transport
