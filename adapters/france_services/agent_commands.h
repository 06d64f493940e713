#pragma once

// `relais-console agent add|passwd|disable|enable|list`: the work of each
// command; main.cc parses the flags. Each returns the exit code:
// 0 done, 1 the agents file could not be read or written, 2 bad usage or
// input (nothing was changed).

#include <string>

namespace relais::console {

struct AgentArgs {
  std::string action;  // add, passwd, disable, enable, list
  std::string agents_file;
  std::string login;
  std::string name;             // add
  std::string site;             // add
  bool password_stdin = false;  // add, passwd: read it from stdin
  bool json = false;            // list
};

int AgentCommand(const AgentArgs& args);

}  // namespace relais::console
