#include "adapters/sdk/adapter_config.h"

#include <filesystem>
#include <utility>

#include "core/files.h"
#include "core/metrics.h"
#include "core/text.h"
#include "core/toml_file.h"

namespace relais::sdk {
namespace {

// Each folder is the partner's or the adapter's own: two that are the same
// folder would make the adapter read what it wrote, e.g. take its own
// deliveries for the partner's cases. (One inside another is harmless: the
// scans read only the files directly in their folder.)
Status CheckFolders(const AdapterConfig& c, const std::string& path) {
  namespace fs = std::filesystem;
  const std::pair<const char*, const std::string*> folders[] = {
      {"inbox", &c.inbox},
      {"outbox", &c.outbox},
      {"done", &c.done},
      {"rejected", &c.rejected},
      {"status", &c.status},
      {"subjects", &c.subjects},
      {"state_dir", &c.participant.client.state_dir}};
  std::vector<fs::path> resolved;
  for (const auto& [key, dir] : folders) {
    if (dir->empty()) {
      return Status::InvalidArgument(Escaped(path) + ": '" + key +
                                     "' is empty: it must name a folder");
    }
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::absolute(*dir, ec), ec);
    if (ec) p = fs::path(*dir);
    p = p.lexically_normal();
    // "outbox/" is the folder "outbox".
    if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
    resolved.push_back(std::move(p));
  }
  for (size_t i = 0; i < resolved.size(); ++i) {
    for (size_t j = i + 1; j < resolved.size(); ++j) {
      if (resolved[i] == resolved[j]) {
        return Status::InvalidArgument(
            Escaped(path) + ": '" + folders[i].first + "' and '" +
            folders[j].first + "' are the same folder (" +
            Escaped(resolved[i].string()) + "): give each its own folder");
      }
    }
  }
  return Status::OK();
}

}  // namespace

Result<AdapterConfig> LoadAdapterConfig(const std::string& path,
                                        std::chrono::milliseconds wait,
                                        std::string_view agency) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4 << 20));
  return ParseAdapterConfig(text, path, wait, agency);
}

Result<AdapterConfig> ParseAdapterConfig(const std::string& text,
                                         const std::string& path,
                                         std::chrono::milliseconds wait,
                                         std::string_view agency) {
  AdapterConfig c;
  RELAIS_ASSIGN_OR_RETURN(c.participant, ParseParticipantFile(text, path));
  const std::string& identity = c.participant.client.identity.participant;
  if (!agency.empty() && identity != agency) {
    const std::string program = "relais-adapter-" + std::string(agency);
    return Status::InvalidArgument(
        Escaped(path) + ": this file is for participant '" + identity +
        "', and " + program + " is the adapter of '" + std::string(agency) +
        "': start relais-adapter-" + identity +
        " with it, or give this one its own adapter.toml");
  }
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
  RELAIS_RETURN_IF_ERROR(CheckFolders(c, path));
  RELAIS_RETURN_IF_ERROR(ReadBrokerEndpoint(&c.participant, path, wait));
  return c;
}

}  // namespace relais::sdk
