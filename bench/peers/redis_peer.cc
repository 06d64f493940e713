// Redis Streams: XADD to one stream, read by a consumer group
// (XREADGROUP ... COUNT window BLOCK) and acknowledged with XACK. The
// strongest per-message durability Redis offers is the append-only file
// with `appendfsync always`: the AOF is written and fsynced in the event
// loop's beforeSleep, before the replies of the commands it holds are sent
// (one fsync for every command read in that loop iteration).

#include <hiredis/hiredis.h>
#include <poll.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "peers.h"

namespace relais::peers {
namespace {

using std::chrono::nanoseconds;

constexpr char kGroup[] = "bench";

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
};

// "redis://host:port" or "host:port".
Status ParseUrl(const std::string& url, Endpoint* out) {
  std::string rest = url;
  if (rest.rfind("redis://", 0) == 0) rest = rest.substr(8);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) {
    if (!rest.empty()) out->host = rest;
    return Status();
  }
  out->host = rest.substr(0, colon);
  try {
    out->port = std::stoi(rest.substr(colon + 1));
  } catch (const std::exception&) {
    return Status::Error("bad Redis URL " + url);
  }
  return Status();
}

Status Connect(const Endpoint& e, ContextPtr* out) {
  ContextPtr c(redisConnectWithTimeout(e.host.c_str(), e.port, {5, 0}));
  if (c == nullptr) return Status::Error("cannot allocate a Redis context");
  if (c->err != 0) {
    return Status::Error("cannot connect to Redis at " + e.host + ":" +
                         std::to_string(e.port) + ": " + c->errstr);
  }
  // A server that stops answering fails the call instead of hanging.
  redisSetTimeout(c.get(), {30, 0});
  *out = std::move(c);
  return Status();
}

Status Command(redisContext* c, const std::vector<std::string>& args,
               ReplyPtr* out) {
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(
      c, static_cast<int>(argv.size()), argv.data(), argvlen.data())));
  if (reply == nullptr)
    return Status::Error(std::string("Redis: ") + c->errstr);
  if (reply->type == REDIS_REPLY_ERROR) {
    return Status::Error("Redis " + args[0] + ": " +
                         std::string(reply->str, reply->len));
  }
  *out = std::move(reply);
  return Status();
}

std::string Str(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string(r->str, r->len) : "";
}

// Appends a command to the context's output buffer (sent by Flush).
void Append(redisContext* c, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (std::string_view a : args) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(),
                         argvlen.data());
}

Status Flush(redisContext* c) {
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(c, &done) != REDIS_OK)
      return Status::Error(std::string("Redis write: ") + c->errstr);
  }
  return Status();
}

class RedisProducer : public Producer {
 public:
  RedisProducer(ContextPtr c, std::string key)
      : c_(std::move(c)), key_(std::move(key)) {}

  // Pipelined: the XADD is written at once, its reply read by Poll.
  Status Send(uint64_t index, std::string_view payload) override {
    Append(c_.get(), {"XADD", key_, "*", "p", payload});
    pending_.push_back(index);
    return Flush(c_.get());
  }

  Status Poll(nanoseconds timeout, std::vector<Ack>* acks) override {
    // Replies read already come first, without a system call.
    if (Status st = Drain(acks); !st.ok() || !acks->empty()) return st;
    pollfd p{c_->fd, POLLIN, 0};
    timespec ts{static_cast<time_t>(timeout.count() / 1000000000),
                static_cast<long>(timeout.count() % 1000000000)};
    const int n = ::ppoll(&p, 1, &ts, nullptr);
    if (n < 0 && errno != EINTR)
      return Status::Error(std::string("poll: ") + std::strerror(errno));
    if (n <= 0) return Status();
    if (redisBufferRead(c_.get()) != REDIS_OK)
      return Status::Error(std::string("Redis read: ") + c_->errstr);
    return Drain(acks);
  }

 private:
  // The replies complete in the context's read buffer, in send order.
  Status Drain(std::vector<Ack>* acks) {
    for (;;) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(c_.get(), &raw) != REDIS_OK)
        return Status::Error(std::string("Redis read: ") + c_->errstr);
      if (raw == nullptr) return Status();
      ReplyPtr reply(static_cast<redisReply*>(raw));
      if (pending_.empty()) return Status::Error("Redis: unexpected reply");
      // An XADD's reply is the entry's id; an error reply refuses it.
      acks->push_back(
          Ack{pending_.front(), reply->type == REDIS_REPLY_STRING, NowNs()});
      pending_.pop_front();
    }
  }

  ContextPtr c_;
  std::string key_;
  std::deque<uint64_t> pending_;  // indices awaiting their XADD reply
};

class RedisConsumer : public Consumer {
 public:
  RedisConsumer(ContextPtr c, std::string key, uint32_t window)
      : c_(std::move(c)),
        key_(std::move(key)),
        count_(std::to_string(window)) {}

  Status Poll(nanoseconds timeout, const DeliveryFn& got) override {
    // The previous batch's XACK (one command naming each id) goes in the
    // same write as the next XREADGROUP: a batch of acknowledgements per
    // network write, and never more than `window` entries pending, since
    // the next batch is asked for only once the last one is acknowledged.
    const bool acking = AppendAck();
    const std::string block_ms = std::to_string(std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(timeout)
               .count()));
    Append(c_.get(), {"XREADGROUP", "GROUP", kGroup, "c1", "COUNT", count_,
                      "BLOCK", block_ms, "STREAMS", key_, ">"});
    if (acking) {
      if (Status st = ReadReply(nullptr); !st.ok()) return st;
    }
    ReplyPtr reply;
    if (Status st = ReadReply(&reply); !st.ok()) return st;
    if (reply->type != REDIS_REPLY_ARRAY) return Status();  // BLOCK timed out
    for (size_t s = 0; s < reply->elements; ++s) {
      const redisReply* stream = reply->element[s];
      if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2) continue;
      const redisReply* entries = stream->element[1];
      for (size_t e = 0; e < entries->elements; ++e) {
        const redisReply* entry = entries->element[e];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
        const redisReply* fields = entry->element[1];
        if (fields->type == REDIS_REPLY_ARRAY && fields->elements >= 2) {
          const redisReply* value = fields->element[1];
          got(std::string_view(value->str, value->len));
        }
        to_ack_.push_back(Str(entry->element[0]));
      }
    }
    return Status();
  }

  Status Close() override {
    if (!AppendAck()) return Status();
    return ReadReply(nullptr);
  }

 private:
  // False if there is nothing to acknowledge.
  bool AppendAck() {
    if (to_ack_.empty()) return false;
    std::vector<std::string_view> args = {"XACK", key_, kGroup};
    for (const std::string& id : to_ack_) args.emplace_back(id);
    Append(c_.get(), args);
    to_ack_.clear();
    return true;
  }

  // Sends what is buffered and reads one reply (kept if `out`).
  Status ReadReply(ReplyPtr* out) {
    void* raw = nullptr;
    if (redisGetReply(c_.get(), &raw) != REDIS_OK || raw == nullptr)
      return Status::Error(std::string("Redis: ") + c_->errstr);
    ReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR)
      return Status::Error("Redis: " + Str(reply.get()));
    if (out != nullptr) *out = std::move(reply);
    return Status();
  }

  ContextPtr c_;
  std::string key_;
  std::string count_;
  std::vector<std::string> to_ack_;  // ids delivered, not yet acknowledged
};

class RedisPeer : public Peer {
 public:
  explicit RedisPeer(const PeerOptions& o) : o_(o), key_(RunName()) {}

  Status Init() {
    if (Status st = ParseUrl(o_.url, &endpoint_); !st.ok()) return st;
    if (Status st = Connect(endpoint_, &c_); !st.ok()) return st;
    ReplyPtr info;
    if (Status st = Command(c_.get(), {"INFO", "server"}, &info); !st.ok())
      return st;
    version_ = Field(Str(info.get()), "redis_version");
    std::string appendonly, appendfsync;
    if (Status st = Config("appendonly", &appendonly); !st.ok()) return st;
    if (Status st = Config("appendfsync", &appendfsync); !st.ok()) return st;
    durability_ = "appendonly " + appendonly + ", appendfsync " + appendfsync;
    durability_ += appendonly == "yes" && appendfsync == "always"
                       ? " (fsync before reply)"
                       : " (NOT fsynced before reply)";
    // The group exists before the first XADD, so it sees every entry.
    ReplyPtr created;
    return Command(c_.get(),
                   {"XGROUP", "CREATE", key_, kGroup, "0", "MKSTREAM"},
                   &created);
  }

  std::string System() const override { return "redis-streams"; }
  std::string Version() const override { return version_; }
  std::string Durability() const override { return durability_; }

  Status NewProducer(std::unique_ptr<Producer>* out) override {
    ContextPtr c;
    if (Status st = Connect(endpoint_, &c); !st.ok()) return st;
    *out = std::make_unique<RedisProducer>(std::move(c), key_);
    return Status();
  }

  Status NewConsumer(std::unique_ptr<Consumer>* out) override {
    ContextPtr c;
    if (Status st = Connect(endpoint_, &c); !st.ok()) return st;
    *out = std::make_unique<RedisConsumer>(std::move(c), key_, o_.window);
    return Status();
  }

  Status Teardown() override {
    ReplyPtr reply;
    return Command(c_.get(), {"DEL", key_}, &reply);
  }

 private:
  // `name:value` line of an INFO text.
  static std::string Field(const std::string& info, const std::string& name) {
    const size_t at = info.find(name + ":");
    if (at == std::string::npos) return "unknown";
    const size_t from = at + name.size() + 1;
    return info.substr(from, info.find_first_of("\r\n", from) - from);
  }

  Status Config(const std::string& name, std::string* value) {
    ReplyPtr reply;
    if (Status st = Command(c_.get(), {"CONFIG", "GET", name}, &reply);
        !st.ok())
      return st;
    *value = reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2
                 ? Str(reply->element[1])
                 : "unknown";
    return Status();
  }

  PeerOptions o_;
  std::string key_;
  Endpoint endpoint_;
  ContextPtr c_;
  std::string version_, durability_;
};

}  // namespace

Status ConnectRedis(const PeerOptions& options, std::unique_ptr<Peer>* out) {
  auto peer = std::make_unique<RedisPeer>(options);
  if (Status st = peer->Init(); !st.ok()) return st;
  *out = std::move(peer);
  return Status();
}

}  // namespace relais::peers
