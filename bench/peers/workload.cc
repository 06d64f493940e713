#include "workload.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

namespace relais::peers {

int64_t NowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {

void PutBigEndian64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBigEndian64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

}  // namespace

void FillPayload(uint64_t index, int64_t scheduled_ns, std::string* payload) {
  PutBigEndian64(index, payload->data());
  PutBigEndian64(static_cast<uint64_t>(scheduled_ns), payload->data() + 8);
}

bool ParsePayload(std::string_view payload, uint64_t* index,
                  int64_t* scheduled_ns) {
  if (payload.size() < kPayloadHeader) return false;
  *index = GetBigEndian64(payload.data());
  *scheduled_ns = static_cast<int64_t>(GetBigEndian64(payload.data() + 8));
  return true;
}

namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// The same percentile as relais-bench's (bench/load/load_run.cc), so that
// both sides round alike.
double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(
      v.size() - 1, static_cast<size_t>(std::llround(p * (v.size() - 1))));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// What the producer and consumer threads share with the main thread. The
// vectors are indexed by message; each is written by one thread only and
// read by the main thread once both are joined.
struct Shared {
  explicit Shared(uint64_t n)
      : sent_ns(n, 0), accept_ms(n, -1), e2e_ms(n, -1) {}
  std::vector<int64_t> sent_ns;   // producer: the moment latencies count from
  std::vector<double> accept_ms;  // producer: -1 until durably acknowledged
  std::vector<double> e2e_ms;     // consumer: -1 until received
  int64_t start_ns = 0;           // set before either thread starts
  std::atomic<uint64_t> sent{0}, accepted{0}, refused{0}, delivered{0},
      duplicates{0};
  std::atomic<int64_t> last_ack_ns{0}, last_delivery_ns{0};
  std::atomic<bool> producer_done{false}, stop{false};
  std::mutex mu;  // guards error
  std::string error;

  void Fail(const std::string& who, const Status& status) {
    std::lock_guard<std::mutex> lock(mu);
    if (error.empty()) error = who + ": " + status.message();
    stop = true;
  }
};

void StoreMax(std::atomic<int64_t>* a, int64_t v) {
  int64_t seen = a->load();
  while (seen < v && !a->compare_exchange_weak(seen, v)) {
  }
}

class ProducerLoop {
 public:
  ProducerLoop(Producer* producer, const WorkloadOptions& o, Shared* s)
      : producer_(producer), o_(o), s_(s) {}

  void Run() {
    std::string payload(std::max(o_.payload_bytes, kPayloadHeader), 'x');
    const int64_t start = s_->start_ns;
    for (uint64_t i = 0; i < o_.messages && !s_->stop; ++i) {
      // Open loop: this message's moment, kept whatever happens (a message
      // sent late counts from when it should have left).
      const int64_t scheduled =
          o_.rate > 0
              ? start +
                    static_cast<int64_t>(1e9 * static_cast<double>(i) / o_.rate)
              : 0;
      // Answers already there are taken first, so that their latency does
      // not grow while we keep sending.
      if (!Take(nanoseconds(0))) return;
      for (;;) {
        if (s_->stop) return;
        const int64_t now = NowNs();
        if (in_flight_ < o_.window && (scheduled == 0 || now >= scheduled))
          break;
        const nanoseconds wait = in_flight_ >= o_.window
                                     ? nanoseconds(milliseconds(100))
                                     : nanoseconds(scheduled - now);
        if (!Take(wait)) return;
      }
      s_->sent_ns[i] = scheduled > 0 ? scheduled : NowNs();
      FillPayload(i, s_->sent_ns[i], &payload);
      if (Status st = producer_->Send(i, payload); !st.ok()) {
        s_->Fail("producer", st);
        return;
      }
      ++in_flight_;
      s_->sent.fetch_add(1);
    }
    while (in_flight_ > 0 && !s_->stop) {
      if (!Take(milliseconds(100))) return;
    }
    s_->producer_done = true;
  }

 private:
  // False (and the run stopped) on a connection error.
  bool Take(nanoseconds wait) {
    acks_.clear();
    if (Status st = producer_->Poll(wait, &acks_); !st.ok()) {
      s_->Fail("producer", st);
      return false;
    }
    for (const Ack& a : acks_) {
      if (a.index >= o_.messages) continue;
      --in_flight_;
      if (a.ok) {
        s_->accept_ms[a.index] = (a.at_ns - s_->sent_ns[a.index]) / 1e6;
        s_->accepted.fetch_add(1);
        StoreMax(&s_->last_ack_ns, a.at_ns);
      } else {
        s_->refused.fetch_add(1);
      }
    }
    return true;
  }

  Producer* producer_;
  const WorkloadOptions& o_;
  Shared* s_;
  uint32_t in_flight_ = 0;
  std::vector<Ack> acks_;
};

void ConsumeLoop(Consumer* consumer, const WorkloadOptions& o, Shared* s) {
  const DeliveryFn got = [&](std::string_view payload) {
    const int64_t now = NowNs();
    uint64_t index = 0;
    int64_t scheduled = 0;
    if (!ParsePayload(payload, &index, &scheduled) || index >= o.messages)
      return;  // not this run's
    if (s->e2e_ms[index] >= 0) {
      s->duplicates.fetch_add(1);
      return;
    }
    s->e2e_ms[index] = (now - scheduled) / 1e6;
    s->delivered.fetch_add(1);
    StoreMax(&s->last_delivery_ns, now);
  };
  while (!s->stop) {
    if (Status st = consumer->Poll(milliseconds(100), got); !st.ok()) {
      s->Fail("consumer", st);
      return;
    }
  }
  if (Status st = consumer->Close(); !st.ok()) s->Fail("consumer", st);
}

// Until everything is delivered (or every accepted message, once the
// producer is done), an error, or `timeout_s` without any progress.
// True if it timed out.
bool WaitDone(const WorkloadOptions& o, Shared* s) {
  uint64_t last = 0;
  int64_t last_progress = NowNs();
  for (;;) {
    if (s->stop) return false;
    const uint64_t delivered = s->delivered.load();
    if (delivered >= o.messages ||
        (s->producer_done && delivered >= s->accepted.load())) {
      return false;
    }
    const uint64_t progress =
        s->sent.load() + s->accepted.load() + s->refused.load() + delivered;
    const int64_t now = NowNs();
    if (progress != last) {
      last = progress;
      last_progress = now;
    } else if (now - last_progress > int64_t{o.timeout_s} * 1000000000) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

void Tally(const WorkloadOptions& o, Shared& s, WorkloadReport* r) {
  r->messages = o.messages;
  r->accepted = s.accepted;
  r->refused = s.refused;
  r->delivered = s.delivered;
  r->duplicates = s.duplicates;
  r->payload_bytes = o.payload_bytes;
  r->window = o.window;
  r->offered_rate = o.rate;
  std::vector<double> accept, e2e;
  for (uint64_t i = 0; i < o.messages; ++i) {
    if (s.accept_ms[i] >= 0) {
      accept.push_back(s.accept_ms[i]);
      if (s.e2e_ms[i] < 0) ++r->lost;
    }
    if (s.e2e_ms[i] >= 0) e2e.push_back(s.e2e_ms[i]);
  }
  const int64_t start = s.start_ns;
  r->seconds = (std::max(s.last_delivery_ns.load(), start) - start) / 1e9;
  r->msgs_per_s = r->seconds > 0 ? r->delivered / r->seconds : 0;
  const double accept_s = (std::max(s.last_ack_ns.load(), start) - start) / 1e9;
  r->accept_msgs_per_s = accept_s > 0 ? r->accepted / accept_s : 0;
  r->accept_p50_ms = Percentile(accept, 0.50);
  r->accept_p99_ms = Percentile(accept, 0.99);
  r->e2e_p50_ms = Percentile(e2e, 0.50);
  r->e2e_p99_ms = Percentile(e2e, 0.99);
}

}  // namespace

Status RunWorkload(Peer* peer, const WorkloadOptions& o, WorkloadReport* r) {
  r->system = peer->System();
  r->version = peer->Version();
  r->durability = peer->Durability();
  // Both connections are made before the clock starts: the consumer is
  // subscribed before the first message leaves.
  std::unique_ptr<Consumer> consumer;
  if (Status st = peer->NewConsumer(&consumer); !st.ok()) return st;
  std::unique_ptr<Producer> producer;
  if (Status st = peer->NewProducer(&producer); !st.ok()) return st;

  Shared s(o.messages);
  s.start_ns = NowNs();
  ProducerLoop producer_loop(producer.get(), o, &s);
  std::thread consumer_thread(ConsumeLoop, consumer.get(), std::cref(o), &s);
  std::thread producer_thread([&] { producer_loop.Run(); });
  r->timed_out = WaitDone(o, &s);
  s.stop = true;
  producer_thread.join();
  consumer_thread.join();
  if (!s.error.empty()) return Status::Error(s.error);
  Tally(o, s, r);
  return Status();
}

nlohmann::json WorkloadReport::ToJson() const {
  nlohmann::json j = {{"system", system},
                      {"version", version},
                      {"durability", durability},
                      {"messages", messages},
                      {"accepted", accepted},
                      {"delivered", delivered},
                      {"lost", lost},
                      {"duplicates", duplicates},
                      {"seconds", seconds},
                      {"msgs_per_s", msgs_per_s},
                      {"accept_msgs_per_s", accept_msgs_per_s},
                      {"accept_p50_ms", accept_p50_ms},
                      {"accept_p99_ms", accept_p99_ms},
                      {"e2e_p50_ms", e2e_p50_ms},
                      {"e2e_p99_ms", e2e_p99_ms},
                      {"payload_bytes", payload_bytes},
                      {"window", window}};
  if (offered_rate > 0) j["offered_msgs_per_s"] = offered_rate;
  return j;
}

std::string WorkloadReport::ToText() const {
  const std::string offered =
      offered_rate > 0
          ? ", offered " + std::to_string(std::llround(offered_rate)) + " msg/s"
          : "";
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "%s %s (%s)\n"
      "messages %llu of %zu bytes, window %u%s: accepted %llu, refused %llu, "
      "delivered %llu, lost %llu, duplicates %llu%s\n"
      "accepted %.0f msg/s, p50 %.2f ms, p99 %.2f ms\n"
      "end to end %.0f msg/s, p50 %.2f ms, p99 %.2f ms (%.2f s)\n",
      system.c_str(), version.c_str(), durability.c_str(),
      static_cast<unsigned long long>(messages), payload_bytes, window,
      offered.c_str(), static_cast<unsigned long long>(accepted),
      static_cast<unsigned long long>(refused),
      static_cast<unsigned long long>(delivered),
      static_cast<unsigned long long>(lost),
      static_cast<unsigned long long>(duplicates),
      timed_out ? " (timed out)" : "", accept_msgs_per_s, accept_p50_ms,
      accept_p99_ms, msgs_per_s, e2e_p50_ms, e2e_p99_ms, seconds);
  return buf;
}

}  // namespace relais::peers
