#include "bench/load/load_run.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "adapters/sdk/client.h"
#include "adapters/sdk/client_config.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/files.h"
#include "deploy/lib/process.h"
#include "deploy/lib/provision.h"

namespace relais::bench {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr char kSender[] = "bench-sender";
constexpr char kReceiver[] = "bench-receiver";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k =
      std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// What the run shares between the sender, its receipts and the receiver.
struct RunState {
  explicit RunState(uint64_t n)
      : submitted_ns(new std::atomic<int64_t>[n]),
        accept_ms(n, -1),
        e2e_ms(n, -1),
        handled(new std::atomic<uint32_t>[n]) {
    for (uint64_t i = 0; i < n; ++i) {
      submitted_ns[i] = 0;
      handled[i] = 0;
    }
  }
  std::string nonce;  // first 8 bytes of every message id of this run
  std::unique_ptr<std::atomic<int64_t>[]> submitted_ns;
  std::vector<double> accept_ms;  // written by the sender client's I/O thread
  std::vector<double> e2e_ms;     // written by the receiver's handler thread
  std::unique_ptr<std::atomic<uint32_t>[]> handled;
  std::atomic<uint64_t> delivered{0}, duplicates{0}, accepted{0}, rejected{0};
  std::atomic<int64_t> last_delivery_ns{0}, last_accept_ns{0};
  std::mutex mu;
  std::condition_variable cv;
  uint32_t in_flight = 0;       // guarded by mu
  std::string first_rejection;  // guarded by mu
};

// A stack to run against: ours (temporary, with relaisd) or an existing one.
struct Target {
  std::string dir;
  bool owned = false;
  std::vector<std::string> broker_argv;
  deploy::ChildProcess broker;
  double peak_rss_mb = -1;  // over every relaisd process of the run

  void NoteRss() {
    peak_rss_mb = std::max(peak_rss_mb, deploy::PeakRssMb(broker.pid()));
  }
  // SIGKILL, then start again on the same endpoint.
  Status KillAndRestart() {
    NoteRss();
    broker.Kill();
    RELAIS_ASSIGN_OR_RETURN(
        broker, deploy::ChildProcess::Start(broker_argv, dir + "/relaisd.log"));
    return Status::OK();
  }
};

Result<std::string> WaitForEndpoint(const std::string& file) {
  for (int i = 0; i < 300; ++i) {
    auto text = ReadFile(file, 4096);
    if (text.ok() && !text->empty()) {
      while (!text->empty() &&
             std::isspace(static_cast<unsigned char>(text->back()))) {
        text->pop_back();
      }
      return *text;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("relaisd wrote no endpoint in " + file);
}

Result<Target> PrepareTarget(const LoadOptions& o) {
  Target t;
  if (!o.broker.empty()) {
    t.dir = o.stack_dir;
    return t;
  }
  char pattern[] = "/tmp/relais-bench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return Status::IOError("mkdtemp failed");
  t.dir = pattern;
  t.owned = true;
  deploy::StackSpec spec;
  spec.dir = t.dir;
  spec.agencies = {};
  spec.desk = "";
  spec.extra_participants = {kSender, kReceiver};
  RELAIS_ASSIGN_OR_RETURN(deploy::StackLayout layout, deploy::Provision(spec));
  t.broker_argv = {deploy::BinDir() + "/relaisd", "--config",
                   layout.BrokerConfig(), "--log-level", "warn"};
  RELAIS_ASSIGN_OR_RETURN(t.broker, deploy::ChildProcess::Start(
                                        t.broker_argv, t.dir + "/relaisd.log"));
  // Restarts bind the same port, so that clients find it again.
  RELAIS_ASSIGN_OR_RETURN(std::string endpoint,
                          WaitForEndpoint(layout.EndpointFile()));
  t.broker_argv.push_back("--listen");
  t.broker_argv.push_back(endpoint);
  return t;
}

Result<sdk::ClientOptions> ClientFor(const LoadOptions& o,
                                     const std::string& dir,
                                     const std::string& participant) {
  deploy::StackLayout layout(dir);
  RELAIS_ASSIGN_OR_RETURN(
      sdk::ParticipantConfig c,
      sdk::LoadParticipantConfig(layout.ClientConfig(participant),
                                 std::chrono::seconds(30)));
  if (!o.broker.empty()) c.client.endpoint = o.broker;
  c.client.state_dir = layout.ParticipantDir(participant) +
                       "/state/processed-" + std::to_string(::getpid());
  return c.client;
}

void Send(const LoadOptions& o, sdk::Client* sender, RunState* st) {
  EnvelopeDraft d;
  d.recipients = {kReceiver};
  d.case_type = wire::CaseType::AssistedCase;
  d.encoding = wire::PayloadEncoding::Opaque;
  d.payload = std::string(o.payload_bytes, 'x');
  for (uint64_t i = 0; i < o.messages; ++i) {
    {
      std::unique_lock<std::mutex> lock(st->mu);
      st->cv.wait(lock, [&] { return st->in_flight < o.in_flight; });
      ++st->in_flight;
    }
    d.message_id = st->nonce;
    PutBigEndian64(&d.message_id, i);
    d.case_id = "bench-" + HexEncode(st->nonce) + "-" + std::to_string(i);
    d.created_at_ms = d.expires_at_ms = 0;
    auto sealed = sender->Seal(d, std::chrono::hours(1));
    st->submitted_ns[i].store(NowNs(), std::memory_order_relaxed);
    sender->SubmitAsync(std::move(*sealed), [st, i](Result<sdk::Receipt> r) {
      const int64_t now = NowNs();
      if (r.ok()) {
        st->accept_ms[i] =
            (now - st->submitted_ns[i].load(std::memory_order_relaxed)) / 1e6;
        st->accepted.fetch_add(1);
        st->last_accept_ns.store(now);
      } else {
        st->rejected.fetch_add(1);
      }
      std::lock_guard<std::mutex> lock(st->mu);
      if (!r.ok() && st->first_rejection.empty())
        st->first_rejection = r.status().ToString();
      --st->in_flight;
      st->cv.notify_all();
    });
  }
}

sdk::DeliveryHandler Receiver(RunState* st, uint64_t n) {
  return [st, n](const sdk::Delivery& d) {
    const std::string_view id = d.envelope->message_id;
    if (id.substr(0, 8) != st->nonce) return sdk::HandlerResult::Processed();
    const uint64_t i = GetBigEndian64(id.data() + 8);
    if (i >= n) return sdk::HandlerResult::Processed();
    const int64_t now = NowNs();
    if (st->handled[i].fetch_add(1) == 0) {
      st->e2e_ms[i] =
          (now - st->submitted_ns[i].load(std::memory_order_relaxed)) / 1e6;
      st->delivered.fetch_add(1);
      st->last_delivery_ns.store(now);
    } else {
      st->duplicates.fetch_add(1);
    }
    return sdk::HandlerResult::Processed();
  };
}

// Kills and restarts the broker when the accepted count reaches each of
// `kills` random points spread over the run.
class BrokerKiller {
 public:
  BrokerKiller(const LoadOptions& o, Target* target, RunState* st,
               std::mt19937_64* rng)
      : target_(target), st_(st) {
    std::uniform_int_distribution<uint64_t> at(o.messages / 20,
                                               o.messages * 19 / 20);
    for (uint32_t i = 0; i < o.kill_broker; ++i) points_.push_back(at(*rng));
    std::sort(points_.begin(), points_.end());
    std::uniform_int_distribution<int> jitter_ms(0, 50);
    for (size_t i = 0; i < points_.size(); ++i)
      jitter_.push_back(jitter_ms(*rng));
    if (!points_.empty()) thread_ = std::thread([this] { Run(); });
  }
  ~BrokerKiller() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint32_t kills() const { return kills_; }
  const Status& status() const { return status_; }

 private:
  void Run() {
    for (size_t i = 0; i < points_.size() && !stop_; ++i) {
      while (!stop_ && st_->accepted.load() < points_[i]) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (stop_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(jitter_[i]));
      status_ = target_->KillAndRestart();
      if (!status_.ok()) return;
      ++kills_;
    }
  }
  Target* target_;
  RunState* st_;
  std::vector<uint64_t> points_;
  std::vector<int> jitter_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> kills_{0};
  Status status_;
  std::thread thread_;
};

}  // namespace

Result<LoadReport> RunLoad(const LoadOptions& o) {
  if (!o.broker.empty() && o.kill_broker > 0) {
    return Status::InvalidArgument(
        "--kill-broker needs relais-bench's own "
        "relaisd (no --broker)");
  }
  if (o.backlog > o.messages) {
    return Status::InvalidArgument("--backlog cannot exceed --messages");
  }
  RELAIS_ASSIGN_OR_RETURN(Target target, PrepareTarget(o));
  const uint64_t seed = o.seed ? o.seed : std::random_device{}();
  std::mt19937_64 rng(seed);
  RunState st(o.messages);
  RELAIS_ASSIGN_OR_RETURN(st.nonce, crypto::RandomBytes(8));
  RELAIS_ASSIGN_OR_RETURN(sdk::ClientOptions ro,
                          ClientFor(o, target.dir, kReceiver));
  RELAIS_ASSIGN_OR_RETURN(sdk::ClientOptions so,
                          ClientFor(o, target.dir, kSender));
  ro.window = o.window;
  so.window = 0;
  RELAIS_ASSIGN_OR_RETURN(auto sender, sdk::Client::Start(std::move(so)));
  RELAIS_RETURN_IF_ERROR(sender->WaitConnected(std::chrono::seconds(30)));
  std::unique_ptr<sdk::Client> receiver;
  auto start_receiver = [&]() -> Status {
    RELAIS_ASSIGN_OR_RETURN(receiver,
                            sdk::Client::Start(ro, Receiver(&st, o.messages)));
    return receiver->WaitConnected(std::chrono::seconds(30));
  };
  if (o.backlog == 0) RELAIS_RETURN_IF_ERROR(start_receiver());

  const int64_t start_ns = NowNs();
  BrokerKiller killer(o, &target, &st, &rng);
  std::thread sending([&] { Send(o, sender.get(), &st); });
  int64_t drain_start_ns = start_ns;
  Status receiver_status;
  if (o.backlog > 0) {
    // Offline until the backlog is journaled (or every submit answered).
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(st.mu);
        if (st.accepted.load() >= o.backlog ||
            (st.in_flight == 0 &&
             st.accepted.load() + st.rejected.load() >= o.messages)) {
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    drain_start_ns = NowNs();
    receiver_status = start_receiver();
  }
  sending.join();
  {
    std::unique_lock<std::mutex> lock(st.mu);
    st.cv.wait(lock, [&] { return st.in_flight == 0; });
  }
  RELAIS_RETURN_IF_ERROR(receiver_status);
  // Drain: until everything accepted was handled, or no progress.
  uint64_t last = 0;
  auto last_progress = SteadyClock::now();
  while (st.delivered.load() < st.accepted.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (st.delivered.load() != last) {
      last = st.delivered.load();
      last_progress = SteadyClock::now();
    } else if (SteadyClock::now() - last_progress >
               std::chrono::seconds(o.drain_timeout_s)) {
      break;
    }
  }
  killer.Stop();
  RELAIS_RETURN_IF_ERROR(killer.status());
  std::this_thread::sleep_for(
      std::chrono::milliseconds(200));  // late duplicates

  LoadReport r;
  r.messages = o.messages;
  r.accepted = st.accepted.load();
  r.rejected = st.rejected.load();
  r.delivered = st.delivered.load();
  r.duplicates = st.duplicates.load();
  r.lost = r.accepted > r.delivered ? r.accepted - r.delivered : 0;
  r.first_rejection = st.first_rejection;
  r.backlog = o.backlog;
  r.broker_kills = killer.kills();
  r.seed = seed;
  r.seconds = (std::max(st.last_delivery_ns.load(), start_ns) - start_ns) / 1e9;
  r.msgs_per_s = r.seconds > 0 ? r.delivered / r.seconds : 0;
  const double accept_s =
      (std::max(st.last_accept_ns.load(), start_ns) - start_ns) / 1e9;
  r.accept_msgs_per_s = accept_s > 0 ? r.accepted / accept_s : 0;
  if (o.backlog > 0) {
    const double drain_s =
        (std::max(st.last_delivery_ns.load(), drain_start_ns) -
         drain_start_ns) /
        1e9;
    r.drain_msgs_per_s = drain_s > 0 ? r.delivered / drain_s : 0;
  }
  std::vector<double> acc, e2e;
  for (uint64_t i = 0; i < o.messages; ++i) {
    if (st.accept_ms[i] >= 0) acc.push_back(st.accept_ms[i]);
    if (st.e2e_ms[i] >= 0) e2e.push_back(st.e2e_ms[i]);
  }
  r.accept_p50_ms = Percentile(acc, 0.50);
  r.accept_p99_ms = Percentile(acc, 0.99);
  r.e2e_p50_ms = Percentile(e2e, 0.50);
  r.e2e_p99_ms = Percentile(e2e, 0.99);
  sender->Stop();
  if (receiver) receiver->Stop();
  if (target.owned) {
    target.NoteRss();
    r.broker_peak_rss_mb = target.peak_rss_mb;
    target.broker.Stop();
    std::error_code ec;
    fs::remove_all(target.dir, ec);
  }
  return r;
}

nlohmann::json LoadReport::ToJson() const {
  nlohmann::json j = {
      {"messages", messages},
      {"accepted", accepted},
      {"delivered", delivered},
      {"lost", lost},
      {"duplicates", duplicates},
      {"msgs_per_s", msgs_per_s},
      {"accept_msgs_per_s", accept_msgs_per_s},
      {"accept_p50_ms", accept_p50_ms},
      {"accept_p99_ms", accept_p99_ms},
      {"e2e_p50_ms", e2e_p50_ms},
      {"e2e_p99_ms", e2e_p99_ms},
      {"broker_peak_rss_mb", broker_peak_rss_mb < 0
                                 ? nlohmann::json()
                                 : nlohmann::json(broker_peak_rss_mb)},
      {"rejected", rejected},
      {"seconds", seconds},
      {"seed", seed}};
  if (backlog > 0) {
    j["backlog"] = backlog;
    j["drain_msgs_per_s"] = drain_msgs_per_s;
  }
  j["broker_kills"] = broker_kills;
  if (!first_rejection.empty()) j["first_rejection"] = first_rejection;
  return j;
}

std::string LoadReport::ToText() const {
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "messages %llu: accepted %llu, rejected %llu, delivered %llu, lost %llu, "
      "duplicates %llu\n"
      "end to end %.0f msg/s over %.2f s (accept %.0f msg/s)\n"
      "accept latency p50 %.2f ms, p99 %.2f ms\n"
      "end-to-end latency p50 %.2f ms, p99 %.2f ms\n"
      "broker peak RSS %.1f MB",
      (unsigned long long)messages, (unsigned long long)accepted,
      (unsigned long long)rejected, (unsigned long long)delivered,
      (unsigned long long)lost, (unsigned long long)duplicates, msgs_per_s,
      seconds, accept_msgs_per_s, accept_p50_ms, accept_p99_ms, e2e_p50_ms,
      e2e_p99_ms, broker_peak_rss_mb);
  std::string out = buf;
  if (backlog > 0) {
    std::snprintf(buf, sizeof buf, "\nbacklog %llu drained at %.0f msg/s",
                  (unsigned long long)backlog, drain_msgs_per_s);
    out += buf;
  }
  if (broker_kills > 0) {
    out += "\nbroker SIGKILLed and restarted " + std::to_string(broker_kills) +
           " times (seed " + std::to_string(seed) + ")";
  }
  if (!first_rejection.empty()) out += "\nfirst rejection: " + first_rejection;
  return out;
}

}  // namespace relais::bench
