#pragma once

// ZAP handler (ZeroMQ RFC 27) for the broker's CURVE server: admits a
// connection only if its CURVE public key belongs to a registered
// participant, and binds the participant id to the connection as its
// User-Id, which then arrives with every message it sends.
//
// It must be started before the ROUTER socket binds: without a handler on
// inproc://zeromq.zap.01 a CURVE server admits any key. Internal to
// broker/transport/ (RouterServer starts it).
//
// Thread-safety: runs its own thread with its own socket; Start and Stop
// from the owning thread.

#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "broker/transport/router_server.h"
#include "core/status.h"

namespace relais::broker::transport {

// The reply to one ZAP request (RFC 27): status code "200", "400" or
// "500", its text, and the User-Id for an admitted connection.
struct ZapReply {
  std::string request_id;
  std::string status_code;
  std::string status_text;
  std::string user_id;
};

// Judges one ZAP request, given as its frames (version, request id,
// domain, address, identity, mechanism, credentials...). A request of
// fewer than six frames is malformed (500); a CURVE request whose 32-byte
// key `authenticate` knows is admitted (200, User-Id = the participant);
// anything else is refused (400).
ZapReply JudgeZapRequest(const std::vector<std::string_view>& frames,
                         const Authenticate& authenticate);

class ZapHandler {
 public:
  // `context` must outlive the handler.
  ZapHandler(zmq::context_t* context, Authenticate authenticate);
  ~ZapHandler();  // Stop()

  // Binds inproc://zeromq.zap.01 and starts the thread. IOError if the
  // endpoint is taken.
  Status Start();
  void Stop();

 private:
  void AnswerOne();
  zmq::context_t* context_;
  Authenticate authenticate_;
  zmq::socket_t socket_;
  std::thread thread_;
  std::string stop_endpoint_;
};

}  // namespace relais::broker::transport
