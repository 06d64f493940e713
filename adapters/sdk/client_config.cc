#include "adapters/sdk/client_config.h"

#include <filesystem>
#include <thread>

#include "core/files.h"
#include "core/ids.h"
#include "core/subject.h"
#include "core/toml_file.h"

namespace relais::sdk {

namespace fs = std::filesystem;

std::string ResolvePath(const std::string& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base) / p).lexically_normal().string();
}

namespace {

Result<std::string> ReadEndpointFile(const std::string& path,
                                     std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto text = ReadFile(path, 4096);
    if (text.ok()) {
      std::string e = *text;
      while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
      if (!e.empty()) return e;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("no broker endpoint in " + path +
                                 " (is relaisd running?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// A participant's file (client.toml) or an adapter's (adapter.toml, which
// the CLI reads too): only the keys of both, and the text ones as text.
Status CheckParticipantKeys(const toml::table& t, const std::string& path) {
  RELAIS_RETURN_IF_ERROR(CheckKnownKeys(t,
                                        {"identity",
                                         "peers",
                                         "broker_keys",
                                         "broker_endpoint",
                                         "broker_endpoint_file",
                                         "subject_key",
                                         "state_dir",
                                         "window",
                                         "verify_threads",
                                         "batch_seal",
                                         "processed_retention_days",
                                         "inbox",
                                         "outbox",
                                         "done",
                                         "rejected",
                                         "status",
                                         "subjects",
                                         "poll_interval_ms",
                                         "http_listen",
                                         "http_endpoint_file",
                                         "metrics_listen",
                                         "metrics_endpoint_file"},
                                        path, "a participant's configuration"));
  for (const char* key :
       {"identity", "peers", "broker_keys", "broker_endpoint",
        "broker_endpoint_file", "subject_key", "state_dir", "inbox", "outbox",
        "done", "rejected", "status", "subjects", "http_listen",
        "http_endpoint_file", "metrics_listen", "metrics_endpoint_file"}) {
    RELAIS_RETURN_IF_ERROR(StringAt(t, key, "", path).status());
  }
  return Status::OK();
}

}  // namespace

Result<ParticipantConfig> LoadParticipantConfig(
    const std::string& path, std::chrono::milliseconds wait) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4 << 20));
  return ParseParticipantConfig(text, path, wait);
}

Result<ParticipantConfig> ParseParticipantConfig(
    const std::string& text, const std::string& path,
    std::chrono::milliseconds wait) {
  RELAIS_ASSIGN_OR_RETURN(ParticipantConfig c,
                          ParseParticipantFile(text, path));
  RELAIS_RETURN_IF_ERROR(ReadBrokerEndpoint(&c, path, wait));
  return c;
}

Status ReadBrokerEndpoint(ParticipantConfig* c, const std::string& path,
                          std::chrono::milliseconds wait) {
  if (c->endpoint_file.empty()) return Status::OK();
  RELAIS_ASSIGN_OR_RETURN(c->client.endpoint,
                          ReadEndpointFile(c->endpoint_file, wait));
  return CheckTcpEndpoint(
      c->client.endpoint, false,
      path + ": the endpoint in broker_endpoint_file " + c->endpoint_file);
}

Result<ParticipantConfig> ParseParticipantFile(const std::string& text,
                                               const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(toml::table t, ParseToml(text, path));
  RELAIS_RETURN_IF_ERROR(CheckParticipantKeys(t, path));
  ParticipantConfig c;
  RELAIS_ASSIGN_OR_RETURN(int64_t window,
                          IntegerAt(t, "window", 64, 0, 65536, path));
  c.client.window = static_cast<uint32_t>(window);
  RELAIS_ASSIGN_OR_RETURN(int64_t verify_threads,
                          IntegerAt(t, "verify_threads", 0, 0, 64, path));
  c.client.verify_threads = static_cast<uint32_t>(verify_threads);
  RELAIS_ASSIGN_OR_RETURN(int64_t batch_seal,
                          IntegerAt(t, "batch_seal", 0, 0, 65536, path));
  c.client.batch_seal_max = static_cast<uint32_t>(batch_seal);
  RELAIS_ASSIGN_OR_RETURN(
      int64_t retention_days,
      IntegerAt(t, "processed_retention_days",
                c.client.processed_retention.count() / 24, 1, 3650, path));
  c.base_dir = fs::absolute(fs::path(path)).parent_path().string();
  const auto get = [&](const char* key) {
    return ResolvePath(c.base_dir, t[key].value_or(std::string()));
  };
  const std::string identity = get("identity");
  const std::string peers = get("peers");
  const std::string broker_keys = get("broker_keys");
  if (identity.empty() || broker_keys.empty()) {
    return Status::InvalidArgument(path +
                                   ": needs 'identity' and 'broker_keys'");
  }
  RELAIS_ASSIGN_OR_RETURN(c.client.identity, LoadIdentityFile(identity));
  RELAIS_ASSIGN_OR_RETURN(PublicIdentity broker,
                          LoadPublicIdentityFile(broker_keys));
  c.client.broker_public_key = broker.curve_public_z85;
  if (!peers.empty()) {
    RELAIS_ASSIGN_OR_RETURN(c.client.peers, KeyDirectory::LoadDir(peers));
  }
  c.client.endpoint = t["broker_endpoint"].value_or(std::string());
  if (!c.client.endpoint.empty() &&
      !t["broker_endpoint_file"].value_or(std::string()).empty()) {
    return Status::InvalidArgument(
        path +
        ": has both 'broker_endpoint' and 'broker_endpoint_file': keep one");
  }
  if (c.client.endpoint.empty()) {
    c.endpoint_file = get("broker_endpoint_file");
    if (c.endpoint_file.empty()) {
      return Status::InvalidArgument(
          path + ": needs 'broker_endpoint' or 'broker_endpoint_file'");
    }
  } else {
    RELAIS_RETURN_IF_ERROR(
        CheckTcpEndpoint(c.client.endpoint, false, path + ": broker_endpoint"));
  }
  c.client.state_dir = get("state_dir");

  c.client.processed_retention = std::chrono::hours(24 * retention_days);
  const std::string subject = get("subject_key");
  if (!subject.empty()) {
    RELAIS_ASSIGN_OR_RETURN(c.subject_key, LoadSubjectKey(subject));
  }
  return c;
}

}  // namespace relais::sdk
