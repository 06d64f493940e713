#include "deploy/lib/provision.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/subject.h"

namespace relais::deploy {
namespace {

namespace fs = std::filesystem;

struct RouteSpec {
  std::vector<std::string> to;
  std::vector<std::string> case_types;
};

// The development routes: docs/CASES.md's table of case types, origins and
// destinations. Deny by default: anything not listed is NotAuthorised.
std::map<std::string, std::vector<RouteSpec>> DevRoutes(const StackSpec& s) {
  const auto others = [&](const std::string& self) {
    std::vector<std::string> out;
    for (const auto& a : s.agencies) {
      if (a != self) out.push_back(a);
    }
    return out;
  };
  const auto only = [&](std::vector<std::string> wanted) {
    std::vector<std::string> out;
    for (const auto& w : wanted) {
      if (std::find(s.agencies.begin(), s.agencies.end(), w) !=
          s.agencies.end()) {
        out.push_back(w);
      }
    }
    return out;
  };
  std::map<std::string, std::vector<RouteSpec>> routes;
  if (!s.desk.empty()) {
    routes[s.desk] = {{s.agencies,
                       {"address_change", "assisted_case", "birth",
                        "household_change", "death_notification"}}};
  }
  const std::vector<std::string> common = {"address_change",
                                           "death_notification"};
  for (const auto& a : s.agencies) routes[a].push_back({others(a), common});
  const auto add = [&](const std::string& from, std::vector<std::string> to,
                       std::string type) {
    if (routes.count(from) == 0) return;
    to = only(std::move(to));
    if (!to.empty()) routes[from].push_back({to, {std::move(type)}});
  };
  add("caf", {"cpam", "france-travail"}, "rsa_application");
  add("caf", {"cpam", "dgfip"}, "birth");
  add("caf", {"dgfip"}, "household_change");
  add("cpam", {"caf", "dgfip"}, "birth");
  add("dgfip", {"caf"}, "resources_update");
  add("dgfip", {"caf"}, "household_change");
  add("france-travail", {"caf", "cpam"}, "job_seeker_status");
  for (const auto& p : s.extra_participants) {
    std::vector<std::string> to;
    for (const auto& q : s.extra_participants) {
      if (q != p) to.push_back(q);
    }
    if (!to.empty()) routes[p].push_back({to, {"*"}});
  }
  return routes;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i ? ", " : "") + Quoted(items[i]);
  }
  return out + "]";
}

// The configuration files provisioning wrote, with the SHA-256 of what it
// wrote (`.provisioned`: "HEX  PATH" lines, PATH relative to the stack's
// folder), so that a file edited since is told apart and kept.
class ProvisionedFiles {
 public:
  ProvisionedFiles(const StackLayout& l, bool keep_edited,
                   std::vector<std::string>* kept)
      : dir_(l.dir()), keep_edited_(keep_edited), kept_(kept) {
    auto text = ReadFile(RecordPath(), 1 << 20);
    if (!text.ok()) return;  // none yet: every existing file counts as edited
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
      const size_t gap = line.find("  ");
      if (gap != std::string::npos)
        written_[line.substr(gap + 2)] = line.substr(0, gap);
    }
  }

  // Writes `contents` to `path`, unless it was edited by hand (and edits
  // are kept).
  Status Write(const std::string& path, const std::string& contents) {
    const std::string name =
        fs::path(path).lexically_relative(dir_).generic_string();
    if (keep_edited_ && fs::exists(path)) {
      auto now = ReadFile(path, 4 << 20);
      if (!now.ok()) return now.status();
      const std::string now_sha = HexEncode(crypto::Sha256(*now));
      auto it = written_.find(name);
      if (*now != contents && (it == written_.end() || it->second != now_sha)) {
        if (kept_ != nullptr) kept_->push_back(path);
        return Status::OK();
      }
    }
    RELAIS_RETURN_IF_ERROR(WriteFileAtomic(path, contents));
    written_[name] = HexEncode(crypto::Sha256(contents));
    return Status::OK();
  }

  Status Save() const {
    std::string text;
    for (const auto& [name, sha] : written_) text += sha + "  " + name + "\n";
    return WriteFileAtomic(RecordPath(), text);
  }

 private:
  std::string RecordPath() const { return dir_ + "/.provisioned"; }
  const std::string dir_;
  const bool keep_edited_;
  std::vector<std::string>* const kept_;
  std::map<std::string, std::string> written_;  // path -> SHA-256 hex
};

Status EnsureIdentity(const StackLayout& l, const std::string& participant,
                      int days) {
  if (fs::exists(l.IdentityFile(participant)) &&
      fs::exists(l.PublicFile(participant))) {
    return Status::OK();
  }
  // Valid from a day ago: clocks of participants differ a little.
  RELAIS_ASSIGN_OR_RETURN(
      Identity id,
      GenerateIdentity(participant, Clock::System()->NowMs() - 86400000,
                       days + 1));
  RELAIS_RETURN_IF_ERROR(WriteIdentityFile(id, l.IdentityFile(participant)));
  return WritePublicIdentityFile(PublicOf(id), l.PublicFile(participant));
}

std::string ClientToml(const StackLayout& l, const std::string& p) {
  const fs::path base = l.ParticipantDir(p);
  const auto rel = [&](const std::string& target) {
    return Quoted(fs::relative(target, base).string());
  };
  std::ostringstream out;
  out << "# relais participant '" << p << "' (written by relais provision)\n"
      << "identity = " << rel(l.IdentityFile(p)) << "\n"
      << "peers = " << rel(l.KeysDir()) << "\n"
      << "broker_keys = " << rel(l.PublicFile(kBrokerId)) << "\n"
      << "broker_endpoint_file = " << rel(l.EndpointFile()) << "\n"
      << "subject_key = " << rel(l.SubjectKey()) << "\n"
      << "state_dir = \"state\"\n";
  return out.str();
}

std::string BrokerToml(const StackSpec& s, const StackLayout& l,
                       const std::vector<std::string>& participants) {
  const auto routes = DevRoutes(s);
  std::ostringstream out;
  out << "# relaisd configuration (written by relais provision).\n"
      << "# Keys and defaults: deploy/relaisd.example.toml.\n"
      << "[broker]\n"
      << "id = " << Quoted(kBrokerId) << "\n"
      << "listen = " << Quoted(s.listen) << "\n"
      << "journal_dir = \"journal\"\n"
      << "identity = \"secrets/" << FileNameOf(kBrokerId) << ".key.toml\"\n"
      << "endpoint_file = \"relaisd.endpoint\"\n"
      << "metrics_listen = \"127.0.0.1:0\"\n"
      << "metrics_endpoint_file = \"relaisd.metrics\"\n"
      << s.broker_extra << "\n";
  for (const auto& p : participants) {
    out << "\n[[participants]]\n"
        << "keys = \"keys/" << FileNameOf(p) << ".pub.toml\"\n";
    if (p == s.operator_id) out << "roles = [\"operator\"]\n";
    if (std::find(s.agencies.begin(), s.agencies.end(), p) !=
        s.agencies.end()) {
      // A death, or an address change sent "to whoever knows the
      // citizen", reaches the agencies that hold a file on the citizen
      // (routing by subscription, docs/CASES.md).
      out << "[participants.subscriptions]\n"
          << "address_change = \"known\"\n"
          << "death_notification = \"known\"\n";
    }
    auto it = routes.find(p);
    if (it == routes.end()) continue;
    for (const auto& r : it->second) {
      out << "[[participants.routes]]\n"
          << "to = " << List(r.to) << "\n"
          << "case_types = " << List(r.case_types) << "\n";
    }
  }
  return out.str();
}

}  // namespace

std::string StackLayout::IdentityFile(const std::string& p) const {
  return SecretsDir() + "/" + FileNameOf(p) + ".key.toml";
}
std::string StackLayout::PublicFile(const std::string& p) const {
  return KeysDir() + "/" + FileNameOf(p) + ".pub.toml";
}
std::string StackLayout::ParticipantDir(const std::string& p) const {
  return dir_ + "/" + FileNameOf(p);
}
std::string StackLayout::ClientConfig(const std::string& p) const {
  return ParticipantDir(p) + "/client.toml";
}
std::string StackLayout::AdapterConfig(const std::string& p) const {
  return ParticipantDir(p) + "/adapter.toml";
}
std::string StackLayout::Inbox(const std::string& p) const {
  return ParticipantDir(p) + "/inbox";
}
std::string StackLayout::Outbox(const std::string& p) const {
  return ParticipantDir(p) + "/outbox";
}
std::string StackLayout::Done(const std::string& p) const {
  return ParticipantDir(p) + "/done";
}
std::string StackLayout::Rejected(const std::string& p) const {
  return ParticipantDir(p) + "/rejected";
}
std::string StackLayout::StatusIn(const std::string& p) const {
  return ParticipantDir(p) + "/status";
}
std::string StackLayout::Subjects(const std::string& p) const {
  return ParticipantDir(p) + "/subjects";
}
std::string StackLayout::HttpEndpoint(const std::string& p) const {
  return ParticipantDir(p) + "/http.endpoint";
}
std::string StackLayout::MetricsEndpoint(const std::string& p) const {
  return ParticipantDir(p) + "/metrics.endpoint";
}

Result<StackLayout> Provision(const StackSpec& spec,
                              std::vector<std::string>* kept) {
  if (spec.dir.empty())
    return Status::InvalidArgument("provision needs a folder");
  StackLayout l(fs::absolute(spec.dir).lexically_normal().string());
  std::vector<std::string> participants;
  if (!spec.desk.empty()) participants.push_back(spec.desk);
  for (const auto& a : spec.agencies) participants.push_back(a);
  for (const auto& p : spec.extra_participants) participants.push_back(p);
  if (!spec.operator_id.empty()) participants.push_back(spec.operator_id);
  std::error_code ec;
  for (const auto& d : {l.KeysDir(), l.SecretsDir()}) {
    fs::create_directories(d, ec);
    if (ec) return Status::IOError("cannot create " + d + ": " + ec.message());
  }
  fs::permissions(l.SecretsDir(), fs::perms::owner_all, ec);
  RELAIS_RETURN_IF_ERROR(EnsureIdentity(l, kBrokerId, spec.key_validity_days));
  for (const auto& p : participants) {
    RELAIS_RETURN_IF_ERROR(EnsureIdentity(l, p, spec.key_validity_days));
  }
  if (!fs::exists(l.SubjectKey())) {
    RELAIS_ASSIGN_OR_RETURN(std::string key, NewSubjectKey());
    RELAIS_RETURN_IF_ERROR(WriteSubjectKey(l.SubjectKey(), key));
  }
  ProvisionedFiles files(l, spec.keep_edited_files, kept);
  RELAIS_RETURN_IF_ERROR(
      files.Write(l.BrokerConfig(), BrokerToml(spec, l, participants)));
  const std::set<std::string> agencies(spec.agencies.begin(),
                                       spec.agencies.end());
  for (const auto& p : participants) {
    fs::create_directories(l.ParticipantDir(p), ec);
    if (ec) return Status::IOError("cannot create " + l.ParticipantDir(p));
    const std::string client = ClientToml(l, p);
    RELAIS_RETURN_IF_ERROR(files.Write(l.ClientConfig(p), client));
    if (agencies.count(p)) {
      for (const auto& d : {l.Inbox(p), l.Outbox(p), l.Done(p), l.Rejected(p),
                            l.StatusIn(p), l.Subjects(p)}) {
        fs::create_directories(d, ec);
        if (ec)
          return Status::IOError("cannot create " + d + ": " + ec.message());
      }
      // The CPAM's partner system may also call its adapter over HTTP.
      const std::string http = p == "cpam"
                                   ? "http_listen = \"127.0.0.1:0\"\n"
                                     "http_endpoint_file = \"http.endpoint\"\n"
                                   : "";
      RELAIS_RETURN_IF_ERROR(files.Write(
          l.AdapterConfig(p),
          client +
              "inbox = \"inbox\"\noutbox = \"outbox\"\ndone = \"done\"\n"
              "rejected = \"rejected\"\nstatus = \"status\"\n"
              "subjects = \"subjects\"\n"
              "poll_interval_ms = 200\n"
              "metrics_listen = \"127.0.0.1:0\"\n"
              "metrics_endpoint_file = \"metrics.endpoint\"\n" +
              http));
    }
  }
  RELAIS_RETURN_IF_ERROR(files.Save());
  return l;
}

}  // namespace relais::deploy
