#pragma once

// The adapter runtime: what every agency adapter process shares. An agency
// provides a Translator (adapters/translation/translator.h: its native
// formats); the runtime does the rest:
//
//   inbox/    the partner system drops native files here (write, then
//             rename: files starting with '.' or ending in .tmp/.part are
//             not read). Each is taken (renamed to a hidden name), its
//             cases translated, sealed and kept (intake.h: a crash
//             resubmits the same envelopes), and submitted. When the broker
//             accepted all of them the file moves to done/ with a
//             .receipt.json beside it; if it is not a type the translator
//             reads, cannot be translated or the broker refuses it, to
//             rejected/ with a .error saying why. Neither folder's files
//             are ever overwritten (FreeName).
//   outbox/   each delivered case is handed over here in the native format,
//             once (folder_hand_off.h: a crash neither loses it nor shows
//             it twice).
//   status/   the partner system reports its progress with a delivered
//             case: a JSON file {"case_id": "..." (this participant's
//             latest message of the case) or "message_id": "<32 hex>",
//             "status": "received" | "in_progress" | "done" | "rejected",
//             "reason": "..."} (a reason is required for "rejected"). The
//             runtime sends it to the broker (StatusUpdate), which relays it to
//             the case's originator; the file then moves to done/ (recorded) or
//             rejected/ with a .error (refused, or malformed).
//   subjects/ the partner system registers the citizens it holds a file on
//             (routing by subscription): a JSON file {"register": [NIR,
//             ...], "unregister": [NIR, ...]}. The runtime sends their
//             subject references (never the NIRs) to the broker's reference
//             directory; the file then moves to done/ with a .receipt.json,
//             or to rejected/ with a .error naming the bad NIR.
//
// Thread-safety: Run() on one thread; RequestStop() from any thread or a
// signal handler.

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/sdk/adapter_config.h"
#include "adapters/sdk/client.h"
#include "adapters/sdk/client_config.h"
#include "adapters/sdk/folder_hand_off.h"
#include "adapters/sdk/http_front.h"
#include "adapters/sdk/intake.h"
#include "adapters/translation/translator.h"
#include "core/envelope.h"
#include "core/metrics_http.h"
#include "core/status.h"
#include "schemas/cases_generated.h"

namespace relais::sdk {

using translation::NativeFile;
using translation::OutgoingCase;
using translation::Translator;

class AdapterRuntime {
 public:
  AdapterRuntime(AdapterConfig config, std::unique_ptr<Translator> translator);
  ~AdapterRuntime();

  // Connects and serves until RequestStop(). Errors only for start-up
  // failures (folders, keys, store).
  Status Run();
  void RequestStop() { stop_.store(true); }
  // The /metrics text (docs/OPERATIONS.md, "Metrics"): the partner folders'
  // files, the client's figures, the process's. Any thread while Run()
  // serves it.
  std::string RenderMetrics() const;

  // Scans the inbox once (Run does it every poll interval). Public for tests.
  void ScanInbox();
  // Sends the partner's status files once (Run does it every interval).
  void ScanStatus();
  // Sends the partner's subject registrations once (every interval).
  void ScanSubjects();

 private:
  HandlerResult OnDelivery(const Delivery& d);
  HandlerResult OnStatusReport(const EnvelopeView& env,
                               const wire::StatusReport& report);
  // The sealed envelopes of every case in inbox file `name` (IntakeSteps).
  Result<std::vector<std::string>> SealFile(const std::string& name,
                                            std::string_view contents);
  // Seals `drafts` in order: one by one, or in batches of the client's
  // batch_seal_max (client.toml batch_seal) under one signature each.
  Result<std::vector<std::string>> SealDrafts(
      std::vector<EnvelopeDraft> drafts);
  // Submits `envelopes` together: each one's receipt entry, or refusal.
  std::vector<Result<nlohmann::ordered_json>> SubmitAll(
      const std::vector<std::string>& envelopes);
  // Moves `name` from `from` to rejected/ with a .error saying `why`.
  void Reject(const std::string& from, const std::string& name,
              const std::string& why);
  // Writes done/<as>.receipt.json (`receipt`, which holds the file's
  // "sha256", with "as" added when the name was taken), then moves
  // `from`/<name> to done/<as>; false (logged) if either failed. <as> is
  // FreeName's, or <name> again for a receipt of these very bytes whose
  // file never came (a crash between the two writes): an earlier file's
  // receipt is never overwritten.
  bool Done(const std::string& from, const std::string& name,
            nlohmann::ordered_json receipt);
  // A partner's JSON file in `dir` (and the SHA-256 of its bytes, hex, in
  // `*sha256` if not null): nullopt if it is not there now, or after moving
  // it to rejected/ if it is not a JSON object.
  std::optional<nlohmann::ordered_json> ReadPartnerJson(
      const std::string& dir, const std::string& name, size_t max_bytes,
      std::string* sha256 = nullptr);
  void ReportFile(const std::string& name);
  void RegisterFile(const std::string& name);
  // This participant's latest message of `case_id` (a CaseStatusQuery).
  Result<std::string> LatestMessageTo(const std::string& case_id);

  AdapterConfig config_;
  std::unique_ptr<Translator> translator_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<HttpFront> http_;
  std::unique_ptr<Intake> intake_;
  FolderHandOffs hand_offs_;
  std::atomic<bool> stop_{false};
  metrics::MetricsServer metrics_;
};

// main() of an adapter process: parses --config, installs SIGINT/SIGTERM
// handlers and runs the runtime with `translator`. Returns the exit code.
int AdapterMain(int argc, char** argv, const char* name,
                std::unique_ptr<Translator> translator);

}  // namespace relais::sdk
