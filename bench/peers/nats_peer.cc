// NATS JetStream: a stream with file storage, published to with
// js_PublishAsync (each message's PubAck handled as it comes, at most
// `window` awaiting one) and read by a push consumer with explicit acks and
// MaxAckPending = window. A PubAck means the stream has stored the message
// in its file store; nats-server 2.9 does not fsync it then (its blocks
// are synced in the background; `sync_interval`, which can ask for an
// fsync per message, came in 2.10 and 2.9 refuses the key), so this is
// weaker than the other systems' setting: the caveat goes in `durability`.

#include <nats/nats.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "peers.h"

namespace relais::peers {
namespace {

using std::chrono::nanoseconds;

Status NatsError(const std::string& what, natsStatus s,
                 jsErrCode code = static_cast<jsErrCode>(0)) {
  std::string text = "NATS " + what + ": " + natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0' && text.find(last) == std::string::npos)
    text += std::string(" (") + last + ")";
  if (code != 0) text += " (JetStream error " + std::to_string(code) + ")";
  return Status::Error(text);
}

// The version in the INFO line the server greets every client with (the C
// client does not expose it).
std::string ServerVersion(const std::string& url) {
  std::string rest = url;
  if (const size_t scheme = rest.find("://"); scheme != std::string::npos)
    rest = rest.substr(scheme + 3);
  if (const size_t at = rest.rfind('@'); at != std::string::npos)
    rest = rest.substr(at + 1);
  rest = rest.substr(0, rest.find_first_of("/,"));
  const size_t colon = rest.rfind(':');
  const std::string host =
      colon == std::string::npos ? rest : rest.substr(0, colon);
  const std::string port =
      colon == std::string::npos ? "4222" : rest.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0)
    return "unknown";
  std::string line;
  const int fd =
      ::socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd >= 0) {
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (::connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
      char buf[4096];
      ssize_t n = 0;
      while (line.find("\r\n") == std::string::npos &&
             (n = ::read(fd, buf, sizeof buf)) > 0) {
        line.append(buf, static_cast<size_t>(n));
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (line.rfind("INFO ", 0) != 0) return "unknown";
  const auto info = nlohmann::json::parse(line.substr(5, line.find("\r\n") - 5),
                                          nullptr, /*allow_exceptions=*/false);
  return info.is_object() && info.contains("version") &&
                 info["version"].is_string()
             ? info["version"].get<std::string>()
             : "unknown";
}

// A connection that fails instead of reconnecting: a broker that went away
// is an error of the run.
Status Connect(const std::string& url, natsConnection** out) {
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 5000);
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
  if (s == NATS_OK) s = natsConnection_Connect(out, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) return NatsError("cannot connect to " + url, s);
  return Status();
}

// What the PubAck handler (a library thread) hands to the producer thread.
struct AckQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Ack> acks;
};

class NatsProducer : public Producer {
 public:
  NatsProducer(std::string subject, uint32_t window, int wait_ms)
      : subject_(std::move(subject)),
        window_(window),
        wait_ms_(wait_ms),
        queue_(std::make_unique<AckQueue>()) {}

  ~NatsProducer() override {
    // The handler writes to queue_: every PubAck is handled before it
    // goes. If some never came (the run timed out), queue_ is left alive
    // for a late handler, the process ends soon after.
    bool drained = js_ == nullptr;
    if (js_ != nullptr) {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MaxWait = 2000;
      drained = js_PublishAsyncComplete(js_, &po) == NATS_OK;
    }
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (drained) {
      std::lock_guard<std::mutex> lock(queue_->mu);  // the last handler's
    } else {
      static_cast<void>(queue_.release());
    }
  }

  Status Init(const std::string& url) {
    if (Status st = Connect(url, &nc_); !st.ok()) return st;
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = wait_ms_;
    o.PublishAsync.MaxPending = window_;
    o.PublishAsync.AckHandler = &NatsProducer::OnPubAck;
    o.PublishAsync.AckHandlerClosure = queue_.get();
    if (natsStatus s = natsConnection_JetStream(&js_, nc_, &o); s != NATS_OK)
      return NatsError("JetStream context", s);
    return Status();
  }

  Status Send(uint64_t, std::string_view payload) override {
    // Buffered; the library's flusher writes what piled up in one go.
    const natsStatus s =
        js_PublishAsync(js_, subject_.c_str(), payload.data(),
                        static_cast<int>(payload.size()), nullptr);
    if (s != NATS_OK) return NatsError("publish", s);
    return Status();
  }

  Status Poll(nanoseconds timeout, std::vector<Ack>* acks) override {
    std::unique_lock<std::mutex> lock(queue_->mu);
    // No wait asked (before each send): no futex call either.
    if (timeout.count() > 0) {
      queue_->cv.wait_for(lock, timeout, [&] { return !queue_->acks.empty(); });
    }
    acks->insert(acks->end(), queue_->acks.begin(), queue_->acks.end());
    queue_->acks.clear();
    return Status();
  }

 private:
  // A library thread, for each published message: its PubAck, or the
  // error that stands for it.
  static void OnPubAck(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                       void* closure) {
    auto* queue = static_cast<AckQueue*>(closure);
    const int64_t now = NowNs();
    uint64_t index = 0;
    int64_t scheduled = 0;
    if (ParsePayload(
            std::string_view(natsMsg_GetData(msg),
                             static_cast<size_t>(natsMsg_GetDataLength(msg))),
            &index, &scheduled)) {
      // Notified under the lock: the queue is not touched after unlocking.
      std::lock_guard<std::mutex> lock(queue->mu);
      queue->acks.push_back(Ack{index, pa != nullptr && pae == nullptr, now});
      queue->cv.notify_one();
    }
    natsMsg_Destroy(msg);
  }

  std::string subject_;
  uint32_t window_;
  int wait_ms_;
  std::unique_ptr<AckQueue> queue_;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

class NatsConsumer : public Consumer {
 public:
  ~NatsConsumer() override {
    if (sub_ != nullptr) natsSubscription_Destroy(sub_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
    if (js_ != nullptr) jsCtx_Destroy(js_);
  }

  Status Init(const std::string& url, const std::string& stream,
              const std::string& subject, uint32_t window) {
    if (Status st = Connect(url, &nc_); !st.ok()) return st;
    if (natsStatus s = natsConnection_JetStream(&js_, nc_, nullptr);
        s != NATS_OK)
      return NatsError("JetStream context", s);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.ManualAck = true;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.DeliverPolicy = js_DeliverAll;
    // At most `window` deliveries awaiting their ack.
    so.Config.MaxAckPending = window;
    jsErrCode code = static_cast<jsErrCode>(0);
    // A synchronous push subscription: the library queues what the server
    // pushes and this consumer's thread takes it, no callback thread.
    if (natsStatus s =
            js_SubscribeSync(&sub_, js_, subject.c_str(), nullptr, &so, &code);
        s != NATS_OK)
      return NatsError("subscribe", s, code);
    return Status();
  }

  Status Poll(nanoseconds timeout, const DeliveryFn& got) override {
    int64_t wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    for (;;) {
      natsMsg* msg = nullptr;
      const natsStatus s = natsSubscription_NextMsg(&msg, sub_, wait_ms);
      if (s == NATS_TIMEOUT) return Status();
      if (s != NATS_OK) return NatsError("next message", s);
      wait_ms = 0;  // then only what is already there
      got(std::string_view(natsMsg_GetData(msg),
                           static_cast<size_t>(natsMsg_GetDataLength(msg))));
      // +ACK to the reply subject: buffered, so the acks of a burst leave
      // in one write of the library's flusher.
      const natsStatus a = natsMsg_Ack(msg, nullptr);
      natsMsg_Destroy(msg);
      if (a != NATS_OK) return NatsError("ack", a);
    }
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* sub_ = nullptr;
};

class NatsPeer : public Peer {
 public:
  explicit NatsPeer(const PeerOptions& o)
      : o_(o),
        wait_ms_(o.timeout_s * 1000),
        stream_(RunName()),
        subject_(stream_) {}

  ~NatsPeer() override {
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
    if (js_ != nullptr) jsCtx_Destroy(js_);
  }

  Status Init() {
    version_ = ServerVersion(o_.url);
    if (Status st = Connect(o_.url, &nc_); !st.ok()) return st;
    if (natsStatus s = natsConnection_JetStream(&js_, nc_, nullptr);
        s != NATS_OK)
      return NatsError("JetStream context", s);
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {subject_.c_str()};
    cfg.Name = stream_.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = 1;
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_AddStream(&info, js_, &cfg, nullptr, &code);
    if (info != nullptr) jsStreamInfo_Destroy(info);
    if (s != NATS_OK) return NatsError("add stream", s, code);
    return Status();
  }

  std::string System() const override { return "nats-jetstream"; }
  std::string Version() const override { return version_; }
  std::string Durability() const override {
    // 2.10 has `sync_interval: always`, a peer of the others' settings;
    // this program does not set it, the caveat stands for every version.
    return "JetStream file storage; no per-message fsync (nats-server " +
           version_ +
           (version_.rfind("2.9.", 0) == 0
                ? " has no sync_interval, which came in 2.10; 2.9 refuses "
                  "the key)"
                : ": sync_interval not set)");
  }

  Status NewProducer(std::unique_ptr<Producer>* out) override {
    auto producer =
        std::make_unique<NatsProducer>(subject_, o_.window, wait_ms_);
    if (Status st = producer->Init(o_.url); !st.ok()) return st;
    *out = std::move(producer);
    return Status();
  }

  Status NewConsumer(std::unique_ptr<Consumer>* out) override {
    auto consumer = std::make_unique<NatsConsumer>();
    if (Status st = consumer->Init(o_.url, stream_, subject_, o_.window);
        !st.ok())
      return st;
    *out = std::move(consumer);
    return Status();
  }

  Status Teardown() override {
    jsErrCode code = static_cast<jsErrCode>(0);
    if (natsStatus s = js_DeleteStream(js_, stream_.c_str(), nullptr, &code);
        s != NATS_OK)
      return NatsError("delete stream", s, code);
    return Status();
  }

 private:
  PeerOptions o_;
  int wait_ms_;  // PubAcks may take long under load: the run's timeout
  std::string stream_, subject_;
  std::string version_;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

}  // namespace

Status ConnectNats(const PeerOptions& options, std::unique_ptr<Peer>* out) {
  auto peer = std::make_unique<NatsPeer>(options);
  if (Status st = peer->Init(); !st.ok()) return st;
  *out = std::move(peer);
  return Status();
}

}  // namespace relais::peers
