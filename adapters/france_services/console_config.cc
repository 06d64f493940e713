#include "adapters/france_services/console_config.h"

#include <filesystem>

#include "core/files.h"
#include "core/toml_file.h"

namespace relais::console {
namespace {

std::string Resolved(const std::string& config_path, const std::string& p) {
  if (p.empty() || p.front() == '/') return p;
  const auto dir = std::filesystem::path(config_path).parent_path();
  return dir.empty() ? p : (dir / p).string();
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
      {"listen", "agents", "endpoint_file", "tls_certificate",
       "tls_private_key", "session_idle_minutes", "session_max_hours"},
      path, "[console]"));
  ConsoleConfig c;
  RELAIS_ASSIGN_OR_RETURN(c.listen, StringAt(*t, "listen", c.listen, path));
  RELAIS_ASSIGN_OR_RETURN(std::string agents, StringAt(*t, "agents", "", path));
  if (agents.empty()) {
    return Status::InvalidArgument(
        path + ": [console] agents (the agents file) is required");
  }
  c.agents_file = Resolved(path, agents);
  RELAIS_ASSIGN_OR_RETURN(std::string endpoint,
                          StringAt(*t, "endpoint_file", "", path));
  c.endpoint_file = Resolved(path, endpoint);
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
