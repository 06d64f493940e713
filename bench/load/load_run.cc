#include "bench/load/load_run.h"

#include <httplib.h>

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
#include "bench/load/machine_bound.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/frame.h"
#include "core/metrics.h"
#include "deploy/lib/process.h"
#include "deploy/lib/provision.h"

namespace relais::bench {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

int64_t NowNs() { return NowSteadyNs(); }

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(
      v.size() - 1, static_cast<size_t>(std::llround(p * (v.size() - 1))));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// What the run shares between the senders and their receipts.
struct RunState {
  RunState(uint64_t n, uint32_t senders)
      : submitted_ns(new std::atomic<int64_t>[n]),
        accept_ms(n, -1),
        in_flight(senders, 0) {
    for (uint64_t i = 0; i < n; ++i) submitted_ns[i] = 0;
  }
  // Submits awaiting their receipt, over every sender.
  uint32_t InFlight() const {
    uint32_t n = 0;
    for (uint32_t f : in_flight) n += f;
    return n;
  }
  std::string nonce;  // first 8 bytes of every message id of this run
  std::unique_ptr<std::atomic<int64_t>[]> submitted_ns;
  std::vector<double> accept_ms;  // written by the senders' I/O threads
  std::atomic<uint64_t> accepted{0}, rejected{0};
  std::atomic<int64_t> last_accept_ns{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint32_t> in_flight;  // per sender, guarded by mu
  std::string first_rejection;      // guarded by mu
};

// A stack to run against: ours (temporary, with relaisd) or an existing one.
struct Target {
  std::string dir;
  bool owned = false;
  std::vector<std::string> broker_argv;
  std::string endpoint_file;  // relaisd writes it once it listens
  deploy::ChildProcess broker;
  double peak_rss_mb = -1;  // over every relaisd process of the run

  void NoteRss() {
    peak_rss_mb = std::max(peak_rss_mb, deploy::PeakRssMb(broker.pid()));
  }
  // SIGKILL, then start again on the same endpoint and wait until it
  // listens (its recovery: 300 s at most). While it was down, something
  // else may hold the port for a moment (a client reconnecting on
  // loopback can be given it as its own source port, a TCP self-connect):
  // relaisd then exits at once saying "Address already in use", and is
  // started again, for up to 20 s. Any other exit is the run's failure.
  Status KillAndRestart() {
    static constexpr std::chrono::seconds kRecoveryLimit{300};
    NoteRss();
    broker.Kill();
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    const std::string log = dir + "/relaisd.log";
    for (;;) {
      std::error_code ec;
      fs::remove(endpoint_file, ec);
      const auto logged = fs::file_size(log, ec);
      // Restarted from the killer's thread: it must outlive that thread.
      RELAIS_ASSIGN_OR_RETURN(
          broker, deploy::ChildProcess::Start(broker_argv, dir + "/relaisd.log",
                                              false));
      const auto started = std::chrono::steady_clock::now();
      while (broker.running() && !fs::exists(endpoint_file)) {
        if (std::chrono::steady_clock::now() - started > kRecoveryLimit) {
          return Status::Timeout("relaisd did not listen again within " +
                                 std::to_string(kRecoveryLimit.count()) +
                                 " s of its restart (see " + dir +
                                 "/relaisd.log)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (broker.running()) return Status::OK();
      auto said = ReadFile(log);
      const bool port_held =
          said.ok() && !ec && said->size() >= logged &&
          said->find("Address already in use", logged) != std::string::npos;
      if (!port_held || std::chrono::steady_clock::now() > deadline) {
        return Status::Unavailable("relaisd did not start again (see " + log +
                                   ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
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
  spec.extra_participants = deploy::BenchParticipants(o.senders, o.receivers);
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
  t.endpoint_file = layout.EndpointFile();
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
  const std::string config = layout.ClientConfig(participant);
  if (!fs::exists(config)) {
    return Status::NotFound(
        "the stack in " + dir + " has no participant " + participant +
        " (provision it with `relais provision --bench --bench-senders S "
        "--bench-receivers R`)");
  }
  RELAIS_ASSIGN_OR_RETURN(
      sdk::ParticipantConfig c,
      sdk::LoadParticipantConfig(config, std::chrono::seconds(30)));
  if (!broker.empty()) c.client.endpoint = broker;
  c.client.state_dir = layout.ParticipantDir(participant) + "/state/bench-" +
                       std::to_string(run_pid);
  return c.client;
}

namespace {

// A receiving process: started, SIGKILLed and restarted, stopped.
class ReceiverProcess {
 public:
  ReceiverProcess(const LoadOptions& o, const std::string& dir,
                  const std::string& participant, const std::string& nonce_hex)
      : participant_(participant),
        progress_(dir + "/" + participant + ".progress") {
    argv_ = {deploy::BinDir() + "/relais-bench",
             "--receive",
             "--participant",
             participant,
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
    log_ = dir + "/" + participant + ".log";
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
    return Status::Unavailable(
        "the receiving process " + participant_ +
        " did not connect: " + (log.ok() ? *log : std::string()));
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
  const std::string& participant() const { return participant_; }

 private:
  std::string participant_;
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
  r->journal_syncs = a->stats()->journal_syncs();
}

// The broker's share of the accept latency, from the /metrics of the
// stack's relaisd (its address in relaisd.metrics); left at 0 if there is
// none, or nothing was accepted since relaisd's last start.
void ReadBrokerAccept(const std::string& dir, LoadReport* r) {
  auto url = ReadFile(deploy::StackLayout(dir).MetricsFile());
  if (!url.ok()) return;
  std::string server, path;
  if (!metrics::SplitHttpUrl(url->substr(0, url->find('\n')), &server, &path)) {
    return;
  }
  httplib::Client client(server);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  auto res = client.Get(path.c_str());
  if (!res || res->status != 200) return;
  const auto samples = metrics::ParseSamples(res->body);
  // Mean ms of a histogram's observations; 0 if it has none.
  const auto mean_ms = [&](const std::string& name, const std::string& labels) {
    const auto sum = samples.find(name + "_sum" + labels);
    const auto count = samples.find(name + "_count" + labels);
    if (sum == samples.end() || count == samples.end() || count->second <= 0)
      return 0.0;
    return 1e3 * sum->second / count->second;
  };
  auto& b = r->broker_accept;
  const std::string stage = "relais_accept_stage_seconds";
  b.total_ms = mean_ms("relais_accept_latency_seconds", "");
  b.ingress_ms = mean_ms(stage, "{stage=\"ingress\"}");
  b.journal_queue_ms = mean_ms(stage, "{stage=\"journal_queue\"}");
  b.journal_batch_ms = mean_ms(stage, "{stage=\"journal_batch\"}");
  b.journal_write_ms = mean_ms("relais_journal_write_seconds", "");
}

// The receivers of message i: (i + j) mod R for j < K.
std::vector<uint32_t> RecipientsOf(const LoadOptions& o, uint64_t i) {
  std::vector<uint32_t> out;
  for (uint32_t j = 0; j < o.recipients_per_message; ++j) {
    out.push_back(static_cast<uint32_t>((i + j) % o.receivers));
  }
  return out;
}

// Open loop: message i's moment, kept whatever happens (a message sent
// late counts from when it should have left). 0 in closed loop.
int64_t Scheduled(const LoadOptions& o, int64_t start, uint64_t i) {
  if (o.rate <= 0) return 0;
  return start + static_cast<int64_t>(1e9 * static_cast<double>(i) / o.rate);
}

void SleepUntil(int64_t ns) {
  const int64_t now = NowNs();
  if (ns > now) std::this_thread::sleep_for(std::chrono::nanoseconds(ns - now));
}

// Sender number `s` of the run: messages s, s + S, s + 2S, ...; `start` is
// the run's start, shared by every sender so that the open loop's moments
// interleave. Through the SDK's SubmitDraftAsync: signed one by one, or
// with --batch-seal N by the SDK's sealer, in batches of up to N drafts
// (those that come while the previous batch is on its way).
void Send(const LoadOptions& o, uint32_t s, int64_t start, sdk::Client* sender,
          RunState* st) {
  for (uint64_t i = s; i < o.messages; i += o.senders) {
    const int64_t scheduled = Scheduled(o, start, i);
    SleepUntil(scheduled);
    {
      std::unique_lock<std::mutex> lock(st->mu);
      st->cv.wait(lock, [&] { return st->in_flight[s] < o.in_flight; });
      ++st->in_flight[s];
    }
    EnvelopeDraft d;
    d.case_type = wire::CaseType::AssistedCase;
    d.encoding = wire::PayloadEncoding::Opaque;
    for (uint32_t r : RecipientsOf(o, i)) {
      d.recipients.push_back(deploy::BenchReceiver(r));
    }
    d.message_id = st->nonce;
    PutBigEndian64(&d.message_id, i);
    d.case_id = "bench-" + HexEncode(st->nonce) + "-" + std::to_string(i);
    const int64_t submitted = scheduled > 0 ? scheduled : NowNs();
    PutBigEndian64(&d.payload, static_cast<uint64_t>(submitted));
    d.payload.resize(std::max<size_t>(o.payload_bytes, 8), 'x');
    st->submitted_ns[i].store(submitted, std::memory_order_relaxed);
    sender->SubmitDraftAsync(
        std::move(d),
        [st, i, s](Result<sdk::Receipt> r) {
          const int64_t at = NowNs();
          if (r.ok()) {
            st->accept_ms[i] =
                (at - st->submitted_ns[i].load(std::memory_order_relaxed)) /
                1e6;
            st->accepted.fetch_add(1);
            st->last_accept_ns.store(at);
          } else {
            st->rejected.fetch_add(1);
          }
          std::lock_guard<std::mutex> lock(st->mu);
          if (!r.ok() && st->first_rejection.empty())
            st->first_rejection = r.status().ToString();
          --st->in_flight[s];
          st->cv.notify_all();
        },
        std::chrono::hours(1));
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
          (st.InFlight() == 0 &&
           st.accepted.load() + st.rejected.load() >= o.messages)) {
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Distinct deliveries handled so far, over every receiver.
uint64_t Handled(
    const std::vector<std::unique_ptr<ReceiverProcess>>& receivers) {
  uint64_t n = 0;
  for (const auto& r : receivers) n += r->Handled();
  return n;
}

// Until every delivery of what was accepted was handled, or no progress
// for drain_timeout_s.
void WaitDrained(
    const LoadOptions& o, const RunState& st,
    const std::vector<std::unique_ptr<ReceiverProcess>>& receivers) {
  uint64_t last = 0;
  auto last_progress = SteadyClock::now();
  for (;;) {
    const uint64_t handled = Handled(receivers);
    if (handled >= st.accepted.load() * o.recipients_per_message) return;
    if (handled != last) {
      last = handled;
      last_progress = SteadyClock::now();
    } else if (SteadyClock::now() - last_progress >
               std::chrono::seconds(o.drain_timeout_s)) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The run's figures from what the senders saw and each receiver recorded
// (tallies[r] is receiver r's).
void Tally(const LoadOptions& o, const RunState& st,
           const std::vector<ReceiverTally>& tallies, int64_t start_ns,
           int64_t drain_start_ns, LoadReport* out) {
  LoadReport& r = *out;
  r.messages = o.messages;
  r.accepted = st.accepted.load();
  r.rejected = st.rejected.load();
  r.first_rejection = st.first_rejection;
  r.backlog = o.backlog;
  r.offered_rate = o.rate;
  r.senders = o.senders;
  r.receivers = o.receivers;
  r.recipients_per_message = o.recipients_per_message;
  r.batch_seal = o.batch_seal;
  std::vector<double> acc, e2e;
  int64_t last_delivery_ns = start_ns;
  // seen[r][i]: receiver r handled message i.
  std::vector<std::vector<bool>> seen(tallies.size(),
                                      std::vector<bool>(o.messages, false));
  for (size_t rx = 0; rx < tallies.size(); ++rx) {
    r.duplicates += tallies[rx].duplicates;
    for (const auto& h : tallies[rx].handled) {
      if (h.index >= o.messages || seen[rx][h.index]) continue;
      seen[rx][h.index] = true;
      ++r.delivered;
      e2e.push_back((h.handled_ns - h.submitted_ns) / 1e6);
      last_delivery_ns = std::max(last_delivery_ns, h.handled_ns);
    }
  }
  // Lost: accepted (a receipt came back) and never handled by one of its
  // recipients.
  for (uint64_t i = 0; i < o.messages; ++i) {
    if (st.accept_ms[i] < 0) continue;
    acc.push_back(st.accept_ms[i]);
    for (uint32_t rx : RecipientsOf(o, i)) {
      if (rx >= seen.size() || !seen[rx][i]) ++r.lost;
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
  double acc_sum = 0;
  for (double ms : acc) acc_sum += ms;
  r.accept_mean_ms =
      acc.empty() ? 0 : acc_sum / static_cast<double>(acc.size());
  r.accept_p50_ms = Percentile(acc, 0.50);
  r.accept_p99_ms = Percentile(acc, 0.99);
  r.e2e_p50_ms = Percentile(e2e, 0.50);
  r.e2e_p99_ms = Percentile(e2e, 0.99);
}

// Starts every receiving process (in parallel: each waits to connect).
Status StartReceivers(
    const std::vector<std::unique_ptr<ReceiverProcess>>& receivers) {
  std::vector<Status> results(receivers.size());
  std::vector<std::thread> starting;
  for (size_t i = 0; i < receivers.size(); ++i) {
    starting.emplace_back([&, i] { results[i] = receivers[i]->Start(); });
  }
  for (auto& t : starting) t.join();
  for (const auto& st : results) RELAIS_RETURN_IF_ERROR(st);
  return Status::OK();
}

Status CheckOptions(const LoadOptions& o) {
  if (!o.broker.empty() && o.kill_broker > 0) {
    return Status::InvalidArgument(
        "--kill-broker needs relais-bench's own "
        "relaisd (no --broker)");
  }
  if (o.backlog > o.messages) {
    return Status::InvalidArgument("--backlog cannot exceed --messages");
  }
  if (o.senders == 0 || o.receivers == 0 || o.recipients_per_message == 0 ||
      o.recipients_per_message > o.receivers) {
    return Status::InvalidArgument(
        "--senders and --receivers must be at least 1, and "
        "--recipients-per-message between 1 and --receivers");
  }
  return Status::OK();
}

// The sending clients, connected; their local stores' folders in `states`.
Result<std::vector<std::unique_ptr<sdk::Client>>> StartSenders(
    const LoadOptions& o, const Target& target,
    std::vector<std::string>* states) {
  std::vector<std::unique_ptr<sdk::Client>> senders;
  for (uint32_t s = 0; s < o.senders; ++s) {
    RELAIS_ASSIGN_OR_RETURN(
        sdk::ClientOptions so,
        BenchClient(target.dir, o.broker, deploy::BenchSender(s), ::getpid()));
    so.window = 0;
    so.batch_seal_max = o.batch_seal;
    so.batch_seal_window = std::chrono::microseconds(
        static_cast<int64_t>(o.batch_window_ms * 1000));
    states->push_back(so.state_dir);
    RELAIS_ASSIGN_OR_RETURN(auto sender, sdk::Client::Start(std::move(so)));
    RELAIS_RETURN_IF_ERROR(sender->WaitConnected(std::chrono::seconds(30)));
    senders.push_back(std::move(sender));
  }
  return senders;
}

// Stops every receiver and reads what its store says; the stores' folders
// in `states`.
Result<std::vector<ReceiverTally>> StopAndTally(
    const Target& target,
    const std::vector<std::unique_ptr<ReceiverProcess>>& receivers,
    std::vector<std::string>* states) {
  std::vector<ReceiverTally> tallies;
  for (const auto& receiver : receivers) {
    receiver->Stop();
    states->push_back(deploy::StackLayout(target.dir)
                          .ParticipantDir(receiver->participant()) +
                      "/state/bench-" + std::to_string(::getpid()));
    RELAIS_ASSIGN_OR_RETURN(ReceiverTally tally,
                            ReadReceiverStore(states->back()));
    tallies.push_back(std::move(tally));
  }
  return tallies;
}

// Removes the run's local stores (`states`); with relais-bench's own
// relaisd, notes its peak RSS in `r`, stops it and removes its folder.
void CleanUp(Target* target, const std::vector<std::string>& states,
             LoadReport* r) {
  std::error_code ec;
  for (const auto& dir : states) fs::remove_all(dir, ec);
  if (target->owned) {
    target->NoteRss();
    r->broker_peak_rss_mb = target->peak_rss_mb;
    target->broker.Stop();
    fs::remove_all(target->dir, ec);
  }
}

}  // namespace

Result<LoadReport> RunLoad(const LoadOptions& o) {
  RELAIS_RETURN_IF_ERROR(CheckOptions(o));
  RELAIS_ASSIGN_OR_RETURN(Target target, PrepareTarget(o));
  const uint64_t seed = o.seed ? o.seed : std::random_device{}();
  std::mt19937_64 rng(seed);
  RunState st(o.messages, o.senders);
  RELAIS_ASSIGN_OR_RETURN(st.nonce, crypto::RandomBytes(8));
  std::vector<std::string> sender_states;
  RELAIS_ASSIGN_OR_RETURN(auto senders,
                          StartSenders(o, target, &sender_states));
  // Before any traffic, beside the first sender's store (same disk).
  RELAIS_ASSIGN_OR_RETURN(
      MachineCosts machine,
      MeasureMachine(o.payload_bytes, o.batch_seal, o.recipients_per_message,
                     sender_states.front() + "-machine"));
  std::vector<std::unique_ptr<ReceiverProcess>> receivers;
  for (uint32_t r = 0; r < o.receivers; ++r) {
    receivers.push_back(std::make_unique<ReceiverProcess>(
        o, target.dir, deploy::BenchReceiver(r), HexEncode(st.nonce)));
  }
  if (o.backlog == 0) RELAIS_RETURN_IF_ERROR(StartReceivers(receivers));

  const int64_t start_ns = NowNs();
  Killer broker_killer(
      o.kill_broker, o.messages, [&] { return st.accepted.load(); },
      [&] { return target.KillAndRestart(); }, &rng);
  std::vector<std::thread> sending;
  for (uint32_t s = 0; s < o.senders; ++s) {
    sending.emplace_back(
        [&, s] { Send(o, s, start_ns, senders[s].get(), &st); });
  }
  int64_t drain_start_ns = start_ns;
  Status receiver_status;
  if (o.backlog > 0) {
    WaitForBacklog(o, st);
    drain_start_ns = NowNs();
    receiver_status = StartReceivers(receivers);
  }
  // Receivers are killed in turn: the first kill hits receiver 0, the
  // next receiver 1, and so on.
  uint32_t next_victim = 0;
  Killer receiver_killer(
      receiver_status.ok() ? o.kill_receiver : 0,
      o.messages * o.recipients_per_message, [&] { return Handled(receivers); },
      [&] {
        return receivers[next_victim++ % receivers.size()]->KillAndRestart();
      },
      &rng);
  for (auto& t : sending) t.join();
  {
    std::unique_lock<std::mutex> lock(st.mu);
    st.cv.wait(lock, [&] { return st.InFlight() == 0; });
  }
  RELAIS_RETURN_IF_ERROR(receiver_status);
  WaitDrained(o, st, receivers);
  broker_killer.Stop();
  receiver_killer.Stop();
  RELAIS_RETURN_IF_ERROR(broker_killer.status());
  RELAIS_RETURN_IF_ERROR(receiver_killer.status());
  std::this_thread::sleep_for(
      std::chrono::milliseconds(200));  // late duplicates
  for (auto& sender : senders) sender->Stop();
  LoadReport r;
  ReadJournalStats(target.dir, o.broker, &r);
  ReadBrokerAccept(target.dir, &r);
  std::vector<std::string> receiver_states;
  RELAIS_ASSIGN_OR_RETURN(auto tallies,
                          StopAndTally(target, receivers, &receiver_states));

  Tally(o, st, tallies, start_ns, drain_start_ns, &r);
  r.machine = machine;
  r.broker_kills = broker_killer.kills();
  r.receiver_kills = receiver_killer.kills();
  r.seed = seed;
  sender_states.insert(sender_states.end(), receiver_states.begin(),
                       receiver_states.end());
  CleanUp(&target, sender_states, &r);
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
      {"accept_mean_ms", accept_mean_ms},
      {"accept_p50_ms", accept_p50_ms},
      {"accept_p99_ms", accept_p99_ms},
      {"e2e_p50_ms", e2e_p50_ms},
      {"e2e_p99_ms", e2e_p99_ms},
      {"broker_peak_rss_mb", broker_peak_rss_mb < 0
                                 ? nlohmann::json()
                                 : nlohmann::json(broker_peak_rss_mb)},
      {"rejected", rejected},
      {"seconds", seconds},
      {"seed", seed},
      {"senders", senders},
      {"receivers", receivers},
      {"recipients_per_message", recipients_per_message},
      {"batch_seal", batch_seal}};
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
    j["journal_syncs"] = journal_syncs;
    j["submits_per_sync"] = SubmitsPerSync();
    j["journal_largest_batch"] = journal_largest_batch;
  }
  if (broker_accept.total_ms > 0) {
    j["broker_accept_ms"] = {{"mean", broker_accept.total_ms},
                             {"ingress", broker_accept.ingress_ms},
                             {"journal_queue", broker_accept.journal_queue_ms},
                             {"journal_batch", broker_accept.journal_batch_ms},
                             {"journal_write", broker_accept.journal_write_ms}};
  }
  if (!first_rejection.empty()) j["first_rejection"] = first_rejection;
  j["machine"] = machine.ToJson();
  j["of_bound"] = OfBound();
  return j;
}

namespace {

// The machine's bound and costs, and this run's share of the bound.
std::string MachineText(const MachineCosts& machine, double of_bound) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "\nmachine bound: %.0f msg/s = %u cores / (seal %.1f us + %u "
                "x open %.1f us per envelope), measured here before the run; "
                "this run end to end: %.2f of it\n"
                "latency floor: %.2f ms (3 synced writes of %.2f ms, a seal "
                "and 2 opens)\n"
                "kernel, in CPU: a system call %.2f us, a page touched first "
                "%.2f us, an fdatasync %.0f us",
                machine.BoundMsgsPerS(), machine.cores, machine.seal_us,
                1 + machine.recipients_per_message, machine.open_us, of_bound,
                machine.LatencyFloorMs(), machine.synced_write_ms,
                machine.syscall_us, machine.page_fault_us,
                machine.fsync_cpu_us);
  return buf;
}

}  // namespace

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
  if (senders > 1 || receivers > 1 || recipients_per_message > 1) {
    std::snprintf(buf, sizeof buf,
                  "\n%u senders, %u receivers, %u recipients per message "
                  "(delivered counts each recipient's copy)",
                  senders, receivers, recipients_per_message);
    out += buf;
  }
  if (batch_seal > 0) {
    out += "\nbatch-sealed: up to " + std::to_string(batch_seal) +
           " envelopes per signature";
  }
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
                  "\ngroup commit: %.1f submits per sync on average (%.1f "
                  "per batch), %llu in a batch at most (since relaisd's "
                  "last start)",
                  SubmitsPerSync(), double(journal_submits) / journal_batches,
                  (unsigned long long)journal_largest_batch);
    out += buf;
  }
  if (broker_accept.total_ms > 0) {
    std::snprintf(buf, sizeof buf,
                  "\nmean accept %.2f ms, of which in the broker %.2f ms = "
                  "ingress %.2f + journal queue %.2f + its batch %.2f (a "
                  "synced write: %.2f ms; since relaisd's last start)",
                  accept_mean_ms, broker_accept.total_ms,
                  broker_accept.ingress_ms, broker_accept.journal_queue_ms,
                  broker_accept.journal_batch_ms,
                  broker_accept.journal_write_ms);
    out += buf;
  }
  if (receiver_kills > 0) {
    out += "\nreceiver SIGKILLed and restarted " +
           std::to_string(receiver_kills) + " times (seed " +
           std::to_string(seed) + ")";
  }
  out += MachineText(machine, OfBound());
  if (!first_rejection.empty()) out += "\nfirst rejection: " + first_rejection;
  return out;
}

double LoadReport::OfBound() const {
  const double bound = machine.BoundMsgsPerS();
  if (bound <= 0 || recipients_per_message == 0) return 0;
  return msgs_per_s / recipients_per_message / bound;
}

}  // namespace relais::bench
