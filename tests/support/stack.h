#pragma once

// A real relais stack for integration tests: a provisioned temporary
// folder, relaisd (and adapters) as child processes on 127.0.0.1 with port
// 0, SDK clients for any participant, and a raw DEALER for hand-made
// frames. Everything stops and the folder is removed at destruction (set
// RELAIS_KEEP_TEST_DIRS=1 to keep it).

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "adapters/sdk/client.h"
#include "core/keys.h"
#include "deploy/lib/process.h"
#include "deploy/lib/provision.h"
#include "schemas/frames_generated.h"

namespace relais::testing {

class TestStack {
 public:
  // Provisions the stack in spec.dir, or in a new temporary folder if it
  // is empty.
  explicit TestStack(deploy::StackSpec spec = {});
  ~TestStack();

  const deploy::StackLayout& layout() const { return layout_; }
  const std::string& dir() const { return layout_.dir(); }

  // Starts relaisd and waits for it to listen. The first start binds a free
  // port; later starts reuse it, so connected clients find the broker again
  // (trying again for up to 20 s while something else briefly holds it).
  // `env` ("NAME=value") is added to its environment.
  Status StartBroker(const std::vector<std::string>& env = {});
  // StartBroker in two steps: start it, then wait until it listens (or
  // Unavailable, with its log, if it exited or did not within `timeout`).
  Status LaunchBroker(const std::vector<std::string>& env = {});
  Status WaitBrokerReady(std::chrono::milliseconds timeout);
  // SIGKILL: no shutdown, no flush.
  void KillBroker();
  // SIGTERM and wait; returns the exit status.
  int StopBroker();
  bool BrokerRunning();
  // Starts relaisd, expecting it to stop by itself (e.g. it refuses a
  // damaged journal), and waits up to `timeout`. Returns its exit status,
  // with what it printed in `*output` (this run only); Timeout if it was
  // still running (it is then killed). Does not change endpoint().
  Result<int> RunBrokerUntilExit(std::chrono::milliseconds timeout,
                                 std::string* output);
  std::string endpoint() const { return endpoint_; }
  pid_t broker_pid() const { return broker_.pid(); }

  // Starts `agency`'s adapter and waits until it is connected and serves
  // its folders (its log says "<agency> adapter ready: ..."); Unavailable,
  // with its log, if it exited first or is not ready within 20 s. A test
  // never stops a process that has not said it is ready.
  Status StartAdapter(const std::string& agency,
                      const std::vector<std::string>& env = {});
  // Starts it without waiting (it may wait for disk space, or be meant to
  // die at a crash point before it is ready).
  Status LaunchAdapter(const std::string& agency,
                       const std::vector<std::string>& env = {});
  bool AdapterRunning(const std::string& agency);
  // The adapter's exit status once it stopped by itself (or died) within
  // `timeout`; -1 if it is still running.
  int WaitAdapter(const std::string& agency, std::chrono::milliseconds timeout);
  void KillAdapter(const std::string& agency);
  int StopAdapter(const std::string& agency);

  // An SDK client for `participant` (window 0 unless a handler is given);
  // `adjust`, if given, changes its options last.
  Result<std::unique_ptr<sdk::Client>> Connect(
      const std::string& participant, sdk::DeliveryHandler handler = nullptr,
      uint32_t window = 64,
      const std::function<void(sdk::ClientOptions*)>& adjust = nullptr);
  // `participant`'s secret identity.
  Identity IdentityOf(const std::string& participant) const;
  std::string BrokerCurvePublic() const;
  // The broker log so far (for failure messages).
  std::string BrokerLog() const;
  // Where relaisd's and the adapters' output go: the stack's folder unless
  // set_log_dir gave another (one that does not fill up with the stack's).
  std::string BrokerLogPath() const;
  // "<log file>: <what>" for each piece of SamplePersonalData() found in
  // relaisd's log or an adapter's: none is the promise of
  // docs/OPERATIONS.md ("No personal data in logs").
  std::vector<std::string> PersonalDataInLogs() const;
  std::string AdapterLogPath(const std::string& agency) const;
  void set_log_dir(std::string dir) { log_dir_ = std::move(dir); }

 private:
  deploy::StackSpec spec_;
  deploy::StackLayout layout_;
  std::string endpoint_;
  std::string log_dir_;
  deploy::ChildProcess broker_;
  std::map<std::string, deploy::ChildProcess> adapters_;
};

// A DEALER speaking CURVE with any keys, for frames the SDK would never
// send. Not thread-safe.
class RawClient {
 public:
  RawClient(const std::string& endpoint, const std::string& broker_public,
            const crypto::CurveKeyPair& keys);
  // Sends one frame (one ZeroMQ message part).
  void Send(std::string_view frame);
  // The next frame within `timeout`, or nullopt.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout);
  // The next frame whose body type is `type` (others are skipped).
  std::optional<std::string> ReceiveType(wire::Body type,
                                         std::chrono::milliseconds timeout);
  // The next frame that parses and satisfies `match`, or nullopt after
  // `timeout`; every other frame received meanwhile is appended to
  // `skipped` (if not null).
  std::optional<std::string> ReceiveMatching(
      const std::function<bool(const wire::Frame&)>& match,
      std::chrono::milliseconds timeout,
      std::vector<std::string>* skipped = nullptr);

 private:
  zmq::context_t ctx_;
  zmq::socket_t socket_;
};

// The code of a Rejected frame; None for any other frame or for nothing.
wire::RejectCode CodeOf(const std::optional<std::string>& frame);

// Sends `envelope` on `raw` as Submit request `request` and returns the
// answer to it (an Accepted or Rejected frame), or nullopt after `timeout`.
std::optional<std::string> SubmitRaw(RawClient& raw, uint64_t request,
                                     const SealedEnvelope& envelope,
                                     std::chrono::milliseconds timeout);

// A handler that counts deliveries by message id (and keeps the latest
// payload of each). Thread-safe.
class DeliveryCounter {
 public:
  sdk::DeliveryHandler Handler();
  int count(const std::string& message_id);
  std::string payload(const std::string& message_id);
  // The message ids handled so far, in id order.
  std::vector<std::string> ids();

 private:
  std::mutex mu_;
  std::map<std::string, int> seen_;              // guarded by mu_
  std::map<std::string, std::string> payloads_;  // guarded by mu_
};

// Polls `predicate` every 20 ms until true or `timeout`; returns its last
// value.
bool WaitUntil(const std::function<bool()>& predicate,
               std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Has a fresh message from `sender` to `recipient` accepted (the sample
// address change, in a case of its own) and returns its message id. The
// broker hands a recipient's queue over in sequence order, on one
// connection, and a new connection (a reconnect, a broker restart) starts
// again from the oldest unacknowledged entry: once the recipient has
// handled this marker, everything queued for it before the marker (a
// duplicate, a message that must not be there) has been handed over too.
// Proof that something did not arrive, without waiting for a time.
Result<std::string> SubmitMarker(sdk::Client& sender,
                                 const std::string& recipient);

// Sends a Heartbeat with `request_id` on `raw` and returns every other
// frame received before the broker's answer to it; nullopt if no answer
// within `timeout`. The broker handles a connection's frames in order and
// sends what each one causes before it reads the next, so the answer
// proves that nothing the frames sent before it caused is still to come.
std::optional<std::vector<std::string>> FramesBeforeHeartbeat(
    RawClient& raw, uint64_t request_id,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The personal data of deploy/samples/ and the tests' own cases: NIRs (15
// and 13 characters), numéros fiscaux, names, addresses, e-mails, phones.
const std::vector<std::string>& SamplePersonalData();

// Runs `relais ARGS...` (the CLI of this build) and returns its exit code
// and output (stdout and stderr).
std::pair<int, std::string> RunCli(const TestStack& stack,
                                   std::vector<std::string> args);
// Runs `argv` to its end (killed after 30 s: exit code -1) and returns its
// exit code and output, kept in the stack's folder.
std::pair<int, std::string> RunToEnd(const TestStack& stack,
                                     const std::vector<std::string>& argv);

}  // namespace relais::testing
