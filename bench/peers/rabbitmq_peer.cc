// RabbitMQ: a durable quorum queue (`x-queue-type: quorum`), persistent
// messages (delivery_mode 2) and publisher confirms: the strongest
// per-message durability RabbitMQ offers. A quorum queue confirms a
// message once a majority of its members (here the one node) have written
// it to their Raft log, which Ra's write-ahead log fsyncs (fdatasync) before
// it reports the write; the WAL batches every write that arrived meanwhile
// into one sync. The consumer uses basic.qos prefetch = window and a manual
// basic.ack per message.

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <map>
#include <vector>

#include "peers.h"

namespace relais::peers {
namespace {

using std::chrono::nanoseconds;

constexpr amqp_channel_t kChannel = 1;

timeval ToTimeval(nanoseconds d) {
  const int64_t us = std::max<int64_t>(0, d.count() / 1000);
  return timeval{static_cast<time_t>(us / 1000000),
                 static_cast<suseconds_t>(us % 1000000)};
}

std::string BytesToString(amqp_bytes_t b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}

std::string Describe(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "";
    case AMQP_RESPONSE_NONE:
      return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return "connection closed by the server: " +
               BytesToString(m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "channel closed by the server: " + BytesToString(m->reply_text);
      }
      return "server exception";
  }
  return "unknown reply";
}

Status Check(const amqp_rpc_reply_t& r, const std::string& what) {
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return Status();
  return Status::Error("RabbitMQ " + what + ": " + Describe(r));
}

// channel.close or connection.close received outside an RPC.
Status CloseFrameError(const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD) return Status();
  amqp_rpc_reply_t r{};
  r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
  r.reply = frame.payload.method;
  if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD ||
      r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    return Status::Error("RabbitMQ: " + Describe(r));
  }
  return Status();
}

// One AMQP connection with channel 1 open.
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (state_ == nullptr) return;
    if (open_) {
      amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
      amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(state_);
  }

  Status Open(const std::string& url) {
    std::vector<char> buf(url.begin(), url.end());
    buf.push_back('\0');
    amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK)
      return Status::Error("bad AMQP URL " + url);
    const std::string where =
        std::string(info.host) + ":" + std::to_string(info.port);
    // "amqp://host:port/" names the vhost "" (the path after the slash);
    // the broker's default one is "/".
    char default_vhost[] = "/";
    if (info.vhost == nullptr || *info.vhost == '\0')
      info.vhost = default_vhost;
    state_ = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(state_);
    if (socket == nullptr) return Status::Error("cannot make an AMQP socket");
    timeval connect_timeout{5, 0};
    if (const int rc = amqp_socket_open_noblock(socket, info.host, info.port,
                                                &connect_timeout);
        rc != AMQP_STATUS_OK) {
      return Status::Error("cannot connect to RabbitMQ at " + where + ": " +
                           amqp_error_string2(rc));
    }
    // RPCs (declare, qos, close) of a server that stopped answering fail
    // instead of hanging.
    timeval rpc_timeout{30, 0};
    amqp_set_rpc_timeout(state_, &rpc_timeout);
    if (Status st =
            Check(amqp_login(state_, info.vhost, 0, 131072, 0,
                             AMQP_SASL_METHOD_PLAIN, info.user, info.password),
                  "login at " + where);
        !st.ok())
      return st;
    amqp_channel_open(state_, kChannel);
    if (Status st = Check(amqp_get_rpc_reply(state_), "channel.open"); !st.ok())
      return st;
    open_ = true;
    return Status();
  }

  amqp_connection_state_t get() const { return state_; }

 private:
  amqp_connection_state_t state_ = nullptr;
  bool open_ = false;
};

class RabbitProducer : public Producer {
 public:
  RabbitProducer(std::unique_ptr<Connection> c, std::string queue)
      : c_(std::move(c)), queue_(std::move(queue)) {}

  Status Init() {
    amqp_confirm_select(c_->get(), kChannel);
    return Check(amqp_get_rpc_reply(c_->get()), "confirm.select");
  }

  Status Send(uint64_t index, std::string_view payload) override {
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 2;  // persistent
    const amqp_bytes_t body{payload.size(), const_cast<char*>(payload.data())};
    // The default exchange routes by queue name.
    const int rc = amqp_basic_publish(c_->get(), kChannel, amqp_empty_bytes,
                                      amqp_cstring_bytes(queue_.c_str()), 0, 0,
                                      &props, body);
    if (rc != AMQP_STATUS_OK)
      return Status::Error(std::string("RabbitMQ publish: ") +
                           amqp_error_string2(rc));
    pending_.emplace(next_tag_++, index);
    return Status();
  }

  Status Poll(nanoseconds timeout, std::vector<Ack>* acks) override {
    amqp_maybe_release_buffers(c_->get());
    timeval wait = ToTimeval(timeout);
    // The first frame within `timeout`, then whatever is already there.
    for (bool first = true;; first = false) {
      timeval none{0, 0};
      amqp_frame_t frame;
      const int rc = amqp_simple_wait_frame_noblock(c_->get(), &frame,
                                                    first ? &wait : &none);
      if (rc == AMQP_STATUS_TIMEOUT) return Status();
      if (rc != AMQP_STATUS_OK)
        return Status::Error(std::string("RabbitMQ: ") +
                             amqp_error_string2(rc));
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      const amqp_method_t& m = frame.payload.method;
      if (m.id == AMQP_BASIC_ACK_METHOD) {
        const auto* a = static_cast<amqp_basic_ack_t*>(m.decoded);
        Confirm(a->delivery_tag, a->multiple != 0, true, acks);
      } else if (m.id == AMQP_BASIC_NACK_METHOD) {
        const auto* n = static_cast<amqp_basic_nack_t*>(m.decoded);
        Confirm(n->delivery_tag, n->multiple != 0, false, acks);
      } else if (Status st = CloseFrameError(frame); !st.ok()) {
        return st;
      }
    }
  }

 private:
  // basic.ack / basic.nack of `tag`, or of every tag up to it (multiple).
  void Confirm(uint64_t tag, bool multiple, bool ok, std::vector<Ack>* acks) {
    const int64_t now = NowNs();
    auto end = pending_.upper_bound(tag);
    auto begin = multiple ? pending_.begin() : pending_.find(tag);
    if (begin == pending_.end()) return;
    if (!multiple) end = std::next(begin);
    for (auto it = begin; it != end; ++it)
      acks->push_back(Ack{it->second, ok, now});
    pending_.erase(begin, end);
  }

  std::unique_ptr<Connection> c_;
  std::string queue_;
  uint64_t next_tag_ = 1;  // confirm.select numbers publishes from 1
  std::map<uint64_t, uint64_t> pending_;  // delivery tag -> message index
};

class RabbitConsumer : public Consumer {
 public:
  explicit RabbitConsumer(std::unique_ptr<Connection> c) : c_(std::move(c)) {}

  Status Init(const std::string& queue, uint32_t window) {
    // At most `window` deliveries unacknowledged.
    amqp_basic_qos(c_->get(), kChannel, 0, static_cast<uint16_t>(window), 0);
    if (Status st = Check(amqp_get_rpc_reply(c_->get()), "basic.qos"); !st.ok())
      return st;
    amqp_basic_consume(c_->get(), kChannel, amqp_cstring_bytes(queue.c_str()),
                       amqp_empty_bytes, 0, /*no_ack=*/0, 0, amqp_empty_table);
    return Check(amqp_get_rpc_reply(c_->get()), "basic.consume");
  }

  Status Poll(nanoseconds timeout, const DeliveryFn& got) override {
    amqp_maybe_release_buffers(c_->get());
    timeval wait = ToTimeval(timeout);
    for (bool first = true;; first = false) {
      timeval none{0, 0};
      amqp_envelope_t envelope;
      const amqp_rpc_reply_t r =
          amqp_consume_message(c_->get(), &envelope, first ? &wait : &none, 0);
      if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        got(std::string_view(
            static_cast<const char*>(envelope.message.body.bytes),
            envelope.message.body.len));
        // One basic.ack per delivery (librabbitmq writes each at once).
        const int rc =
            amqp_basic_ack(c_->get(), kChannel, envelope.delivery_tag, 0);
        amqp_destroy_envelope(&envelope);
        if (rc != AMQP_STATUS_OK)
          return Status::Error(std::string("RabbitMQ basic.ack: ") +
                               amqp_error_string2(rc));
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          r.library_error == AMQP_STATUS_TIMEOUT) {
        return Status();
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // A frame other than a delivery: a close is an error, the rest
        // is skipped.
        amqp_frame_t frame;
        if (const int rc = amqp_simple_wait_frame(c_->get(), &frame);
            rc != AMQP_STATUS_OK)
          return Status::Error(std::string("RabbitMQ: ") +
                               amqp_error_string2(rc));
        if (Status st = CloseFrameError(frame); !st.ok()) return st;
        continue;
      }
      return Check(r, "consume");
    }
  }

 private:
  std::unique_ptr<Connection> c_;
};

class RabbitPeer : public Peer {
 public:
  explicit RabbitPeer(const PeerOptions& o) : o_(o), queue_(RunName()) {}

  Status Init() {
    if (Status st = c_.Open(o_.url); !st.ok()) return st;
    version_ = "unknown";
    const amqp_table_t* props = amqp_get_server_properties(c_.get());
    for (int i = 0; props != nullptr && i < props->num_entries; ++i) {
      const amqp_table_entry_t& e = props->entries[i];
      if (BytesToString(e.key) == "version" &&
          (e.value.kind == AMQP_FIELD_KIND_UTF8 ||
           e.value.kind == AMQP_FIELD_KIND_BYTES)) {
        version_ = BytesToString(e.value.value.bytes);
      }
    }
    amqp_table_entry_t type;
    type.key = amqp_cstring_bytes("x-queue-type");
    type.value.kind = AMQP_FIELD_KIND_UTF8;
    type.value.value.bytes = amqp_cstring_bytes("quorum");
    const amqp_table_t args{1, &type};
    // Quorum queues are durable, neither exclusive nor auto-deleted.
    amqp_queue_declare(c_.get(), kChannel, amqp_cstring_bytes(queue_.c_str()),
                       0, /*durable=*/1, 0, 0, args);
    return Check(amqp_get_rpc_reply(c_.get()), "queue.declare");
  }

  std::string System() const override { return "rabbitmq"; }
  std::string Version() const override { return version_; }
  std::string Durability() const override {
    return "quorum queue, persistent, publisher confirms";
  }

  Status NewProducer(std::unique_ptr<Producer>* out) override {
    auto c = std::make_unique<Connection>();
    if (Status st = c->Open(o_.url); !st.ok()) return st;
    auto producer = std::make_unique<RabbitProducer>(std::move(c), queue_);
    if (Status st = producer->Init(); !st.ok()) return st;
    *out = std::move(producer);
    return Status();
  }

  Status NewConsumer(std::unique_ptr<Consumer>* out) override {
    auto c = std::make_unique<Connection>();
    if (Status st = c->Open(o_.url); !st.ok()) return st;
    auto consumer = std::make_unique<RabbitConsumer>(std::move(c));
    if (Status st = consumer->Init(queue_, o_.window); !st.ok()) return st;
    *out = std::move(consumer);
    return Status();
  }

  Status Teardown() override {
    amqp_queue_delete(c_.get(), kChannel, amqp_cstring_bytes(queue_.c_str()), 0,
                      0);
    return Check(amqp_get_rpc_reply(c_.get()), "queue.delete");
  }

 private:
  PeerOptions o_;
  std::string queue_;
  Connection c_;
  std::string version_;
};

}  // namespace

Status ConnectRabbitMq(const PeerOptions& options, std::unique_ptr<Peer>* out) {
  if (options.window > 65535)
    return Status::Error("RabbitMQ's prefetch count is at most 65535");
  auto peer = std::make_unique<RabbitPeer>(options);
  if (Status st = peer->Init(); !st.ok()) return st;
  *out = std::move(peer);
  return Status();
}

}  // namespace relais::peers
