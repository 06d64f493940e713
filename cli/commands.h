#pragma once

// The `relais` command's subcommands. Each returns the process exit code:
// 0 success, 1 failure (printed on stderr), 2 bad usage or configuration,
// 3 the broker rejected the request (its code and reason printed).

#include <string>

namespace relais::cli {

struct KeygenArgs {
  std::string participant;
  std::string out_dir;
  int days = 365;
  bool force = false;
};
int Keygen(const KeygenArgs& args);

struct ProvisionArgs {
  std::string dir;
  std::string listen = "tcp://127.0.0.1:0";
  bool bench = false;
};
int Provision(const ProvisionArgs& args);

struct CaseOpenArgs {
  std::string config;  // the participant's client.toml
  std::string file;    // the case as JSON
  bool json = false;
  int timeout_s = 30;
};
int CaseOpen(const CaseOpenArgs& args);

struct CaseStatusArgs {
  std::string config;
  std::string case_id;
  bool json = false;
  // Wait until every recipient reached this status ("" = do not wait).
  std::string wait_for;
  int timeout_s = 30;
};
int CaseStatus(const CaseStatusArgs& args);

// relais dead-letters list|show|replay|drop (operator role).
struct DeadLettersArgs {
  std::string config;
  std::string action;  // list, show, replay, drop
  std::string recipient;
  uint64_t sequence = 0;  // list: --after
  uint32_t limit = 0;
  bool json = false;
};
int DeadLetters(const DeadLettersArgs& args);

struct StatsArgs {
  std::string config;
};
int Stats(const StatsArgs& args);

}  // namespace relais::cli
