#include "adapters/france_services/console_config.h"

#include <filesystem>

#include "adapters/sdk/client_config.h"
#include "core/files.h"
#include "core/metrics.h"
#include "core/text.h"
#include "core/toml_file.h"

namespace relais::console {
namespace {

std::string Resolved(const std::string& config_path, const std::string& p) {
  return sdk::ResolvePath(
      std::filesystem::path(config_path).parent_path().string(), p);
}

}  // namespace

Result<ConsoleConfig> LoadConsoleConfig(const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 1 << 20));
  return ParseConsoleConfig(text, path);
}

Result<ConsoleConfig> ParseConsoleConfig(const std::string& text,
                                         const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(toml::table file, ParseToml(text, path));
  RELAIS_RETURN_IF_ERROR(CheckKnownKeys(file, {"console"}, path, "the file"));
  const toml::table* t = file["console"].as_table();
  if (t == nullptr) {
    return Status::InvalidArgument(path + ": no [console] table");
  }
  RELAIS_RETURN_IF_ERROR(CheckKnownKeys(
      *t,
      {"listen", "agents", "participant", "cases_dir", "case_retention_days",
       "case_ttl_days", "attachments_max_kib", "site_name", "web_dir",
       "endpoint_file", "tls_certificate", "tls_private_key",
       "session_idle_minutes", "session_max_hours", "metrics_listen",
       "metrics_endpoint_file"},
      path, "[console]"));
  ConsoleConfig c;
  RELAIS_ASSIGN_OR_RETURN(c.listen, StringAt(*t, "listen", c.listen, path));
  RELAIS_ASSIGN_OR_RETURN(std::string agents, StringAt(*t, "agents", "", path));
  if (agents.empty()) {
    return Status::InvalidArgument(
        path + ": [console] agents (the agents file) is required");
  }
  c.agents_file = Resolved(path, agents);
  RELAIS_ASSIGN_OR_RETURN(std::string participant,
                          StringAt(*t, "participant", "", path));
  if (participant.empty()) {
    return Status::InvalidArgument(
        path +
        ": [console] participant (the site's participant file) is "
        "required");
  }
  c.participant_file = Resolved(path, participant);
  RELAIS_ASSIGN_OR_RETURN(std::string cases,
                          StringAt(*t, "cases_dir", "cases", path));
  c.cases_dir = Resolved(path, cases);
  RELAIS_ASSIGN_OR_RETURN(c.case_retention_days,
                          IntegerAt(*t, "case_retention_days",
                                    c.case_retention_days, 30, 3650, path));
  RELAIS_ASSIGN_OR_RETURN(
      c.case_ttl_days,
      IntegerAt(*t, "case_ttl_days", c.case_ttl_days, 1, 90, path));
  RELAIS_ASSIGN_OR_RETURN(c.attachments_max_kib,
                          IntegerAt(*t, "attachments_max_kib",
                                    c.attachments_max_kib, 1, 61440, path));
  RELAIS_ASSIGN_OR_RETURN(c.site_name, StringAt(*t, "site_name", "", path));
  if (c.site_name.size() > 120 || !IsCleanText(c.site_name)) {
    return Status::InvalidArgument(
        path +
        ": [console] site_name must be printable text of at most 120 bytes");
  }
  RELAIS_ASSIGN_OR_RETURN(std::string web, StringAt(*t, "web_dir", "", path));
  if (!web.empty()) c.web_dir = Resolved(path, web);
  RELAIS_ASSIGN_OR_RETURN(std::string endpoint,
                          StringAt(*t, "endpoint_file", "", path));
  c.endpoint_file = Resolved(path, endpoint);
  RELAIS_ASSIGN_OR_RETURN(c.metrics_listen,
                          StringAt(*t, "metrics_listen", "", path));
  RELAIS_RETURN_IF_ERROR(metrics::CheckMetricsListen(
      path, "[console] metrics_listen", c.metrics_listen));
  RELAIS_ASSIGN_OR_RETURN(std::string metrics_endpoint,
                          StringAt(*t, "metrics_endpoint_file", "", path));
  c.metrics_endpoint_file = Resolved(path, metrics_endpoint);
  RELAIS_ASSIGN_OR_RETURN(std::string cert,
                          StringAt(*t, "tls_certificate", "", path));
  RELAIS_ASSIGN_OR_RETURN(std::string key,
                          StringAt(*t, "tls_private_key", "", path));
  if (cert.empty() != key.empty()) {
    return Status::InvalidArgument(
        path + ": [console] tls_certificate and tls_private_key go together");
  }
  c.tls_certificate = Resolved(path, cert);
  c.tls_private_key = Resolved(path, key);
  RELAIS_ASSIGN_OR_RETURN(c.session_idle_minutes,
                          IntegerAt(*t, "session_idle_minutes",
                                    c.session_idle_minutes, 1, 720, path));
  RELAIS_ASSIGN_OR_RETURN(
      c.session_max_hours,
      IntegerAt(*t, "session_max_hours", c.session_max_hours, 1, 24, path));
  return c;
}

}  // namespace relais::console
