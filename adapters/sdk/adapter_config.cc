#include "adapters/sdk/adapter_config.h"

#include "core/files.h"
#include "core/metrics.h"
#include "core/toml_file.h"

namespace relais::sdk {

Result<AdapterConfig> LoadAdapterConfig(const std::string& path,
                                        std::chrono::milliseconds wait) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4 << 20));
  return ParseAdapterConfig(text, path, wait);
}

Result<AdapterConfig> ParseAdapterConfig(const std::string& text,
                                         const std::string& path,
                                         std::chrono::milliseconds wait) {
  AdapterConfig c;
  RELAIS_ASSIGN_OR_RETURN(c.participant,
                          ParseParticipantConfig(text, path, wait));
  RELAIS_ASSIGN_OR_RETURN(toml::table t, ParseToml(text, path));
  const std::string& base = c.participant.base_dir;
  c.inbox = ResolvePath(base, t["inbox"].value_or(std::string("inbox")));
  c.outbox = ResolvePath(base, t["outbox"].value_or(std::string("outbox")));
  c.done = ResolvePath(base, t["done"].value_or(std::string("done")));
  c.rejected =
      ResolvePath(base, t["rejected"].value_or(std::string("rejected")));
  c.status = ResolvePath(base, t["status"].value_or(std::string("status")));
  c.subjects =
      ResolvePath(base, t["subjects"].value_or(std::string("subjects")));
  RELAIS_ASSIGN_OR_RETURN(
      int64_t poll, IntegerAt(t, "poll_interval_ms", 200, 10, 60000, path));
  c.poll_interval_ms = static_cast<int>(poll);
  c.http_listen = t["http_listen"].value_or(std::string());
  c.http_endpoint_file =
      ResolvePath(base, t["http_endpoint_file"].value_or(std::string()));
  c.metrics_listen = t["metrics_listen"].value_or(std::string());
  RELAIS_RETURN_IF_ERROR(
      metrics::CheckMetricsListen(path, "metrics_listen", c.metrics_listen));
  c.metrics_endpoint_file =
      ResolvePath(base, t["metrics_endpoint_file"].value_or(std::string()));
  if (c.participant.client.state_dir.empty()) {
    c.participant.client.state_dir = ResolvePath(base, "state");
  }
  return c;
}

}  // namespace relais::sdk
