#include "broker/transport/zap.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "core/text.h"
#include "core/thread_name.h"

namespace relais::broker::transport {
namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";

}  // namespace

ZapHandler::ZapHandler(zmq::context_t* context, Authenticate authenticate)
    : context_(context), authenticate_(std::move(authenticate)) {}

ZapHandler::~ZapHandler() { Stop(); }

Status ZapHandler::Start() {
  try {
    socket_ = zmq::socket_t(*context_, zmq::socket_type::rep);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(kZapEndpoint);
    // A PAIR to wake the thread up for Stop().
    stop_endpoint_ = "inproc://relais-zap-stop-" +
                     std::to_string(reinterpret_cast<uintptr_t>(this));
  } catch (const zmq::error_t& e) {
    return Status::IOError(std::string("ZAP handler cannot bind: ") + e.what());
  }
  zmq::socket_t stop_rx(*context_, zmq::socket_type::pair);
  stop_rx.bind(stop_endpoint_);
  thread_ = std::thread([this, rx = std::move(stop_rx)]() mutable {
    NameThisThread("zap-auth");
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                               {rx.handle(), 0, ZMQ_POLLIN, 0}};
    for (;;) {
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(-1));
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) break;
        continue;
      }
      if (items[1].revents & ZMQ_POLLIN) break;
      if (items[0].revents & ZMQ_POLLIN) AnswerOne();
    }
    socket_.close();
  });
  return Status::OK();
}

void ZapHandler::Stop() {
  if (!thread_.joinable()) return;
  try {
    zmq::socket_t tx(*context_, zmq::socket_type::pair);
    tx.connect(stop_endpoint_);
    tx.send(zmq::str_buffer("stop"), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    // The context is shutting down: the thread's poll ends with ETERM.
    spdlog::debug("ZAP handler stop: {}", e.what());
  }
  thread_.join();
}

ZapReply JudgeZapRequest(const std::vector<std::string_view>& frames,
                         const Authenticate& authenticate) {
  ZapReply reply;
  if (frames.size() >= 2) reply.request_id = std::string(frames[1]);
  if (frames.size() < 6) {
    reply.status_code = "500";
    reply.status_text = "malformed ZAP request";
    return reply;
  }
  const std::string_view mechanism = frames[5];
  const std::string_view address = frames[3];
  std::optional<std::string> user;
  if (mechanism == "CURVE" && frames.size() >= 7 && frames[6].size() == 32) {
    user = authenticate(frames[6], address);
  }
  if (!user) {
    // The mechanism is libzmq's own name; the address an IP address.
    spdlog::warn("refused {} connection from {}: CURVE key not registered",
                 Escaped(mechanism, 16), Escaped(address, 64));
    reply.status_code = "400";
    reply.status_text = "key not registered";
    return reply;
  }
  reply.status_code = "200";
  reply.status_text = "OK";
  reply.user_id = std::move(*user);
  return reply;
}

// Answers one ZAP request. A REP socket must answer every request, even a
// malformed one, or it stops receiving.
void ZapHandler::AnswerOne() {
  std::vector<zmq::message_t> parts;
  for (;;) {
    zmq::message_t part;
    if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;
    const bool more = part.more();
    parts.push_back(std::move(part));
    if (!more) break;
  }
  if (parts.empty()) return;
  std::vector<std::string_view> frames;
  frames.reserve(parts.size());
  for (const auto& p : parts) frames.push_back(p.to_string_view());
  const ZapReply reply = JudgeZapRequest(frames, authenticate_);
  socket_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(reply.request_id), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(reply.status_code), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(reply.status_text), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(reply.user_id), zmq::send_flags::sndmore);
  socket_.send(zmq::message_t(), zmq::send_flags::none);
}

}  // namespace relais::broker::transport
