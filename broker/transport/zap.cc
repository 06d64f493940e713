#include "broker/transport/zap.h"

#include <spdlog/spdlog.h>

#include <vector>

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
      if (items[0].revents & ZMQ_POLLIN) Run();
    }
    socket_.close();
  });
  return Status::OK();
}

void ZapHandler::Stop() {
  if (!thread_.joinable()) return;
  zmq::socket_t tx(*context_, zmq::socket_type::pair);
  tx.connect(stop_endpoint_);
  tx.send(zmq::str_buffer("stop"), zmq::send_flags::none);
  thread_.join();
}

// Answers one ZAP request.
void ZapHandler::Run() {
  std::vector<zmq::message_t> req;
  for (;;) {
    zmq::message_t part;
    if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;
    const bool more = part.more();
    req.push_back(std::move(part));
    if (!more) break;
  }
  if (req.empty()) return;
  // A REP socket must answer every request, even a malformed one (RFC 27
  // status 500), or it stops receiving.
  std::string_view code = "500";
  std::string_view text = "malformed ZAP request";
  std::optional<std::string> user;
  if (req.size() >= 6) {
    const std::string_view mechanism = req[5].to_string_view();
    const std::string_view address = req[3].to_string_view();
    if (mechanism == "CURVE" && req.size() >= 7 && req[6].size() == 32) {
      user = authenticate_(req[6].to_string_view(), address);
    }
    if (!user) {
      spdlog::warn("refused {} connection from {}: CURVE key not registered",
                   std::string(mechanism), std::string(address));
    }
    code = user ? "200" : "400";
    text = user ? "OK" : "key not registered";
  }
  const std::string request_id =
      req.size() >= 2 ? req[1].to_string() : std::string();
  socket_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(code), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(text), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(user ? *user : std::string()),
               zmq::send_flags::sndmore);
  socket_.send(zmq::message_t(), zmq::send_flags::none);
}

}  // namespace relais::broker::transport
