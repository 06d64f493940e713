#include "broker/transport/router_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "core/bytes.h"
#include "core/crypto.h"

namespace relais::broker::transport {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

crypto::CurveKeyPair NewKeys() {
  auto k = crypto::GenerateCurveKeyPair();
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return k.ok() ? *k : crypto::CurveKeyPair{};
}

// The raw 32 bytes of a Z85 key.
std::string Raw(const std::string& z85) {
  auto raw = Z85Decode(z85);
  EXPECT_TRUE(raw.ok());
  return raw.ok() ? *raw : std::string();
}

// A CURVE DEALER of its own context, as a participant's client.
class Dealer {
 public:
  Dealer(const std::string& endpoint, const std::string& server_public,
         const crypto::CurveKeyPair& keys)
      : socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::curve_serverkey, server_public);
    socket_.set(zmq::sockopt::curve_publickey, keys.public_z85);
    socket_.set(zmq::sockopt::curve_secretkey, keys.secret_z85);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }
  void Send(std::string_view part, bool more = false) {
    socket_.send(zmq::buffer(part),
                 more ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  // One message part, if one comes within `timeout`.
  std::optional<std::string> Receive(milliseconds timeout) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
    zmq::message_t msg;
    if (!socket_.recv(msg, zmq::recv_flags::dontwait)) return std::nullopt;
    return msg.to_string();
  }

 private:
  zmq::context_t context_;
  zmq::socket_t socket_;
};

// A RouterServer on 127.0.0.1, port 0, that knows the caf's CURVE key
// only, and records every key its ZAP handler was asked about.
class RouterServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RouterOptions o;
    o.endpoint = "tcp://127.0.0.1:0";
    o.curve_secret_z85 = server_.secret_z85;
    auto s = RouterServer::Start(
        o,
        [this](std::string_view key,
               std::string_view) -> std::optional<std::string> {
          std::lock_guard<std::mutex> lock(mu_);
          asked_.insert(std::string(key));
          if (key == Raw(caf_.public_z85)) return std::string("caf");
          return std::nullopt;
        });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_socket_ = std::move(*s);
  }
  void TearDown() override { server_socket_.reset(); }

  // The next message the server receives within `timeout`.
  std::optional<Incoming> ReceiveWithin(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto in = server_socket_->TryReceive()) return in;
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      EXPECT_TRUE(server_socket_->Wait(std::min(left, milliseconds(100))).ok());
    }
  }
  bool Asked(const std::string& z85) {
    std::lock_guard<std::mutex> lock(mu_);
    return asked_.count(Raw(z85)) > 0;
  }

  crypto::CurveKeyPair server_ = NewKeys();
  crypto::CurveKeyPair caf_ = NewKeys();
  crypto::CurveKeyPair stranger_ = NewKeys();
  std::mutex mu_;
  std::set<std::string> asked_;
  std::unique_ptr<RouterServer> server_socket_;
};

// Port 0 binds a port of the system's choosing, and endpoint() names it.
TEST_F(RouterServerTest, PortZeroBindsARealPort) {
  const std::string& e = server_socket_->endpoint();
  const std::string prefix = "tcp://127.0.0.1:";
  ASSERT_EQ(e.rfind(prefix, 0), 0u) << e;
  const std::string port = e.substr(prefix.size());
  ASSERT_FALSE(port.empty());
  EXPECT_EQ(port.find_first_not_of("0123456789"), std::string::npos) << e;
  const int n = std::stoi(port);
  EXPECT_GT(n, 0);
  EXPECT_LT(n, 65536);
}

// Wake from another thread ends a Wait at once, long before its timeout;
// a Wake before the Wait makes the next one return at once too, and only
// that one.
TEST_F(RouterServerTest, WakeEndsAWait) {
  std::thread waker([this] {
    std::this_thread::sleep_for(milliseconds(100));
    server_socket_->Wake();
  });
  auto start = Clock::now();
  EXPECT_TRUE(server_socket_->Wait(milliseconds(20000)).ok());
  EXPECT_LT(Clock::now() - start, milliseconds(5000));
  waker.join();

  server_socket_->Wake();
  start = Clock::now();
  EXPECT_TRUE(server_socket_->Wait(milliseconds(20000)).ok());
  EXPECT_LT(Clock::now() - start, milliseconds(5000));
  // The wake-up was consumed: with nothing else to do, Wait waits.
  start = Clock::now();
  EXPECT_TRUE(server_socket_->Wait(milliseconds(300)).ok());
  EXPECT_GE(Clock::now() - start, milliseconds(250));
}

// A client whose CURVE key the callback knows gets its message through,
// with the participant the ZAP handler bound; an answer sent to its
// routing id reaches it.
TEST_F(RouterServerTest, AKnownClientsMessageArrivesWithItsParticipant) {
  Dealer client(server_socket_->endpoint(), server_.public_z85, caf_);
  client.Send("hello from caf");
  auto in = ReceiveWithin(milliseconds(10000));
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->participant, "caf");
  EXPECT_EQ(in->payload, "hello from caf");
  EXPECT_FALSE(in->routing_id.empty());
  EXPECT_TRUE(Asked(caf_.public_z85));

  ASSERT_TRUE(server_socket_->Send(in->routing_id, "welcome").ok());
  EXPECT_EQ(client.Receive(milliseconds(10000)), "welcome");
}

// A client whose key the callback does not know is asked about and then
// never gets a message through, while a known client's message, sent
// after it, does.
TEST_F(RouterServerTest, AnUnknownKeysMessageNeverArrives) {
  Dealer stranger(server_socket_->endpoint(), server_.public_z85, stranger_);
  stranger.Send("let me in");
  const auto deadline = Clock::now() + milliseconds(10000);
  while (!Asked(stranger_.public_z85) && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(Asked(stranger_.public_z85));
  Dealer client(server_socket_->endpoint(), server_.public_z85, caf_);
  client.Send("from caf");
  auto in = ReceiveWithin(milliseconds(10000));
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->participant, "caf");
  EXPECT_EQ(in->payload, "from caf");
  // Nothing else, for a while.
  EXPECT_FALSE(ReceiveWithin(milliseconds(500)).has_value());
}

// A message of two parts arrives as one with an empty payload (the broker
// answers it MalformedFrame), and the next one-part message is whole.
TEST_F(RouterServerTest, ATwoPartMessageArrivesWithAnEmptyPayload) {
  Dealer client(server_socket_->endpoint(), server_.public_z85, caf_);
  client.Send("first part", /*more=*/true);
  client.Send("second part");
  client.Send("one part");
  auto in = ReceiveWithin(milliseconds(10000));
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->participant, "caf");
  EXPECT_TRUE(in->payload.empty());
  auto next = ReceiveWithin(milliseconds(10000));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->payload, "one part");
  EXPECT_EQ(next->routing_id, in->routing_id);
}

// Sending to a routing id no peer has is Unavailable (ROUTER_MANDATORY),
// not silently dropped.
TEST_F(RouterServerTest, SendingToAnUnknownPeerIsUnavailable) {
  const Status st = server_socket_->Send("no such peer", "hello?");
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
}

}  // namespace
}  // namespace relais::broker::transport
