#include "tests/support/stack.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "adapters/sdk/client_config.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/frame.h"
#include "tests/support/fixtures.h"

namespace relais::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadEndpoint(const std::string& file) {
  auto text = ReadFile(file);
  if (!text.ok()) return {};
  std::string e = *text;
  while (!e.empty() && e.back() == '\n') e.pop_back();
  return e;
}

}  // namespace

std::optional<std::string> SubmitRaw(RawClient& raw, uint64_t request,
                                     const SealedEnvelope& envelope,
                                     std::chrono::milliseconds timeout) {
  raw.Send(SubmitFrame(request, envelope.bytes));
  return raw.ReceiveMatching(
      [request](const wire::Frame& f) {
        return f.request_id() == request &&
               (f.body_type() == wire::Body::Accepted ||
                f.body_type() == wire::Body::Rejected);
      },
      timeout);
}

sdk::DeliveryHandler DeliveryCounter::Handler() {
  return [this](const sdk::Delivery& d) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id(d.envelope->message_id);
    ++seen_[id];
    payloads_[id] = std::string(d.envelope->payload);
    return sdk::HandlerResult::Processed();
  };
}

int DeliveryCounter::count(const std::string& message_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = seen_.find(message_id);
  return it == seen_.end() ? 0 : it->second;
}

std::vector<std::string> DeliveryCounter::ids() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, n] : seen_) out.push_back(id);
  return out;
}

std::string DeliveryCounter::payload(const std::string& message_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = payloads_.find(message_id);
  return it == payloads_.end() ? std::string() : it->second;
}

bool WaitUntil(const std::function<bool()>& predicate,
               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TestStack::TestStack(deploy::StackSpec spec)
    : spec_(std::move(spec)), layout_("") {
  if (spec_.dir.empty()) {
    spec_.dir = MakeTestDir();
  } else {
    std::error_code ec;
    fs::create_directories(spec_.dir, ec);
  }
  auto layout = deploy::Provision(spec_);
  if (!layout.ok()) {
    std::fprintf(stderr, "provision: %s\n", layout.status().ToString().c_str());
    std::abort();
  }
  layout_ = *layout;
}

TestStack::~TestStack() {
  for (auto& [name, p] : adapters_) p.Stop(std::chrono::seconds(5));
  broker_.Stop(std::chrono::seconds(5));
  const char* keep = std::getenv("RELAIS_KEEP_TEST_DIRS");
  if (keep == nullptr || std::string(keep) != "1") {
    std::error_code ec;
    fs::remove_all(layout_.dir(), ec);
  }
}

Status TestStack::StartBroker(const std::vector<std::string>& env) {
  // A restart binds the port of the first start. While relaisd was down,
  // something else may hold it for a moment: on loopback, a client
  // reconnecting to that port can be given it as its own source port (a
  // TCP self-connect, dropped at the ZMTP handshake), or another test's
  // port-0 bind can land on it. relaisd then exits with "Address already
  // in use"; try again for a while before calling it a failure.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    const size_t logged = BrokerLog().size();
    RELAIS_RETURN_IF_ERROR(LaunchBroker(env));
    Status ready = WaitBrokerReady(std::chrono::seconds(20));
    if (ready.ok() || broker_.running() ||
        std::chrono::steady_clock::now() > deadline) {
      return ready;
    }
    const std::string log = BrokerLog();
    if (log.size() < logged ||
        log.find("Address already in use", logged) == std::string::npos) {
      return ready;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

Status TestStack::LaunchBroker(const std::vector<std::string>& env) {
  if (!endpoint_.empty() && spec_.listen != endpoint_) {
    spec_.listen = endpoint_;  // same port again for reconnecting clients
    RELAIS_RETURN_IF_ERROR(deploy::Provision(spec_).status());
  }
  std::error_code ec;
  fs::remove(layout_.EndpointFile(), ec);
  if (!fs::exists(deploy::BinDir() + "/relaisd", ec)) {
    return Status::NotFound("no relaisd in " + deploy::BinDir() +
                            ": set RELAIS_BIN_DIR to the build's bin folder "
                            "(ctest does)");
  }
  RELAIS_ASSIGN_OR_RETURN(
      broker_, deploy::ChildProcess::Start({deploy::BinDir() + "/relaisd",
                                            "--config", layout_.BrokerConfig()},
                                           BrokerLogPath(), true, env));
  return Status::OK();
}

Status TestStack::WaitBrokerReady(std::chrono::milliseconds timeout) {
  const bool up = WaitUntil(
      [&] {
        return !ReadEndpoint(layout_.EndpointFile()).empty() ||
               !broker_.running();
      },
      timeout);
  const std::string endpoint = ReadEndpoint(layout_.EndpointFile());
  if (!up || endpoint.empty()) {
    return Status::Unavailable("relaisd did not start:\n" + BrokerLog());
  }
  endpoint_ = endpoint;
  return Status::OK();
}

Result<int> TestStack::RunBrokerUntilExit(std::chrono::milliseconds timeout,
                                          std::string* output) {
  const std::string log = layout_.dir() + "/relaisd-exit.log";
  std::error_code ec;
  fs::remove(log, ec);
  RELAIS_ASSIGN_OR_RETURN(
      deploy::ChildProcess child,
      deploy::ChildProcess::Start(
          {deploy::BinDir() + "/relaisd", "--config", layout_.BrokerConfig()},
          log));
  const int status = child.Wait(timeout);
  if (status < 0) child.Kill();
  auto text = ReadFile(log);
  *output = text.ok() ? *text : std::string();
  if (status < 0) {
    return Status::Timeout("relaisd still running after " +
                           std::to_string(timeout.count()) + " ms:\n" +
                           *output);
  }
  return status;
}

void TestStack::KillBroker() { broker_.Kill(); }
int TestStack::StopBroker() { return broker_.Stop(); }
bool TestStack::BrokerRunning() { return broker_.running(); }

std::string TestStack::BrokerLog() const {
  auto log = ReadFile(BrokerLogPath());
  return log.ok() ? *log : std::string("(no log)");
}

Status TestStack::StartAdapter(const std::string& agency,
                               const std::vector<std::string>& env) {
  std::error_code ec;
  const auto from = fs::exists(AdapterLogPath(agency), ec)
                        ? fs::file_size(AdapterLogPath(agency), ec)
                        : 0;
  RELAIS_RETURN_IF_ERROR(LaunchAdapter(agency, env));
  const std::string ready = agency + " adapter ready: inbox";
  std::string log;
  const bool up = WaitUntil([&] {
    auto text = ReadFile(AdapterLogPath(agency), 16 << 20);
    log = text.ok() && text->size() >= from ? text->substr(from) : "";
    return log.find(ready) != std::string::npos || !adapters_[agency].running();
  });
  if (!up || log.find(ready) == std::string::npos) {
    return Status::Unavailable(agency + "'s adapter is not ready:\n" + log);
  }
  return Status::OK();
}

Status TestStack::LaunchAdapter(const std::string& agency,
                                const std::vector<std::string>& env) {
  RELAIS_ASSIGN_OR_RETURN(adapters_[agency],
                          deploy::ChildProcess::Start(
                              {deploy::BinDir() + "/relais-adapter-" + agency,
                               "--config", layout_.AdapterConfig(agency)},
                              AdapterLogPath(agency), true, env));
  return Status::OK();
}

std::string TestStack::BrokerLogPath() const {
  return (log_dir_.empty() ? layout_.dir() : log_dir_) + "/relaisd.log";
}

std::string TestStack::AdapterLogPath(const std::string& agency) const {
  return log_dir_.empty() ? layout_.ParticipantDir(agency) + "/adapter.log"
                          : log_dir_ + "/" + agency + "-adapter.log";
}

bool TestStack::AdapterRunning(const std::string& agency) {
  return adapters_[agency].running();
}

int TestStack::WaitAdapter(const std::string& agency,
                           std::chrono::milliseconds timeout) {
  return adapters_[agency].Wait(timeout);
}

void TestStack::KillAdapter(const std::string& agency) {
  adapters_[agency].Kill();
}
int TestStack::StopAdapter(const std::string& agency) {
  return adapters_[agency].Stop();
}

Result<std::unique_ptr<sdk::Client>> TestStack::Connect(
    const std::string& participant, sdk::DeliveryHandler handler,
    uint32_t window, const std::function<void(sdk::ClientOptions*)>& adjust) {
  RELAIS_ASSIGN_OR_RETURN(
      sdk::ParticipantConfig config,
      sdk::LoadParticipantConfig(layout_.ClientConfig(participant)));
  sdk::ClientOptions options = config.client;
  options.window = handler ? window : 0;
  options.resend_after = std::chrono::milliseconds(1000);
  // Senders keep no local store here: several may run at once (an adapter
  // holds the participant's own).
  options.state_dir =
      handler ? layout_.ParticipantDir(participant) + "/state/processed" : "";
  if (adjust) adjust(&options);
  return sdk::Client::Start(std::move(options), std::move(handler));
}

Identity TestStack::IdentityOf(const std::string& participant) const {
  auto id = LoadIdentityFile(layout_.IdentityFile(participant));
  if (!id.ok()) std::abort();
  return *id;
}

std::string TestStack::BrokerCurvePublic() const {
  auto pub = LoadPublicIdentityFile(layout_.PublicFile(deploy::kBrokerId));
  if (!pub.ok()) std::abort();
  return pub->curve_public_z85;
}

RawClient::RawClient(const std::string& endpoint,
                     const std::string& broker_public,
                     const crypto::CurveKeyPair& keys)
    : socket_(ctx_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::curve_serverkey, broker_public);
  socket_.set(zmq::sockopt::curve_publickey, keys.public_z85);
  socket_.set(zmq::sockopt::curve_secretkey, keys.secret_z85);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.connect(endpoint);
}

void RawClient::Send(std::string_view frame) {
  socket_.send(zmq::buffer(frame), zmq::send_flags::none);
}

std::optional<std::string> RawClient::Receive(
    std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
  zmq::message_t msg;
  if (!socket_.recv(msg, zmq::recv_flags::dontwait)) return std::nullopt;
  return msg.to_string();
}

std::optional<std::string> RawClient::ReceiveType(
    wire::Body type, std::chrono::milliseconds timeout) {
  return ReceiveMatching(
      [type](const wire::Frame& f) { return f.body_type() == type; }, timeout);
}

std::optional<std::string> RawClient::ReceiveMatching(
    const std::function<bool(const wire::Frame&)>& match,
    std::chrono::milliseconds timeout, std::vector<std::string>* skipped) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto frame = Receive(left);
    if (!frame) return std::nullopt;
    auto parsed = ParseFrame(*frame);
    if (parsed.ok() && match(**parsed)) return frame;
    if (skipped != nullptr) skipped->push_back(std::move(*frame));
  }
}

Result<std::string> SubmitMarker(sdk::Client& sender,
                                 const std::string& recipient) {
  RELAIS_ASSIGN_OR_RETURN(
      SealedEnvelope marker,
      sender.Seal(SampleDraft(sender.participant(), {recipient})));
  RELAIS_RETURN_IF_ERROR(
      sender.Submit(marker, std::chrono::seconds(10)).status());
  return marker.message_id;
}

std::optional<std::vector<std::string>> FramesBeforeHeartbeat(
    RawClient& raw, uint64_t request_id, std::chrono::milliseconds timeout) {
  raw.Send(HeartbeatFrame(request_id, Clock::System()->NowMs()));
  std::vector<std::string> before;
  const auto answer = raw.ReceiveMatching(
      [request_id](const wire::Frame& f) {
        return f.body_type() == wire::Body::Heartbeat &&
               f.request_id() == request_id;
      },
      timeout, &before);
  if (!answer) return std::nullopt;
  return before;
}

std::pair<int, std::string> RunCli(const TestStack& stack,
                                   std::vector<std::string> args) {
  const std::string out = stack.dir() + "/cli.out";
  args.insert(args.begin(), deploy::BinDir() + "/relais");
  std::remove(out.c_str());
  auto child = deploy::ChildProcess::Start(args, out);
  if (!child.ok()) return {-1, child.status().ToString()};
  const int code = child->Wait(std::chrono::seconds(30));
  auto text = ReadFile(out, 1 << 20);
  return {code, text.ok() ? *text : std::string()};
}

std::pair<int, std::string> RunToEnd(const TestStack& stack,
                                     const std::vector<std::string>& argv) {
  const std::string log = stack.dir() + "/run.log";
  std::remove(log.c_str());
  auto child = deploy::ChildProcess::Start(argv, log);
  if (!child.ok()) return {-1, child.status().ToString()};
  const int code = child->Wait(std::chrono::seconds(30));
  if (code < 0) child->Kill();
  auto text = ReadFile(log, 1 << 20);
  return {code, text.ok() ? *text : std::string()};
}

wire::RejectCode CodeOf(const std::optional<std::string>& frame) {
  if (!frame) return wire::RejectCode::None;
  auto f = ParseFrame(*frame);
  return f.ok() && (*f)->body_type() == wire::Body::Rejected
             ? (*f)->body_as_Rejected()->code()
             : wire::RejectCode::None;
}

const std::vector<std::string>& SamplePersonalData() {
  static const auto* data = [] {
    auto* d = new std::vector<std::string>{"+33612345678",
                                           "+33698765432",
                                           "12 rue des Lilas",
                                           "4 place du Marché",
                                           "Bâtiment B",
                                           "amina.diallo@example.org",
                                           "claire.martin@example.org",
                                           "jerome.lefevre@example.org",
                                           "Amina",
                                           "Camille",
                                           "Chloé",
                                           "Claire",
                                           "Jeanne",
                                           "Julien",
                                           "Karim",
                                           "Sofia",
                                           "Thi Huong",
                                           "Yanis",
                                           "Nadia",
                                           "BERNARD",
                                           "DIALLO",
                                           "DUBOIS",
                                           "GARCIA",
                                           "LEROY",
                                           "MARTIN",
                                           "MOREAU",
                                           "MOREL",
                                           "NGUYEN",
                                           "PETIT",
                                           "ROUSSEAU",
                                           "0123456789211",
                                           "1234567890066",
                                           "1456789012063",
                                           "2987654321330",
                                           "1920769123456",
                                           "2850375056012",
                                           "2930459350042"};
    for (const char* nir :
         {"175055935012347", "188063306304586", "188091305512360",
          "189126912304577", "192076912345699", "241034410908787",
          "279099935012346", "284057512345672", "290023306312387",
          "291071305521431"}) {
      d->push_back(nir);
      d->push_back(std::string(nir).substr(0, 13));
    }
    return d;
  }();
  return *data;
}

std::vector<std::string> TestStack::PersonalDataInLogs() const {
  std::vector<std::string> logs = {BrokerLogPath()};
  for (const auto& a : deploy::kAgencies) logs.push_back(AdapterLogPath(a));
  std::vector<std::string> hits;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (const std::string& log : logs) {
    auto text = ReadFile(log, 256 << 20);
    if (!text.ok()) continue;
    for (const std::string& needle : SamplePersonalData()) {
      // Numbers count as a whole run of digits, not inside a longer one.
      for (size_t at = text->find(needle); at != std::string::npos;
           at = text->find(needle, at + 1)) {
        const bool number = digit(needle.back());
        const size_t end = at + needle.size();
        if (number && ((at > 0 && digit((*text)[at - 1])) ||
                       (end < text->size() && digit((*text)[end])))) {
          continue;
        }
        hits.push_back(log + ": " + needle);
        break;
      }
    }
  }
  return hits;
}

}  // namespace relais::testing
