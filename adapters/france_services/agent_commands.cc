#include "adapters/france_services/agent_commands.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "adapters/france_services/agent_book.h"
#include "adapters/france_services/password.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais::console {
namespace {

constexpr size_t kMaxPasswordLine = 4096;

// One line of stdin, without its end of line; echo off if it is a terminal.
Result<std::string> ReadLine(bool hide) {
  termios saved{};
  const bool tty =
      hide && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  int c;
  while ((c = std::getchar()) != EOF && c != '\n') {
    if (line.size() == kMaxPasswordLine) break;
    line.push_back(static_cast<char>(c));
  }
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fputc('\n', stderr);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (c == EOF && line.empty()) {
    return Status::InvalidArgument("no password on standard input");
  }
  return line;
}

// The new password: from stdin (--password-stdin), or asked twice on the
// terminal.
Result<std::string> NewPassword(const AgentArgs& a) {
  std::string password;
  if (a.password_stdin) {
    RELAIS_ASSIGN_OR_RETURN(password, ReadLine(false));
  } else {
    if (!::isatty(STDIN_FILENO)) {
      return Status::InvalidArgument(
          "standard input is not a terminal: give the password on it with "
          "--password-stdin");
    }
    std::fprintf(stderr, "New password for %s: ", a.login.c_str());
    RELAIS_ASSIGN_OR_RETURN(password, ReadLine(true));
    std::fprintf(stderr, "The same again: ");
    RELAIS_ASSIGN_OR_RETURN(std::string again, ReadLine(true));
    if (again != password) {
      return Status::InvalidArgument("the two passwords differ");
    }
  }
  RELAIS_RETURN_IF_ERROR(CheckNewPassword(password));
  return password;
}

int Fail(const AgentArgs& a, const Status& st) {
  std::fprintf(stderr, "relais-console agent %s: %s\n", a.action.c_str(),
               st.ToString().c_str());
  const bool usage = st.code() == Status::Code::kInvalidArgument ||
                     st.code() == Status::Code::kNotFound;
  return usage ? 2 : 1;
}

int List(const AgentArgs& a) {
  // A mistyped --agents must not look like a site without agents.
  std::error_code ec;
  if (!std::filesystem::exists(a.agents_file, ec)) {
    return Fail(a, Status::InvalidArgument(
                       "no agents file " + Escaped(a.agents_file) +
                       " (agent add makes it with the first agent)"));
  }
  auto book = AgentBook::Load(a.agents_file);
  if (!book.ok()) return Fail(a, book.status());
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& ag : book->agents()) {
      out.push_back({{"login", ag.login},
                     {"name", ag.name},
                     {"site", ag.site},
                     {"disabled", ag.disabled},
                     {"created_ms", ag.created_ms},
                     {"changed_ms", ag.changed_ms}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-24s %-8s %-32s %s\n", "LOGIN", "STATE", "SITE", "NAME");
  for (const auto& ag : book->agents()) {
    std::printf("%-24s %-8s %-32s %s\n", ag.login.c_str(),
                ag.disabled ? "disabled" : "active", ag.site.c_str(),
                ag.name.c_str());
  }
  return 0;
}

}  // namespace

int AgentCommand(const AgentArgs& a) {
  if (a.action == "list") return List(a);
  if (Status st = CheckLogin(a.login); !st.ok()) return Fail(a, st);
  const int64_t now = Clock::System()->NowMs();
  std::string hash;
  if (a.action == "add" || a.action == "passwd") {
    // Checked before the password is asked for: a typo costs no typing.
    if (a.action == "add") {
      if (Status st = CheckAgentName(a.name); !st.ok()) return Fail(a, st);
      if (!IsValidParticipantId(a.site)) {
        return Fail(
            a, Status::InvalidArgument("--site is not a participant id (e.g. "
                                       "france-services/paris-15)"));
      }
      if (IsAgency(a.site)) {
        return Fail(a, Status::InvalidArgument(
                           "--site '" + a.site +
                           "' is an agency, not a France services site "
                           "(e.g. france-services/paris-15)"));
      }
    }
    auto password = NewPassword(a);
    if (!password.ok()) return Fail(a, password.status());
    auto hashed = HashPassword(*password);
    if (!hashed.ok()) return Fail(a, hashed.status());
    hash = std::move(*hashed);
  }
  Status st = AgentBook::Edit(a.agents_file, [&](AgentBook& book) {
    if (a.action == "add") {
      return book.Add({a.login, a.name, a.site, hash, false, now, now});
    }
    if (a.action == "passwd") return book.SetPassword(a.login, hash, now);
    return book.SetDisabled(a.login, a.action == "disable", now);
  });
  if (!st.ok()) return Fail(a, st);
  std::printf("agent %s: %s\n", a.login.c_str(),
              a.action == "add"       ? "added"
              : a.action == "passwd"  ? "password changed"
              : a.action == "disable" ? "disabled"
                                      : "enabled");
  return 0;
}

}  // namespace relais::console
