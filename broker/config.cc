#include "broker/config.h"

#include <filesystem>

#include "core/cases.h"
#include "core/files.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/text.h"
#include "core/toml_file.h"

namespace relais::broker {
namespace {

namespace fs = std::filesystem;

std::string Resolve(const fs::path& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

Status Bad(const std::string& origin, const std::string& what) {
  return Status::InvalidArgument(origin + ": " + what);
}

template <typename T>
Status ReadUint(const toml::table& t, std::string_view key, T min, T max,
                T* out, const std::string& origin) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::OK();
  auto v = n->value<int64_t>();
  if (!v || *v < static_cast<int64_t>(min) || *v > static_cast<int64_t>(max)) {
    return Bad(origin, "'" + std::string(key) + "' must be an integer in [" +
                           std::to_string(min) + ", " + std::to_string(max) +
                           "]");
  }
  *out = static_cast<T>(*v);
  return Status::OK();
}

Result<std::set<std::string>> StringSet(const toml::table& t,
                                        std::string_view key,
                                        const std::string& origin) {
  const toml::array* a = t[key].as_array();
  if (a == nullptr)
    return Bad(origin, "route needs an array '" + std::string(key) + "'");
  std::set<std::string> out;
  for (const auto& n : *a) {
    auto s = n.value<std::string>();
    if (!s) return Bad(origin, "'" + std::string(key) + "' must hold strings");
    if (*s == "*") return std::set<std::string>();  // any
    out.insert(*s);
  }
  if (out.empty()) return Bad(origin, "'" + std::string(key) + "' is empty");
  return out;
}

Result<Route> ParseRoute(const toml::table& t, const std::string& origin) {
  RELAIS_RETURN_IF_ERROR(CheckKnownKeys(t, {"to", "case_types"}, origin,
                                        "[[participants.routes]]"));
  Route route;
  RELAIS_ASSIGN_OR_RETURN(route.to, StringSet(t, "to", origin));
  RELAIS_ASSIGN_OR_RETURN(std::set<std::string> types,
                          StringSet(t, "case_types", origin));
  for (const auto& name : types) {
    auto type = CaseTypeFromName(name);
    if (!type) return Bad(origin, "unknown case type '" + name + "'");
    route.case_types.insert(*type);
  }
  return route;
}

Result<ParticipantEntry> ParseParticipant(const toml::table& t,
                                          const fs::path& base,
                                          const std::string& origin) {
  RELAIS_RETURN_IF_ERROR(
      CheckKnownKeys(t, {"keys", "roles", "routes", "subscriptions"}, origin,
                     "[[participants]]"));
  auto keys = t["keys"].value<std::string>();
  if (!keys)
    return Bad(origin, "each [[participants]] needs 'keys' (a .pub.toml file)");
  ParticipantEntry entry;
  RELAIS_ASSIGN_OR_RETURN(entry.identity,
                          LoadPublicIdentityFile(Resolve(base, *keys)));
  if (const toml::array* roles = t["roles"].as_array()) {
    for (const auto& n : *roles) {
      auto role = n.value<std::string>();
      if (!role || *role != "operator") {
        return Bad(origin, "the only role is \"operator\"");
      }
      entry.is_operator = true;
    }
  }
  if (const toml::array* routes = t["routes"].as_array()) {
    for (const auto& n : *routes) {
      const toml::table* rt = n.as_table();
      if (rt == nullptr)
        return Bad(origin, "routes must be [[participants.routes]] tables");
      RELAIS_ASSIGN_OR_RETURN(Route route, ParseRoute(*rt, origin));
      entry.routes.push_back(std::move(route));
    }
  }
  if (const toml::node* subs = t.get("subscriptions")) {
    const toml::table* st = subs->as_table();
    if (st == nullptr) {
      return Bad(origin,
                 "subscriptions must be a [participants.subscriptions] table");
    }
    for (const auto& [name, how] : *st) {
      auto type = CaseTypeFromName(name.str());
      const auto mode = how.value<std::string>();
      if (!type) {
        return Bad(origin, "subscriptions: unknown case type '" +
                               std::string(name.str()) + "'");
      }
      if (mode != "all" && mode != "known") {
        return Bad(origin, "subscriptions." + std::string(name.str()) +
                               " must be \"all\" or \"known\"");
      }
      entry.subscriptions[*type] =
          *mode == "all" ? Subscription::kAll : Subscription::kKnown;
    }
  }
  return entry;
}

// [broker]'s names and paths: id, listen, journal_dir, identity,
// endpoint_file, metrics_listen, metrics_endpoint_file, log_level.
Status ReadBrokerNames(const toml::table& t, const fs::path& base,
                       const std::string& path, BrokerConfig* out) {
  const toml::table* b = &t;
  BrokerConfig& c = *out;
  RELAIS_ASSIGN_OR_RETURN(c.broker_id, StringAt(*b, "id", c.broker_id, path));
  if (!IsValidParticipantId(c.broker_id)) {
    return Bad(path,
               "[broker] id must be a participant id (1 to 64 of a-z "
               "0-9 -, at most one '/')");
  }
  RELAIS_ASSIGN_OR_RETURN(c.listen, StringAt(*b, "listen", c.listen, path));
  RELAIS_RETURN_IF_ERROR(
      CheckTcpEndpoint(c.listen, true, path + ": [broker] listen"));
  RELAIS_ASSIGN_OR_RETURN(std::string journal,
                          StringAt(*b, "journal_dir", "", path));
  RELAIS_ASSIGN_OR_RETURN(std::string identity,
                          StringAt(*b, "identity", "", path));
  RELAIS_ASSIGN_OR_RETURN(std::string endpoint,
                          StringAt(*b, "endpoint_file", "", path));
  c.journal_dir = Resolve(base, journal);
  c.identity_file = Resolve(base, identity);
  c.endpoint_file = Resolve(base, endpoint);
  RELAIS_ASSIGN_OR_RETURN(
      c.metrics_listen, StringAt(*b, "metrics_listen", c.metrics_listen, path));
  RELAIS_RETURN_IF_ERROR(metrics::CheckMetricsListen(
      path, "[broker] metrics_listen", c.metrics_listen));
  RELAIS_ASSIGN_OR_RETURN(std::string metrics_endpoint,
                          StringAt(*b, "metrics_endpoint_file", "", path));
  c.metrics_endpoint_file = Resolve(base, metrics_endpoint);
  RELAIS_ASSIGN_OR_RETURN(std::string backups,
                          StringAt(*b, "backup_dir", "backups", path));
  if (backups.empty()) return Bad(path, "[broker] backup_dir may not be empty");
  c.backup_dir = Resolve(base, backups);
  // Found at start, not at the first backup (whose refusal would read as
  // a journal that cannot write).
  if (std::error_code ec; std::filesystem::exists(c.backup_dir, ec) &&
                          !std::filesystem::is_directory(c.backup_dir, ec)) {
    return Bad(path, "[broker] backup_dir " + Escaped(c.backup_dir) +
                         " is a file, not a folder");
  }
  RELAIS_ASSIGN_OR_RETURN(c.log_level,
                          StringAt(*b, "log_level", c.log_level, path));
  if (auto level = ParseLogLevel(c.log_level); !level.ok()) {
    return Bad(path, "[broker] " + level.status().message());
  }
  RELAIS_ASSIGN_OR_RETURN(c.log_format,
                          StringAt(*b, "log_format", c.log_format, path));
  if (Status st = CheckLogFormat(c.log_format); !st.ok()) {
    return Bad(path, "[broker] " + st.message());
  }
  if (c.journal_dir.empty()) return Bad(path, "[broker] needs 'journal_dir'");
  if (c.identity_file.empty()) return Bad(path, "[broker] needs 'identity'");
  return Status::OK();
}

// [broker]'s numbers: sizes, windows, timers, threads, journal tuning.
Status ReadBrokerLimits(const toml::table& t, const std::string& path,
                        BrokerConfig* out) {
  const toml::table* b = &t;
  BrokerConfig& c = *out;
  RELAIS_RETURN_IF_ERROR(ReadUint<uint32_t>(
      *b, "max_message_bytes", 1024, 64 << 20, &c.max_message_bytes, path));
  RELAIS_RETURN_IF_ERROR(
      ReadUint<uint32_t>(*b, "max_window", 1, 65536, &c.max_window, path));
  RELAIS_RETURN_IF_ERROR(ReadUint<uint32_t>(*b, "redelivery_initial_ms", 10,
                                            86400000, &c.redelivery.initial_ms,
                                            path));
  RELAIS_RETURN_IF_ERROR(ReadUint<uint32_t>(
      *b, "redelivery_max_ms", 10, 86400000, &c.redelivery.max_ms, path));
  if (c.redelivery.initial_ms > c.redelivery.max_ms) {
    // Both written: a contradiction. Only the longest written: the first
    // wait is capped to it, as every wait is.
    if (b->contains("redelivery_initial_ms")) {
      return Bad(path,
                 "[broker] redelivery_initial_ms (" +
                     std::to_string(c.redelivery.initial_ms) +
                     ") is above redelivery_max_ms (" +
                     std::to_string(c.redelivery.max_ms) +
                     "): the first wait cannot be longer than the longest");
    }
    c.redelivery.initial_ms = c.redelivery.max_ms;
  }
  RELAIS_RETURN_IF_ERROR(ReadUint<uint32_t>(*b, "max_attempts", 0, 1000000,
                                            &c.redelivery.max_attempts, path));
  RELAIS_RETURN_IF_ERROR(ReadUint<uint32_t>(*b, "heartbeat_interval_ms", 100,
                                            600000, &c.heartbeat_interval_ms,
                                            path));
  RELAIS_RETURN_IF_ERROR(ReadUint<uint32_t>(*b, "ingress_threads", 0, 64,
                                            &c.ingress_threads, path));
  RELAIS_RETURN_IF_ERROR(ReadUint<uint32_t>(*b, "ingress_queue", 1, 1 << 20,
                                            &c.ingress_queue, path));
  int64_t pending_mb = static_cast<int64_t>(c.max_pending_bytes >> 20);
  RELAIS_RETURN_IF_ERROR(
      ReadUint<int64_t>(*b, "max_pending_mb", 1, 65536, &pending_mb, path));
  c.max_pending_bytes = static_cast<uint64_t>(pending_mb) << 20;
  int64_t skew_s = c.time_policy.max_clock_skew_ms / 1000;
  int64_t ttl_days = c.time_policy.max_ttl_ms / 86400000;
  RELAIS_RETURN_IF_ERROR(
      ReadUint<int64_t>(*b, "max_clock_skew_s", 0, 86400, &skew_s, path));
  RELAIS_RETURN_IF_ERROR(
      ReadUint<int64_t>(*b, "max_ttl_days", 1, 3650, &ttl_days, path));
  c.time_policy.max_clock_skew_ms = skew_s * 1000;
  c.time_policy.max_ttl_ms = ttl_days * 86400000;
  int64_t retention_days = c.payload_retention.count() / 86400000;
  RELAIS_RETURN_IF_ERROR(ReadUint<int64_t>(*b, "payload_retention_days", 0,
                                           3650, &retention_days, path));
  c.payload_retention = std::chrono::milliseconds(retention_days * 86400000);
  int64_t cache_mb = static_cast<int64_t>(c.journal.block_cache_bytes >> 20);
  int64_t buffer_mb = static_cast<int64_t>(c.journal.write_buffer_bytes >> 20);
  RELAIS_RETURN_IF_ERROR(
      ReadUint<int64_t>(*b, "journal_cache_mb", 1, 65536, &cache_mb, path));
  RELAIS_RETURN_IF_ERROR(ReadUint<int64_t>(*b, "journal_write_buffer_mb", 4,
                                           65536, &buffer_mb, path));
  c.journal.block_cache_bytes = static_cast<size_t>(cache_mb) << 20;
  c.journal.write_buffer_bytes = static_cast<size_t>(buffer_mb) << 20;
  if (const toml::node* n = b->get("journal_verify_on_start")) {
    auto verify = n->value<bool>();
    if (!verify)
      return Bad(path, "'journal_verify_on_start' must be true or false");
    c.journal.verify_on_open = *verify;
  }
  return Status::OK();
}

// The [[participants]], none with the broker's own id.
Status ReadParticipants(const toml::table& root, const fs::path& base,
                        const std::string& path, BrokerConfig* out) {
  BrokerConfig& c = *out;
  const toml::array* participants = root["participants"].as_array();
  if (participants == nullptr || participants->empty()) {
    return Bad(path, "needs at least one [[participants]]");
  }
  for (const auto& n : *participants) {
    const toml::table* pt = n.as_table();
    if (pt == nullptr)
      return Bad(path, "participants must be [[participants]] tables");
    RELAIS_ASSIGN_OR_RETURN(ParticipantEntry e,
                            ParseParticipant(*pt, base, path));
    if (e.identity.participant == c.broker_id) {
      return Bad(path, "[[participants]] '" + c.broker_id +
                           "' is the broker's own id ([broker] id)");
    }
    c.participants.push_back(std::move(e));
  }
  return Status::OK();
}

}  // namespace

Result<BrokerConfig> LoadBrokerConfig(const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4 << 20));
  return ParseBrokerConfig(text, path);
}

Result<BrokerConfig> ParseBrokerConfig(const std::string& text,
                                       const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(toml::table root, ParseToml(text, path));
  const fs::path base = fs::absolute(fs::path(path)).parent_path();
  BrokerConfig c;
  RELAIS_RETURN_IF_ERROR(
      CheckKnownKeys(root, {"broker", "participants"}, path, "the file"));
  const toml::table* b = root["broker"].as_table();
  if (b == nullptr) return Bad(path, "missing [broker] table");
  RELAIS_RETURN_IF_ERROR(CheckKnownKeys(*b,
                                        {"id",
                                         "listen",
                                         "journal_dir",
                                         "identity",
                                         "endpoint_file",
                                         "metrics_listen",
                                         "metrics_endpoint_file",
                                         "backup_dir",
                                         "log_level",
                                         "log_format",
                                         "max_message_bytes",
                                         "max_window",
                                         "redelivery_initial_ms",
                                         "redelivery_max_ms",
                                         "max_attempts",
                                         "heartbeat_interval_ms",
                                         "ingress_threads",
                                         "ingress_queue",
                                         "max_pending_mb",
                                         "max_clock_skew_s",
                                         "max_ttl_days",
                                         "payload_retention_days",
                                         "journal_cache_mb",
                                         "journal_write_buffer_mb",
                                         "journal_verify_on_start"},
                                        path, "[broker]"));
  RELAIS_RETURN_IF_ERROR(ReadBrokerNames(*b, base, path, &c));
  RELAIS_RETURN_IF_ERROR(ReadBrokerLimits(*b, path, &c));
  RELAIS_RETURN_IF_ERROR(ReadParticipants(root, base, path, &c));
  return c;
}

}  // namespace relais::broker
