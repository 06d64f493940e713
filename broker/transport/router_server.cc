#include "broker/transport/router_server.h"

#include <spdlog/spdlog.h>

namespace relais::broker::transport {
namespace {

// ZeroMQ wants "*" for an ephemeral port; relais configs may say 0.
std::string EphemeralPort(std::string endpoint) {
  if (endpoint.size() > 2 && endpoint.ends_with(":0")) {
    endpoint.replace(endpoint.size() - 1, 1, "*");
  }
  return endpoint;
}

}  // namespace

Result<std::unique_ptr<RouterServer>> RouterServer::Bind(
    zmq::context_t* context, const RouterOptions& o) {
  try {
    zmq::socket_t s(*context, zmq::socket_type::router);
    s.set(zmq::sockopt::router_mandatory, 1);
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::curve_secretkey, o.curve_secret_z85);
    s.set(zmq::sockopt::zap_domain, "relais");
    s.set(zmq::sockopt::maxmsgsize, o.max_transport_bytes);
    s.set(zmq::sockopt::rcvhwm, o.receive_hwm);
    s.set(zmq::sockopt::sndhwm, o.send_hwm);
    s.set(zmq::sockopt::heartbeat_ivl, o.heartbeat_interval_ms);
    s.set(zmq::sockopt::heartbeat_timeout, o.heartbeat_timeout_ms);
    s.set(zmq::sockopt::linger, 1000);
    s.bind(EphemeralPort(o.endpoint));
    std::string endpoint = s.get(zmq::sockopt::last_endpoint);
    return std::unique_ptr<RouterServer>(
        new RouterServer(std::move(s), std::move(endpoint)));
  } catch (const zmq::error_t& e) {
    return Status::IOError("cannot bind " + o.endpoint + ": " + e.what());
  }
}

std::optional<Incoming> RouterServer::TryReceive() {
  for (;;) {
    zmq::message_t id;
    try {
      if (!socket_.recv(id, zmq::recv_flags::dontwait)) return std::nullopt;
      if (!id.more()) continue;  // cannot happen on ROUTER; be safe
      Incoming in;
      in.routing_id = id.to_string();
      // The rest of a message arrives with its first part (atomic
      // delivery), so a blocking recv returns at once.
      if (!socket_.recv(in.payload, zmq::recv_flags::none)) continue;
      bool extra = in.payload.more();
      const bool multipart = extra;
      while (extra) {  // a frame is one part: drain the rest
        zmq::message_t part;
        extra = socket_.recv(part, zmq::recv_flags::none) && part.more();
      }
      const char* user = zmq_msg_gets(in.payload.handle(), "User-Id");
      in.participant = user ? user : "";
      if (in.participant.empty()) {
        spdlog::warn("dropped a message without an authenticated identity");
        continue;
      }
      // Not one part: hand on an empty payload, refused as MalformedFrame.
      if (multipart) in.payload.rebuild(static_cast<size_t>(0));
      return in;
    } catch (const zmq::error_t& e) {
      spdlog::error("ROUTER receive failed: {}", e.what());
      return std::nullopt;
    }
  }
}

Status RouterServer::Send(const std::string& routing_id,
                          std::string_view payload) {
  try {
    if (!socket_.send(zmq::buffer(routing_id),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return Status::Unavailable("peer queue full");
    }
    socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    return Status::OK();
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return Status::Unavailable("peer gone");
    return Status::IOError(std::string("ROUTER send failed: ") + e.what());
  }
}

}  // namespace relais::broker::transport
