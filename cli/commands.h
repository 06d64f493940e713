#pragma once

// The `relais` command's subcommands. Each returns the process exit code
// (kExit*), having printed what went wrong on stderr.

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace relais::cli {

inline constexpr int kExitOk = 0;
// Something failed here (a file could not be written, a damaged record).
inline constexpr int kExitFailure = 1;
// Bad usage, configuration or input: nothing was sent.
inline constexpr int kExitUsage = 2;
// relaisd refused the request (its code and reason printed).
inline constexpr int kExitRefused = 3;
// No answer from relaisd (unreachable, or no answer in time): what was
// sent, if anything, is printed, and whether its outcome is unknown.
inline constexpr int kExitNoAnswer = 4;
// The exit code for `st`: InvalidArgument 2, Rejected 3 (but the client's
// own ShuttingDown 4), Timeout and Unavailable 4, anything else 1.
int ExitCodeOf(const Status& st);
// `st` as a person reads it: relaisd's refusals with their code and name
// ("Rejected(301 NotAuthorised): ..."), anything else its message alone.
std::string Said(const Status& st);
// For --help.
inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 success; 1 failure here (e.g. a file could not be "
    "written); 2 bad usage, configuration or input (nothing was sent); 3 "
    "refused by relaisd (its code and reason are printed); 4 no answer from "
    "relaisd (what was sent, if anything, is printed, and whether its "
    "outcome is unknown).";

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
  size_t bench_senders = 1, bench_receivers = 1;
};
int Provision(const ProvisionArgs& args);

struct CaseOpenArgs {
  std::string config;  // the participant's client.toml
  std::string file;    // the case as JSON
  bool json = false;
  int timeout_s = 30;
  // Validate and print the recipients and each one's view; send nothing.
  bool check = false;
  // Runs with the same key open one case (default: the file's SHA-256).
  std::string idempotency_key;
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

// relais top: relaisd's /metrics, redrawn every interval (top.h).
struct TopArgs {
  std::string metrics_url = "http://127.0.0.1:7701/metrics";
  int interval_ms = 1000;
  int iterations = 0;  // 0: until Ctrl-C
};
int Top(const TopArgs& args);

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
  bool json = false;
};
int Stats(const StatsArgs& args);

// relais cases list: case metadata, filtered (AdminOp ListCases; operator
// role). Never a payload nor anything personal.
struct CasesListArgs {
  std::string config;
  std::vector<std::string> states;  // StateName()s
  std::string recipient, originator, case_type;
  std::string opened_after, opened_before;  // dates or UTC times
  std::string stuck_for;                    // "30m", "2h", "3d"
  std::string after;                        // a case id: page after it
  int limit = 100;
  bool json = false;
};
int CasesList(const CasesListArgs& args);

// relais backup: relaisd copies its journal (AdminOp Backup; operator role).
struct BackupArgs {
  std::string config;
  bool json = false;
  int timeout_s = 600;
};
int Backup(const BackupArgs& args);

}  // namespace relais::cli
