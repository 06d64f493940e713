#pragma once

// Provisioning of a local relais stack in one folder: keys for every
// participant, the subject key, relaisd's configuration with the
// development routes, and one configuration per participant. Used by
// `relais provision` (and so by deploy/up.sh), by the integration tests and
// by relais-bench, so that all of them run the same stack.
//
// Layout under `dir`:
//   relaisd.toml, relaisd.endpoint (written by relaisd), journal/
//   .provisioned                the SHA-256 of each configuration file as
//                               provisioning wrote it
//   keys/<id>.pub.toml          public identities (the trust store)
//   secrets/<id>.key.toml       secret identities (0600), subject.key
//   <id>/client.toml            for the CLI and SDK clients
//   <id>/adapter.toml, inbox/, outbox/, done/, rejected/, state/
// where <id> is the participant id with '/' replaced by '_'.

#include <iterator>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/status.h"

namespace relais::deploy {

inline const std::vector<std::string> kAgencies(std::begin(kAgencyIds),
                                                std::end(kAgencyIds));
inline constexpr char kDefaultDesk[] = "france-services/paris-15";
inline constexpr char kBrokerId[] = "relais";
inline constexpr char kDefaultOperator[] = "operator";

// relais-bench's participants: bench-sender, bench-sender-2, ... and
// bench-receiver, bench-receiver-2, ... (i counts from 0).
inline std::string BenchSender(size_t i) {
  return i == 0 ? "bench-sender" : "bench-sender-" + std::to_string(i + 1);
}
inline std::string BenchReceiver(size_t i) {
  return i == 0 ? "bench-receiver" : "bench-receiver-" + std::to_string(i + 1);
}
inline std::vector<std::string> BenchParticipants(size_t senders,
                                                  size_t receivers) {
  std::vector<std::string> out;
  for (size_t i = 0; i < senders; ++i) out.push_back(BenchSender(i));
  for (size_t i = 0; i < receivers; ++i) out.push_back(BenchReceiver(i));
  return out;
}

struct StackSpec {
  std::string dir;
  // Where relaisd listens; port 0 picks a free port. Default: loopback, 0.
  std::string listen = "tcp://127.0.0.1:0";
  std::vector<std::string> agencies = kAgencies;
  // A France services site that opens cases.
  std::string desk = kDefaultDesk;
  // An operator (role "operator": dead letters, stats); empty for none.
  std::string operator_id = kDefaultOperator;
  // More participants (e.g. for benchmarks), allowed every case type to
  // each other.
  std::vector<std::string> extra_participants;
  int key_validity_days = 365;
  // Extra lines appended to [broker] in relaisd.toml (e.g. limits).
  std::string broker_extra;
  // A configuration file changed since provisioning wrote it (its SHA-256
  // is kept in `.provisioned`) is left as it is, not rewritten: what a
  // person edited is not lost by provisioning again (`relais provision`).
  // Without it every configuration file is rewritten (the tests change
  // the spec and provision again).
  bool keep_edited_files = false;
};

class StackLayout {
 public:
  explicit StackLayout(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string BrokerConfig() const { return dir_ + "/relaisd.toml"; }
  std::string EndpointFile() const { return dir_ + "/relaisd.endpoint"; }
  // "http://127.0.0.1:PORT/metrics", written by relaisd once serving it.
  std::string MetricsFile() const { return dir_ + "/relaisd.metrics"; }
  std::string JournalDir() const { return dir_ + "/journal"; }
  std::string KeysDir() const { return dir_ + "/keys"; }
  std::string SecretsDir() const { return dir_ + "/secrets"; }
  std::string SubjectKey() const { return SecretsDir() + "/subject.key"; }
  std::string IdentityFile(const std::string& participant) const;
  std::string PublicFile(const std::string& participant) const;
  std::string ParticipantDir(const std::string& participant) const;
  std::string ClientConfig(const std::string& participant) const;
  std::string AdapterConfig(const std::string& participant) const;
  std::string Inbox(const std::string& participant) const;
  std::string Outbox(const std::string& participant) const;
  std::string Done(const std::string& participant) const;
  std::string Rejected(const std::string& participant) const;
  // Where the partner system drops status files (adapters/README.md).
  std::string StatusIn(const std::string& participant) const;
  // Where the partner system registers the citizens it holds a file on.
  std::string Subjects(const std::string& participant) const;
  // Written by an adapter with an HTTP endpoint (the CPAM's).
  std::string HttpEndpoint(const std::string& participant) const;
  // "http://127.0.0.1:PORT/metrics", written by the adapter once serving.
  std::string MetricsEndpoint(const std::string& participant) const;

 private:
  std::string dir_;
};

// Creates (or completes) the stack in spec.dir. Existing keys are kept, so
// provisioning again does not invalidate a running stack's keys;
// configuration files are rewritten, except those edited by hand when
// spec.keep_edited_files: their paths are added to `kept`.
Result<StackLayout> Provision(const StackSpec& spec,
                              std::vector<std::string>* kept = nullptr);

}  // namespace relais::deploy
