#include "broker/transport/router_server.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <zmq.hpp>

#include "broker/transport/zap.h"

namespace relais::broker::transport {
namespace {

// ZeroMQ wants "*" for an ephemeral port; relais configs may say 0.
std::string EphemeralPort(std::string endpoint) {
  if (endpoint.size() > 2 && endpoint.ends_with(":0")) {
    endpoint.replace(endpoint.size() - 1, 1, "*");
  }
  return endpoint;
}

zmq::socket_t BindRouter(zmq::context_t& context, const RouterOptions& o) {
  zmq::socket_t s(context, zmq::socket_type::router);
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
  return s;
}

}  // namespace

// Declared in this order so that they close in the reverse one: the
// socket, then the ZAP handler, then the context.
struct RouterServer::Sockets {
  zmq::context_t context;
  std::unique_ptr<ZapHandler> zap;
  zmq::socket_t socket;
  std::string endpoint;
  int wake_fd = -1;  // eventfd: Wake()

  ~Sockets() {
    try {
      socket.close();
      if (zap) zap->Stop();
      context.shutdown();
    } catch (const zmq::error_t& e) {
      spdlog::error("closing the ROUTER socket: {}", e.what());
    }
    if (wake_fd >= 0) ::close(wake_fd);
  }
};

RouterServer::RouterServer(std::unique_ptr<Sockets> sockets)
    : sockets_(std::move(sockets)) {}

RouterServer::~RouterServer() = default;

Result<std::unique_ptr<RouterServer>> RouterServer::Start(
    const RouterOptions& o, Authenticate authenticate) {
  auto s = std::make_unique<Sockets>();
  s->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->wake_fd < 0) return Status::IOError("eventfd failed");
  s->zap = std::make_unique<ZapHandler>(&s->context, std::move(authenticate));
  RELAIS_RETURN_IF_ERROR(s->zap->Start());
  try {
    s->socket = BindRouter(s->context, o);
    s->endpoint = s->socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IOError("cannot bind " + o.endpoint + ": " + e.what());
  }
  return std::unique_ptr<RouterServer>(new RouterServer(std::move(s)));
}

const std::string& RouterServer::endpoint() const { return sockets_->endpoint; }

Status RouterServer::Wait(std::chrono::milliseconds timeout) {
  zmq::pollitem_t items[] = {{sockets_->socket.handle(), 0, ZMQ_POLLIN, 0},
                             {nullptr, sockets_->wake_fd, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, 2, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return Status::OK();
    return Status::IOError(std::string("poll failed: ") + e.what());
  }
  if (items[1].revents & ZMQ_POLLIN) {
    uint64_t n;
    [[maybe_unused]] ssize_t r = ::read(sockets_->wake_fd, &n, sizeof(n));
  }
  return Status::OK();
}

void RouterServer::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(sockets_->wake_fd, &one, sizeof(one));
}

std::optional<Incoming> RouterServer::TryReceive() {
  zmq::socket_t& socket = sockets_->socket;
  for (;;) {
    zmq::message_t id;
    try {
      if (!socket.recv(id, zmq::recv_flags::dontwait)) return std::nullopt;
      if (!id.more()) continue;  // cannot happen on ROUTER; be safe
      // The rest of a message arrives with its first part (atomic
      // delivery), so a blocking recv returns at once.
      zmq::message_t payload;
      if (!socket.recv(payload, zmq::recv_flags::none)) continue;
      bool extra = payload.more();
      const bool multipart = extra;
      while (extra) {  // a frame is one part: drain the rest
        zmq::message_t part;
        extra = socket.recv(part, zmq::recv_flags::none) && part.more();
      }
      const char* user = zmq_msg_gets(payload.handle(), "User-Id");
      if (user == nullptr || *user == '\0') {
        spdlog::warn("dropped a message without an authenticated identity");
        continue;
      }
      Incoming in;
      in.routing_id = id.to_string();
      in.participant = user;
      if (!multipart) in.payload = payload.to_string();
      return in;
    } catch (const zmq::error_t& e) {
      spdlog::error("ROUTER receive failed: {}", e.what());
      return std::nullopt;
    }
  }
}

Status RouterServer::Send(const std::string& routing_id,
                          std::string_view payload) {
  zmq::socket_t& socket = sockets_->socket;
  try {
    if (!socket.send(zmq::buffer(routing_id),
                     zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return Status::Unavailable("peer queue full");
    }
    socket.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    return Status::OK();
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return Status::Unavailable("peer gone");
    return Status::IOError(std::string("ROUTER send failed: ") + e.what());
  }
}

}  // namespace relais::broker::transport
