#pragma once

// The requests answered from what the journal holds, without writing it:
// a case's status (CaseStatusQuery), routes (RouteQuery) and an operator's
// AdminRequest. Each returns the reply frame, or a refusal with its code;
// an operator's replay or drop becomes a request for the journal writer.
//
// Thread-safety: const methods over a journal that may be written
// concurrently (RocksDB reads are); the stats callback must be safe to
// call from the caller's thread.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "broker/ingress/registry.h"
#include "broker/journal/journal.h"
#include "broker/journal/requests.h"
#include "core/clock.h"
#include "core/status.h"
#include "schemas/frames_generated.h"

namespace relais::broker {

class Queries {
 public:
  using StatsFn = std::function<wire::BrokerStatsT()>;

  // `registry`, `journal` and `clock` (null: the system clock) must
  // outlive the queries.
  Queries(const Registry* registry, const journal::Journal* journal,
          StatsFn stats, const Clock* clock = nullptr)
      : registry_(registry),
        journal_(journal),
        stats_(std::move(stats)),
        clock_(clock ? clock : Clock::System()) {}

  // ListCases reads at most this many cases per request (the loop waits
  // meanwhile); the reply then says where to go on from.
  static constexpr size_t kMaxCasesRead = 10000;

  // The case's state, if `participant` is a party to it (else UnknownCase,
  // the same answer as for a case that does not exist).
  Result<std::string> CaseStatus(std::string_view participant,
                                 uint64_t request_id,
                                 const wire::CaseStatusQuery& query) const;

  // Who would receive a case of this type from `participant` by
  // subscription (router/routes.h).
  Result<std::string> Route(std::string_view participant, uint64_t request_id,
                            const wire::RouteQuery& query) const;

  // An operator's request (NotAuthorised without the operator role): the
  // AdminReply for a listing, a dead letter or the statistics; for a
  // replay or drop, the request for the journal writer, which answers.
  Result<std::variant<std::string, journal::OperatorRequest,
                      journal::BackupRequest>>
  Admin(std::string_view participant, const journal::ReplyTo& reply,
        const wire::AdminRequest& request) const;

 private:
  Result<std::string> ListDeadLetters(uint64_t request_id,
                                      const std::string& recipient,
                                      const wire::AdminRequest& a) const;
  Result<std::string> ShowDeadLetter(uint64_t request_id,
                                     const std::string& recipient,
                                     const wire::AdminRequest& a) const;
  Result<std::string> ListCases(uint64_t request_id,
                                const std::string& recipient,
                                const wire::AdminRequest& a) const;

  const Registry* registry_;
  const journal::Journal* journal_;
  StatsFn stats_;
  const Clock* clock_;
};

}  // namespace relais::broker
