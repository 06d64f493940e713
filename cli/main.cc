// relais: the operator and participant command line (keys, local stack,
// cases). Parses flags and hands over to relais::cli.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/command_line.h"
#include "core/log.h"

namespace {

// The command line's table: one entry per subcommand and option, read top
// to bottom; each subcommand's work is in its own function (commands.h).
// NOLINTNEXTLINE(readability-function-size)
int Run(int argc, char** argv) {
  CLI::App app{"relais: keys, local stack and cases", "relais"};
  app.require_subcommand(1);
  app.footer(relais::cli::kExitCodesHelp);
  relais::AddVersionFlag(app);
  if (!relais::SetUpLog("relais", "warn").ok()) return 1;

  relais::cli::KeygenArgs keygen;
  auto* kg = app.add_subcommand("keygen",
                                "new CURVE and Ed25519 keys for a participant");
  kg->add_option("--id", keygen.participant, "participant id, e.g. caf")
      ->required();
  kg->add_option("--out", keygen.out_dir,
                 "folder for <id>.key.toml and <id>.pub.toml")
      ->required();
  kg->add_option("--days", keygen.days,
                 "signing key validity in days, from now")
      ->check(relais::WholeNumberIn(1, 3650))
      ->capture_default_str();
  kg->add_flag("--force", keygen.force, "overwrite existing files");

  relais::cli::ProvisionArgs provision;
  auto* pv = app.add_subcommand("provision",
                                "keys and configuration of a local stack");
  pv->add_option("--dir", provision.dir, "stack folder")->required();
  pv->add_option("--listen", provision.listen,
                 "relaisd endpoint (port 0: any free port)")
      ->capture_default_str();
  auto* bench_flag = pv->add_flag(
      "--bench", provision.bench,
      "add the bench-sender and bench-receiver participants (relais-bench)");
  pv->add_option("--bench-senders", provision.bench_senders,
                 "with --bench: this many senders (bench-sender, "
                 "bench-sender-2, ...)")
      ->check(relais::WholeNumberIn(1, 64))
      ->needs(bench_flag)
      ->capture_default_str();
  pv->add_option("--bench-receivers", provision.bench_receivers,
                 "with --bench: this many receivers (bench-receiver, "
                 "bench-receiver-2, ...)")
      ->check(relais::WholeNumberIn(1, 64))
      ->needs(bench_flag)
      ->capture_default_str();

  auto* cs = app.add_subcommand("case", "open cases and follow them");
  cs->require_subcommand(1);
  relais::cli::CaseOpenArgs open;
  auto* op = cs->add_subcommand("open", "open a case from a JSON file");
  op->add_option("--config", open.config, "participant client.toml")
      ->required();
  op->add_option("file", open.file, "case JSON (docs/CASES.md)")->required();
  op->add_flag("--json", open.json, "print the receipt as JSON");
  op->add_option("--timeout", open.timeout_s,
                 "seconds to wait for relaisd and for each receipt")
      ->check(relais::WholeNumberIn(1, 3600))
      ->capture_default_str();
  op->add_flag("--check", open.check,
               "check the file and print the recipients and what each one "
               "would receive; send nothing");
  op->add_option(
      "--idempotency-key", open.idempotency_key,
      "runs with the same key open one case: a second run sends the same "
      "envelopes and prints relaisd's first receipts (default: the file's "
      "SHA-256, so running the same file again never opens a second case)");
  relais::cli::CaseStatusArgs status;
  auto* st =
      cs->add_subcommand("status", "per-recipient status and trail of a case");
  st->add_option("--config", status.config, "participant client.toml")
      ->required();
  st->add_option("case_id", status.case_id, "case id")->required();
  st->add_flag("--json", status.json, "print JSON");
  st->add_option("--wait-for", status.wait_for,
                 "wait until every recipient is at least at this status "
                 "(e.g. delivered)");
  st->add_option("--timeout", status.timeout_s, "seconds to wait")
      ->check(relais::WholeNumberIn(1, 3600))
      ->capture_default_str();

  relais::cli::DeadLettersArgs dl;
  auto* dls = app.add_subcommand(
      "dead-letters", "messages that could not be delivered (operator role)");
  dls->require_subcommand(1);
  std::vector<CLI::App*> dl_actions;
  for (const char* action : {"list", "show", "replay", "drop"}) {
    auto* c = dls->add_subcommand(
        action, std::string(action) == "list"
                    ? "dead letters, by recipient and sequence"
                : std::string(action) == "show"
                    ? "one dead letter and its case event"
                : std::string(action) == "replay"
                    ? "put one back in its recipient's queue"
                    : "remove one for good (the audit chain keeps it)");
    c->add_option("--config", dl.config, "the operator's client.toml")
        ->required();
    if (std::string(action) == "list") {
      c->add_option("--recipient", dl.recipient, "only this recipient's");
      // CLI11 reads "-1" into an unsigned number as 2^64 - 1.
      c->add_option("--after", dl.sequence,
                    "with --recipient: after this sequence")
          ->check(relais::kWholeNumber);
      c->add_option("--limit", dl.limit, "at most this many (default 100)")
          ->check(relais::WholeNumberIn(1, 1000));
      c->add_flag("--json", dl.json, "print JSON");
    } else {
      c->add_option("recipient", dl.recipient, "the dead letter's recipient")
          ->required();
      c->add_option("sequence", dl.sequence, "the dead letter's sequence")
          ->check(relais::kWholeNumber)
          ->required();
    }
    dl_actions.push_back(c);
  }
  relais::cli::StatsArgs stats;
  auto* sts = app.add_subcommand("stats", "relaisd counters (operator role)");
  sts->add_option("--config", stats.config, "the operator's client.toml")
      ->required();
  sts->add_flag("--json", stats.json, "print JSON");

  relais::cli::CasesListArgs cases;
  auto* cl = app.add_subcommand("cases", "cases' metadata (operator role)");
  cl->require_subcommand(1);
  auto* cll = cl->add_subcommand(
      "list", "cases filtered by state, recipient, originator, type, date");
  cll->add_option("--config", cases.config, "the operator's client.toml")
      ->required();
  cll->add_option("--state", cases.states,
                  "a recipient in this state (repeatable): sent, delivered, "
                  "received, in_progress, done, rejected, expired, "
                  "undeliverable");
  cll->add_option("--recipient", cases.recipient,
                  "only cases for this participant (the state and stuck "
                  "filters then look at it alone)");
  cll->add_option("--originator", cases.originator,
                  "opened by this participant");
  cll->add_option("--type", cases.case_type, "case type, e.g. address_change");
  cll->add_option("--opened-after", cases.opened_after,
                  "2026-11-30 or 2026-11-30T10:00:00Z (UTC)");
  cll->add_option("--opened-before", cases.opened_before, "the same");
  cll->add_option("--stuck-for", cases.stuck_for,
                  "a recipient still to act, unchanged this long: 90s, 30m, "
                  "2h, 3d");
  cll->add_option("--after", cases.after, "list after this case id (paging)");
  cll->add_option("--limit", cases.limit, "at most this many")
      ->check(relais::WholeNumberIn(1, 100000))
      ->capture_default_str();
  cll->add_flag("--json", cases.json, "print JSON");

  relais::cli::BackupArgs backup;
  auto* bk = app.add_subcommand(
      "backup",
      "relaisd copies its journal into its backup_dir (operator role)");
  bk->add_option("--config", backup.config, "the operator's client.toml")
      ->required();
  bk->add_flag("--json", backup.json, "print JSON");
  bk->add_option("--timeout", backup.timeout_s, "seconds to wait for the copy")
      ->check(relais::WholeNumberIn(1, 86400))
      ->capture_default_str();

  relais::cli::TopArgs top;
  auto* tp = app.add_subcommand(
      "top", "a live view of relaisd's /metrics (rates, backlogs, latency)");
  tp->add_option("--metrics", top.metrics_url,
                 "relaisd's metrics URL ([broker] metrics_listen; a local "
                 "stack's is in relaisd.metrics)")
      ->capture_default_str();
  tp->add_option("--interval-ms", top.interval_ms, "time between refreshes")
      ->check(relais::WholeNumberIn(100, 3600000))
      ->capture_default_str();
  tp->add_option("--iterations", top.iterations,
                 "refresh this many times, then exit (0: until Ctrl-C)")
      ->check(relais::WholeNumberIn(0, 1000000));

  if (auto rc = relais::ParseCommandLine(app, argc, argv)) return *rc;
  if (tp->parsed()) return relais::cli::Top(top);
  if (bk->parsed()) return relais::cli::Backup(backup);
  if (cll->parsed()) return relais::cli::CasesList(cases);
  for (auto* c : dl_actions) {
    if (c->parsed()) {
      dl.action = c->get_name();
      return relais::cli::DeadLetters(dl);
    }
  }
  if (sts->parsed()) return relais::cli::Stats(stats);
  if (kg->parsed()) return relais::cli::Keygen(keygen);
  if (pv->parsed()) return relais::cli::Provision(provision);
  if (op->parsed()) return relais::cli::CaseOpen(open);
  if (st->parsed()) return relais::cli::CaseStatus(status);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    // A bug: say so instead of aborting.
    std::fprintf(stderr, "relais: internal error (%s); please report it\n",
                 e.what());
    return 1;
  }
}
