#include "bench/load/load_run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "adapters/sdk/client.h"
#include "adapters/sdk/client_config.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/frame.h"
#include "deploy/lib/process.h"
#include "deploy/lib/provision.h"

namespace relais::bench {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr char kSender[] = "bench-sender";
constexpr const char* kReceiver = kBenchReceiver;

int64_t NowNs() { return NowSteadyNs(); }

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(
      v.size() - 1, static_cast<size_t>(std::llround(p * (v.size() - 1))));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// What the run shares between the sender and its receipts.
struct RunState {
  explicit RunState(uint64_t n)
      : submitted_ns(new std::atomic<int64_t>[n]), accept_ms(n, -1) {
    for (uint64_t i = 0; i < n; ++i) submitted_ns[i] = 0;
  }
  std::string nonce;  // first 8 bytes of every message id of this run
  std::unique_ptr<std::atomic<int64_t>[]> submitted_ns;
  std::vector<double> accept_ms;  // written by the sender client's I/O thread
  std::atomic<uint64_t> accepted{0}, rejected{0};
  std::atomic<int64_t> last_accept_ns{0};
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
    // Restarted from the killer's thread: it must outlive that thread.
    RELAIS_ASSIGN_OR_RETURN(
        broker,
        deploy::ChildProcess::Start(broker_argv, dir + "/relaisd.log", false));
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

}  // namespace

// `participant`'s options in the stack `dir`, with a local store of this
// run (named by the parent's pid, so runs against one stack never share).
Result<sdk::ClientOptions> BenchClient(const std::string& dir,
                                       const std::string& broker,
                                       const std::string& participant,
                                       int run_pid) {
  deploy::StackLayout layout(dir);
  RELAIS_ASSIGN_OR_RETURN(
      sdk::ParticipantConfig c,
      sdk::LoadParticipantConfig(layout.ClientConfig(participant),
                                 std::chrono::seconds(30)));
  if (!broker.empty()) c.client.endpoint = broker;
  c.client.state_dir = layout.ParticipantDir(participant) + "/state/bench-" +
                       std::to_string(run_pid);
  return c.client;
}

namespace {

// The receiving process: started, SIGKILLed and restarted, stopped.
class ReceiverProcess {
 public:
  ReceiverProcess(const LoadOptions& o, const std::string& dir,
                  const std::string& nonce_hex)
      : progress_(dir + "/bench-receiver.progress") {
    argv_ = {deploy::BinDir() + "/relais-bench",
             "--receive",
             "--stack",
             dir,
             "--run-pid",
             std::to_string(::getpid()),
             "--nonce",
             nonce_hex,
             "--progress",
             progress_,
             "--window",
             std::to_string(o.window)};
    if (!o.broker.empty()) {
      argv_.push_back("--broker");
      argv_.push_back(o.broker);
    }
    log_ = dir + "/bench-receiver.log";
  }
  ~ReceiverProcess() { Stop(); }

  // Starts it and waits until it is connected (it then writes progress).
  Status Start() {
    std::error_code ec;
    fs::remove(progress_, ec);
    // Restarts come from the killer's thread: it must outlive that thread.
    RELAIS_ASSIGN_OR_RETURN(child_,
                            deploy::ChildProcess::Start(argv_, log_, false));
    for (int i = 0; i < 1500; ++i) {
      if (fs::exists(progress_)) return Status::OK();
      if (!child_.running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto log = ReadFile(log_, 1 << 16);
    return Status::Unavailable("the receiving process did not connect: " +
                               (log.ok() ? *log : std::string()));
  }
  Status KillAndRestart() {
    child_.Kill();
    return Start();
  }
  // Distinct messages handled so far (as the process last wrote).
  uint64_t Handled() const {
    auto text = ReadFile(progress_, 64);
    if (!text.ok()) return last_;
    try {
      last_ = std::max<uint64_t>(last_, std::stoull(*text));
    } catch (...) {
    }
    return last_;
  }
  int Stop() { return child_.pid() > 0 ? child_.Stop() : 0; }

 private:
  std::vector<std::string> argv_;
  std::string progress_, log_;
  deploy::ChildProcess child_;
  mutable uint64_t last_ = 0;
};

// Group commit as the broker saw it since its last start (operator's
// AdminRequest Stats); left at 0 if the stack has no operator.
void ReadJournalStats(const std::string& dir, const std::string& broker,
                      LoadReport* r) {
  auto o = BenchClient(dir, broker, deploy::kDefaultOperator, 0);
  if (!o.ok()) return;
  o->state_dir.clear();
  o->window = 0;
  auto op = sdk::Client::Start(std::move(*o));
  if (!op.ok() || !(*op)->WaitConnected(std::chrono::seconds(10)).ok()) return;
  auto reply = (*op)->Admin(wire::AdminOp::Stats);
  if (!reply.ok()) return;
  auto frame = ParseFrame(*reply);
  const wire::AdminReply* a =
      frame.ok() ? (*frame)->body_as_AdminReply() : nullptr;
  if (a == nullptr || a->stats() == nullptr) return;
  r->journal_batches = a->stats()->journal_batches();
  r->journal_submits = a->stats()->journal_submits();
  r->journal_largest_batch = a->stats()->journal_largest_batch();
}

void Send(const LoadOptions& o, sdk::Client* sender, RunState* st) {
  EnvelopeDraft d;
  d.recipients = {kReceiver};
  d.case_type = wire::CaseType::AssistedCase;
  d.encoding = wire::PayloadEncoding::Opaque;
  d.payload = std::string(std::max<size_t>(o.payload_bytes, 8), 'x');
  const int64_t start = NowNs();
  for (uint64_t i = 0; i < o.messages; ++i) {
    // Open loop: this message's moment, kept whatever happens (a message
    // sent late counts from when it should have left).
    const int64_t scheduled =
        o.rate > 0 ? start + static_cast<int64_t>(1e9 * static_cast<double>(i) /
                                                  o.rate)
                   : 0;
    if (scheduled > 0) {
      std::this_thread::sleep_for(
          std::chrono::nanoseconds(std::max<int64_t>(0, scheduled - NowNs())));
    }
    {
      std::unique_lock<std::mutex> lock(st->mu);
      st->cv.wait(lock, [&] { return st->in_flight < o.in_flight; });
      ++st->in_flight;
    }
    d.message_id = st->nonce;
    PutBigEndian64(&d.message_id, i);
    d.case_id = "bench-" + HexEncode(st->nonce) + "-" + std::to_string(i);
    d.created_at_ms = d.expires_at_ms = 0;
    const int64_t submitted = scheduled > 0 ? scheduled : NowNs();
    d.payload.resize(0);
    PutBigEndian64(&d.payload, static_cast<uint64_t>(submitted));
    d.payload.resize(std::max<size_t>(o.payload_bytes, 8), 'x');
    auto sealed = sender->Seal(d, std::chrono::hours(1));
    st->submitted_ns[i].store(submitted, std::memory_order_relaxed);
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

// SIGKILLs and restarts a process when `progress` reaches each of `kills`
// random points spread over the run.
class Killer {
 public:
  Killer(uint32_t kills, uint64_t messages, std::function<uint64_t()> progress,
         std::function<Status()> kill_and_restart, std::mt19937_64* rng)
      : progress_(std::move(progress)), kill_(std::move(kill_and_restart)) {
    std::uniform_int_distribution<uint64_t> at(messages / 20,
                                               messages * 19 / 20);
    for (uint32_t i = 0; i < kills; ++i) points_.push_back(at(*rng));
    std::sort(points_.begin(), points_.end());
    std::uniform_int_distribution<int> jitter_ms(0, 50);
    for (size_t i = 0; i < points_.size(); ++i)
      jitter_.push_back(jitter_ms(*rng));
    if (!points_.empty()) thread_ = std::thread([this] { Run(); });
  }
  ~Killer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint32_t kills() const { return kills_; }
  const Status& status() const { return status_; }

 private:
  void Run() {
    for (size_t i = 0; i < points_.size() && !stop_; ++i) {
      while (!stop_ && progress_() < points_[i]) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (stop_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(jitter_[i]));
      status_ = kill_();
      if (!status_.ok()) return;
      ++kills_;
    }
  }
  std::function<uint64_t()> progress_;
  std::function<Status()> kill_;
  std::vector<uint64_t> points_;
  std::vector<int> jitter_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> kills_{0};
  Status status_;
  std::thread thread_;
};

// Offline until the backlog is journaled (or every submit answered).
void WaitForBacklog(const LoadOptions& o, RunState& st) {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(st.mu);
      if (st.accepted.load() >= o.backlog ||
          (st.in_flight == 0 &&
           st.accepted.load() + st.rejected.load() >= o.messages)) {
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Until everything accepted was handled, or no progress for
// drain_timeout_s.
void WaitDrained(const LoadOptions& o, const RunState& st,
                 ReceiverProcess& receiver) {
  uint64_t last = 0;
  auto last_progress = SteadyClock::now();
  while (receiver.Handled() < st.accepted.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (receiver.Handled() != last) {
      last = receiver.Handled();
      last_progress = SteadyClock::now();
    } else if (SteadyClock::now() - last_progress >
               std::chrono::seconds(o.drain_timeout_s)) {
      return;
    }
  }
}

// The run's figures from what the sender saw and the receiver recorded.
void Tally(const LoadOptions& o, const RunState& st, const ReceiverTally& tally,
           int64_t start_ns, int64_t drain_start_ns, LoadReport* out) {
  LoadReport& r = *out;
  r.messages = o.messages;
  r.accepted = st.accepted.load();
  r.rejected = st.rejected.load();
  r.duplicates = tally.duplicates;
  r.first_rejection = st.first_rejection;
  r.backlog = o.backlog;
  r.offered_rate = o.rate;
  std::vector<double> acc, e2e;
  int64_t last_delivery_ns = start_ns;
  std::vector<bool> seen(o.messages, false);
  for (const auto& h : tally.handled) {
    if (h.index >= o.messages || seen[h.index]) continue;
    seen[h.index] = true;
    ++r.delivered;
    e2e.push_back((h.handled_ns - h.submitted_ns) / 1e6);
    last_delivery_ns = std::max(last_delivery_ns, h.handled_ns);
  }
  // Lost: accepted (a receipt came back) and never handled.
  for (uint64_t i = 0; i < o.messages; ++i) {
    if (st.accept_ms[i] >= 0) {
      acc.push_back(st.accept_ms[i]);
      if (!seen[i]) ++r.lost;
    }
  }
  r.seconds = (last_delivery_ns - start_ns) / 1e9;
  r.msgs_per_s = r.seconds > 0 ? r.delivered / r.seconds : 0;
  const double accept_s =
      (std::max(st.last_accept_ns.load(), start_ns) - start_ns) / 1e9;
  r.accept_msgs_per_s = accept_s > 0 ? r.accepted / accept_s : 0;
  if (o.backlog > 0) {
    const double drain_s =
        (std::max(last_delivery_ns, drain_start_ns) - drain_start_ns) / 1e9;
    r.drain_msgs_per_s = drain_s > 0 ? r.delivered / drain_s : 0;
  }
  r.accept_p50_ms = Percentile(acc, 0.50);
  r.accept_p99_ms = Percentile(acc, 0.99);
  r.e2e_p50_ms = Percentile(e2e, 0.50);
  r.e2e_p99_ms = Percentile(e2e, 0.99);
}

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
  RELAIS_ASSIGN_OR_RETURN(
      sdk::ClientOptions so,
      BenchClient(target.dir, o.broker, kSender, ::getpid()));
  so.window = 0;
  const std::string sender_state = so.state_dir;
  RELAIS_ASSIGN_OR_RETURN(auto sender, sdk::Client::Start(std::move(so)));
  RELAIS_RETURN_IF_ERROR(sender->WaitConnected(std::chrono::seconds(30)));
  ReceiverProcess receiver(o, target.dir, HexEncode(st.nonce));
  if (o.backlog == 0) RELAIS_RETURN_IF_ERROR(receiver.Start());

  const int64_t start_ns = NowNs();
  Killer broker_killer(
      o.kill_broker, o.messages, [&] { return st.accepted.load(); },
      [&] { return target.KillAndRestart(); }, &rng);
  std::thread sending([&] { Send(o, sender.get(), &st); });
  int64_t drain_start_ns = start_ns;
  Status receiver_status;
  if (o.backlog > 0) {
    WaitForBacklog(o, st);
    drain_start_ns = NowNs();
    receiver_status = receiver.Start();
  }
  Killer receiver_killer(
      receiver_status.ok() ? o.kill_receiver : 0, o.messages,
      [&] { return receiver.Handled(); },
      [&] { return receiver.KillAndRestart(); }, &rng);
  sending.join();
  {
    std::unique_lock<std::mutex> lock(st.mu);
    st.cv.wait(lock, [&] { return st.in_flight == 0; });
  }
  RELAIS_RETURN_IF_ERROR(receiver_status);
  WaitDrained(o, st, receiver);
  broker_killer.Stop();
  receiver_killer.Stop();
  RELAIS_RETURN_IF_ERROR(broker_killer.status());
  RELAIS_RETURN_IF_ERROR(receiver_killer.status());
  std::this_thread::sleep_for(
      std::chrono::milliseconds(200));  // late duplicates
  sender->Stop();
  LoadReport r;
  ReadJournalStats(target.dir, o.broker, &r);
  receiver.Stop();
  const std::string receiver_state =
      deploy::StackLayout(target.dir).ParticipantDir(kReceiver) +
      "/state/bench-" + std::to_string(::getpid());
  RELAIS_ASSIGN_OR_RETURN(ReceiverTally tally,
                          ReadReceiverStore(receiver_state));

  Tally(o, st, tally, start_ns, drain_start_ns, &r);
  r.broker_kills = broker_killer.kills();
  r.receiver_kills = receiver_killer.kills();
  r.seed = seed;
  std::error_code ec;
  fs::remove_all(sender_state, ec);
  fs::remove_all(receiver_state, ec);
  if (target.owned) {
    target.NoteRss();
    r.broker_peak_rss_mb = target.peak_rss_mb;
    target.broker.Stop();
    fs::remove_all(target.dir, ec);
  }
  return r;
}

int64_t NowSteadyNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
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
  if (offered_rate > 0) j["offered_msgs_per_s"] = offered_rate;
  j["broker_kills"] = broker_kills;
  j["receiver_kills"] = receiver_kills;
  if (journal_batches > 0) {
    j["journal_batches"] = journal_batches;
    j["journal_submits"] = journal_submits;
    j["submits_per_sync"] = double(journal_submits) / journal_batches;
    j["journal_largest_batch"] = journal_largest_batch;
  }
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
  if (offered_rate > 0) {
    std::snprintf(buf, sizeof buf, "\noffered %.0f msg/s (open loop)",
                  offered_rate);
    out += buf;
  }
  if (broker_kills > 0) {
    out += "\nbroker SIGKILLed and restarted " + std::to_string(broker_kills) +
           " times (seed " + std::to_string(seed) + ")";
  }
  if (journal_batches > 0) {
    std::snprintf(buf, sizeof buf,
                  "\ngroup commit: %.1f submits per sync on average, %llu at "
                  "most (since relaisd's last start)",
                  double(journal_submits) / journal_batches,
                  (unsigned long long)journal_largest_batch);
    out += buf;
  }
  if (receiver_kills > 0) {
    out += "\nreceiver SIGKILLed and restarted " +
           std::to_string(receiver_kills) + " times (seed " +
           std::to_string(seed) + ")";
  }
  if (!first_rejection.empty()) out += "\nfirst rejection: " + first_rejection;
  return out;
}

}  // namespace relais::bench
