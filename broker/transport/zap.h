#pragma once

// ZAP handler (ZeroMQ RFC 27) for the broker's CURVE server: admits a
// connection only if its CURVE public key belongs to a registered
// participant, and binds the participant id to the connection as its
// User-Id, which then arrives with every message it sends.
//
// It must be started before the ROUTER socket binds: without a handler on
// inproc://zeromq.zap.01 a CURVE server admits any key.
//
// Thread-safety: runs its own thread with its own socket; Start and Stop
// from the owning thread.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <zmq.hpp>

#include "core/status.h"

namespace relais::broker::transport {

class ZapHandler {
 public:
  // Returns the participant id for a 32-byte CURVE key, or nullopt to refuse.
  // Called on the handler's thread; must be thread-safe.
  using Authenticate = std::function<std::optional<std::string>(
      std::string_view curve_key, std::string_view address)>;

  // `context` must outlive the handler.
  ZapHandler(zmq::context_t* context, Authenticate authenticate);
  ~ZapHandler();  // Stop()

  // Binds inproc://zeromq.zap.01 and starts the thread. IOError if the
  // endpoint is taken.
  Status Start();
  void Stop();

 private:
  void Run();
  zmq::context_t* context_;
  Authenticate authenticate_;
  zmq::socket_t socket_;
  std::thread thread_;
  std::string stop_endpoint_;
};

}  // namespace relais::broker::transport
