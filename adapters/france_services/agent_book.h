#pragma once

// The France services agents who may sign in to a console, kept in one
// JSON file (the console's `agents` file, `relais-console agent ...`
// edits it; docs/CONSOLE.md gives its form):
//
//   {"format": "relais-console-agents/1",
//    "agents": [{"login": "a.martin", "name": "Alice Martin",
//                "site": "france-services/paris-15",
//                "password": "$scrypt$ln=15,r=8,p=1$...$...",
//                "disabled": false, "created_ms": ..., "changed_ms": ...}]}
//
// Every change is a whole new file written atomically (mode 0600) under an
// exclusive lock on `<file>.lock`, so that two commands never lose each
// other's change and a reader (the console) sees the old book or the new
// one. An agent is disabled, never deleted: the cases' trails name them.
//
// Thread-safety: an AgentBook is a value; const methods may be called from
// several threads.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace relais::console {

struct Agent {
  std::string login;     // CheckLogin
  std::string name;      // CheckAgentName: shown in the console and trails
  std::string site;      // the desk's participant id
  std::string password;  // a scrypt hash (password.h), never the password
  bool disabled = false;
  int64_t created_ms = 0;  // Unix ms
  int64_t changed_ms = 0;  // last change of password or state
};

// A login: 2 to 64 characters of a-z, 0-9, '.', '_', '-', starting with a
// letter. InvalidArgument says which rule it breaks.
Status CheckLogin(std::string_view login);
// A name: 1 to 100 bytes of UTF-8 text without control characters.
Status CheckAgentName(std::string_view name);

class AgentBook {
 public:
  // Reads the book at `path`; a missing file is an empty book. Corruption,
  // naming the file and the entry, if it is not a book (an unknown key, a
  // login twice, a field that fails its check).
  static Result<AgentBook> Load(const std::string& path);

  // Locks `path`, loads it, applies `change` and, if it returns OK, writes
  // the book back. Returns change's error, or the file's.
  static Status Edit(const std::string& path,
                     const std::function<Status(AgentBook&)>& change);

  const std::vector<Agent>& agents() const { return agents_; }
  // Null if no agent has that login.
  const Agent* Find(std::string_view login) const;

  // InvalidArgument if a field fails its check or the login is taken.
  Status Add(Agent agent);
  // NotFound if no agent has that login.
  Status SetDisabled(std::string_view login, bool disabled, int64_t now_ms);
  Status SetPassword(std::string_view login, std::string password_hash,
                     int64_t now_ms);

  std::string ToJson() const;

 private:
  Agent* FindMutable(std::string_view login);

  std::vector<Agent> agents_;
};

enum class SignIn {
  kOk,
  kRefused,   // no such login, or the wrong password (one answer for both)
  kDisabled,  // the right password of a disabled agent
};

// Checks a sign-in against `book`. An unknown login costs the same scrypt
// work as a known one, so that timing does not tell which logins exist.
// Internal if OpenSSL fails.
Result<SignIn> CheckSignIn(const AgentBook& book, std::string_view login,
                           std::string_view password);

}  // namespace relais::console
