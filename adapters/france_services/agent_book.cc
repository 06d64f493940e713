#include "adapters/france_services/agent_book.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "adapters/france_services/password.h"
#include "core/bytes.h"
#include "core/case_extras.h"
#include "core/crypto.h"
#include "core/files.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais::console {
namespace {

constexpr std::string_view kFormat = "relais-console-agents/1";
constexpr size_t kMaxBookBytes = 16 << 20;

// Holds an exclusive flock(2) on a file for its lifetime.
class FileLock {
 public:
  static Result<FileLock> Take(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Status::IOError("open " + path + ": " + std::strerror(errno));
    }
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int err = errno;
        ::close(fd);
        return Status::IOError("flock " + path + ": " + std::strerror(err));
      }
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

Status CheckAgent(const Agent& a) {
  RELAIS_RETURN_IF_ERROR(CheckLogin(a.login));
  RELAIS_RETURN_IF_ERROR(CheckAgentName(a.name));
  if (!IsValidParticipantId(a.site)) {
    return Status::InvalidArgument("the site is not a participant id");
  }
  return CheckStoredHash(a.password);
}

// One entry of the file; `at` names it in errors (its index, never its
// contents).
Result<Agent> AgentOf(const nlohmann::json& j, const std::string& at) {
  if (!j.is_object()) return Status::Corruption(at + " is not an object");
  static constexpr const char* kKeys[] = {"login",     "name",     "site",
                                          "password",  "disabled", "created_ms",
                                          "changed_ms"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return Status::Corruption(at + " has an unknown key '" +
                                Escaped(key, 40) + "'");
    }
  }
  Agent a;
  try {
    a.login = j.at("login").get<std::string>();
    a.name = j.at("name").get<std::string>();
    a.site = j.at("site").get<std::string>();
    a.password = j.at("password").get<std::string>();
    a.disabled = j.at("disabled").get<bool>();
    a.created_ms = j.at("created_ms").get<int64_t>();
    a.changed_ms = j.at("changed_ms").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(at +
                              ": a field is missing or of the wrong "
                              "type (" +
                              std::string(e.what()) + ")");
  }
  if (Status st = CheckAgent(a); !st.ok()) {
    return Status::Corruption(at + ": " + st.message());
  }
  return a;
}

Result<AgentBook> Parse(std::string_view text, const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption(path + " is not a JSON object");
  }
  if (!j.contains("format") || j["format"] != kFormat) {
    return Status::Corruption(path + ": \"format\" is not \"" +
                              std::string(kFormat) + "\"");
  }
  if (j.size() != 2 || !j.contains("agents") || !j["agents"].is_array()) {
    return Status::Corruption(path +
                              " must hold \"format\" and an \"agents\" array, "
                              "nothing else");
  }
  AgentBook book;
  size_t i = 0;
  for (const auto& entry : j["agents"]) {
    const std::string at = path + ": agents[" + std::to_string(i++) + "]";
    RELAIS_ASSIGN_OR_RETURN(Agent a, AgentOf(entry, at));
    if (Status st = book.Add(std::move(a)); !st.ok()) {
      return Status::Corruption(at + ": " + st.message());
    }
  }
  return book;
}

}  // namespace

Status CheckLogin(std::string_view login) { return CheckAgentLogin(login); }

Status CheckAgentName(std::string_view name) {
  if (name.empty() || name.size() > 100) {
    return Status::InvalidArgument("a name is 1 to 100 bytes long");
  }
  if (!IsCleanText(name)) {
    return Status::InvalidArgument(
        "a name is UTF-8 text without control characters");
  }
  return Status::OK();
}

Result<AgentBook> AgentBook::Load(const std::string& path) {
  auto text = ReadFile(path, kMaxBookBytes);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) return AgentBook();
    return text.status();
  }
  return Parse(*text, path);
}

Status AgentBook::Edit(const std::string& path,
                       const std::function<Status(AgentBook&)>& change) {
  RELAIS_ASSIGN_OR_RETURN(FileLock lock, FileLock::Take(path + ".lock"));
  RELAIS_ASSIGN_OR_RETURN(AgentBook book, Load(path));
  RELAIS_RETURN_IF_ERROR(change(book));
  return WriteFileAtomic(path, book.ToJson(), 0600);
}

const Agent* AgentBook::Find(std::string_view login) const {
  for (const auto& a : agents_) {
    if (a.login == login) return &a;
  }
  return nullptr;
}

Agent* AgentBook::FindMutable(std::string_view login) {
  return const_cast<Agent*>(std::as_const(*this).Find(login));
}

Status AgentBook::Add(Agent agent) {
  RELAIS_RETURN_IF_ERROR(CheckAgent(agent));
  if (Find(agent.login)) {
    return Status::InvalidArgument("the login '" + agent.login + "' is taken");
  }
  agents_.push_back(std::move(agent));
  return Status::OK();
}

Status AgentBook::SetDisabled(std::string_view login, bool disabled,
                              int64_t now_ms) {
  Agent* a = FindMutable(login);
  if (!a) return Status::NotFound("no agent has that login");
  a->disabled = disabled;
  a->changed_ms = now_ms;
  return Status::OK();
}

Status AgentBook::SetPassword(std::string_view login, std::string password_hash,
                              int64_t now_ms) {
  RELAIS_RETURN_IF_ERROR(CheckStoredHash(password_hash));
  Agent* a = FindMutable(login);
  if (!a) return Status::NotFound("no agent has that login");
  a->password = std::move(password_hash);
  a->changed_ms = now_ms;
  return Status::OK();
}

std::string AgentBook::ToJson() const {
  nlohmann::json agents = nlohmann::json::array();
  for (const auto& a : agents_) {
    agents.push_back({{"login", a.login},
                      {"name", a.name},
                      {"site", a.site},
                      {"password", a.password},
                      {"disabled", a.disabled},
                      {"created_ms", a.created_ms},
                      {"changed_ms", a.changed_ms}});
  }
  nlohmann::json book = {{"format", kFormat}, {"agents", agents}};
  return book.dump(2) + "\n";
}

Result<SignIn> CheckSignIn(const AgentBook& book, std::string_view login,
                           std::string_view password) {
  // The hash an unknown login is checked against: same cost, no password.
  static const Result<std::string> kNobody = [] {
    auto random = crypto::RandomBytes(32);
    if (!random.ok()) return Result<std::string>(random.status());
    return HashPassword(HexEncode(*random));
  }();
  const Agent* agent = book.Find(login);
  if (!agent) {
    if (!kNobody.ok()) return kNobody.status();
    RELAIS_ASSIGN_OR_RETURN(bool unused, VerifyPassword(password, *kNobody));
    (void)unused;
    return SignIn::kRefused;
  }
  RELAIS_ASSIGN_OR_RETURN(bool match,
                          VerifyPassword(password, agent->password));
  if (!match) return SignIn::kRefused;
  return agent->disabled ? SignIn::kDisabled : SignIn::kOk;
}

}  // namespace relais::console
