#pragma once

// Where the console opens and follows its site's cases through relais
// (docs/CONSOLE.md, "Cases"): the console is a participant like any
// adapter, with an SDK client whose session receives the site's status
// reports, and a case index of its own (case_index.h).
//
// Opening a case: the event is checked field by field as the recipients'
// adapters would (core/case_check.h); the recipients are the agent's
// choice or, by default, the agencies the broker names by subscription
// (RouteQuery); each receives its minimised view (core/minimise.h), one
// sealed envelope per view, all in one case. The case and its envelopes
// are kept, synced, before the first is sent: the same request id sends
// the very same envelopes again and gets the broker's first receipts, so
// a double click, a reload or a lost answer opens one case.
//
// Thread-safety: all methods may be called from any thread.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/france_services/case_index.h"
#include "adapters/france_services/case_requests.h"
#include "adapters/sdk/client.h"
#include "core/case_check.h"
#include "core/clock.h"
#include "core/minimise.h"

namespace relais::console {

struct DeskOptions {
  std::string site;         // this console's participant id
  std::string subject_key;  // 32 bytes, or empty: no routing by subscription
  // How long a case's messages may wait for an agency before they become
  // dead letters. Default: 30 days.
  std::chrono::hours ttl{24 * 30};
  // The longest wait for the broker in one request. Default: 10 s.
  std::chrono::milliseconds broker_timeout{10000};
  // The longest wait for a case's state before showing it as the index
  // has it. Default: 2 s.
  std::chrono::milliseconds refresh_timeout{2000};
};

// Who opens: the signed-in agent.
struct Opener {
  std::string login;
  std::string name;
};

struct CheckOutcome {
  // The event's problems (empty: it would be taken as it is).
  std::vector<CaseProblem> problems;
  // Without problems: who will receive it, and whether the broker named
  // them by subscription (else the agent chose them).
  std::vector<std::string> recipients;
  bool by_subscription = false;
  // Without problems: what each receives.
  std::vector<PayloadView> views;
};

struct OpenOutcome {
  CheckOutcome check;  // problems: nothing was opened
  std::optional<CaseRecord> record;
  bool again = false;  // the request id had opened it already
  // The case the request id opened with another request: nothing done.
  std::string reused_by;
};

class CaseDesk {
 public:
  // `client` and `index` must outlive the desk; `clock` too (null: the
  // system clock).
  CaseDesk(DeskOptions options, sdk::Client* client, CaseIndex* index,
           const Clock* clock = nullptr);

  // The checks of an opening, without sending anything. An error only
  // when the broker cannot be asked who should receive it (Timeout,
  // Unavailable, its refusal) or when nobody would: InvalidArgument (in
  // French).
  Result<CheckOutcome> Check(const CaseRequest& request);

  // Opens the case (see above); with the event's problems, or `reused_by`
  // for a request id already used with another request, nothing is done.
  // InvalidArgument (French) when nobody would receive it; the broker's
  // refusal or Timeout as they are (RefusalMessage words them). After a
  // Timeout the case is kept: the same request id completes it.
  Result<OpenOutcome> Open(const CaseRequest& request, const Opener& opener);

  // A case of the index (nullopt for any other: relaisd is not asked),
  // after asking the broker for its state when `refresh` (if the broker
  // does not answer in time, as the index has it).
  Result<std::optional<CaseRecord>> Get(const std::string& case_id,
                                        bool refresh);
  Result<std::vector<CaseRecord>> List(const CaseFilter& filter);
  // The site's participant id.
  const std::string& site() const { return options_.site; }
  CaseIndex& index() { return *index_; }

 private:
  struct Prepared {
    std::string payload;  // the CaseEvent bytes
    wire::CaseType case_type = wire::CaseType::Unknown;
    std::string subject_ref;
    std::string citizen;  // the citizen's name, for the index
  };
  Result<CheckOutcome> Prepare(const CaseRequest& request, Prepared* out);
  Result<CaseRecord> Seal(const CaseRequest& request, const Opener& opener,
                          Prepared& prepared, CheckOutcome& check);
  // Submits the record's messages not yet accepted; records the receipts.
  // True if this call recorded the case's last receipt (the index says so
  // to one caller only).
  Result<bool> SubmitPending(CaseRecord& record);
  // "<login> opened case <id> (...)", and ", sent again<after>" if `after`.
  static void LogOpened(const Opener& opener, const CaseRecord& record,
                        std::string_view after);
  // An opening whose request id is in the index already: the same opening
  // sent again. Its earlier case (its unsent messages
  // sent now), or reused_by if the request id opened another.
  Result<OpenOutcome> Again(const CaseRequest& request, CaseRecord earlier,
                            const Opener& opener);

  const DeskOptions options_;
  sdk::Client* client_;
  CaseIndex* index_;
  const Clock* clock_;
  std::mutex open_mu_;  // one request id kept at a time
};

// The console's delivery handler (sdk::DeliveryHandler): the broker's
// status reports about the site's cases go into `index`; anything else is
// refused (a console receives no cases). Retry if the index cannot write.
sdk::HandlerResult RecordReport(CaseIndex& index,
                                const sdk::Delivery& delivery);

// SHA-256 (hex) of what makes two requests the same opening: the event,
// the recipients and the mandate.
std::string RequestDigest(const CaseRequest& request);

}  // namespace relais::console
