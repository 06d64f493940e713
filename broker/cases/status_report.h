#pragma once

// The status reports the broker owes the sender of a message (a dead
// letter, an expiry, a replay, a refused delivery, a partner's progress):
// docs/PROTOCOL.md, "Status reports". Built here as an envelope draft from
// the broker to the sender; the journal writer seals and journals it in
// the same batch as the change it reports.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <string_view>

#include "core/envelope.h"
#include "schemas/case_state_generated.h"

namespace relais::broker::cases {

struct ReportFacts {
  std::string_view recipient;  // whose delivery the report is about
  wire::RecipientState state = wire::RecipientState::Sent;
  uint32_t attempts = 0;
  std::string_view detail;
};

// A StatusReport about message `about`, from `broker_id` to its sender:
// the same case, case type and subject reference, in reply to it, created
// at `now_ms` and expiring `ttl_ms` later. `about` must not be the
// broker's own (no report about a report: the draft would go from the
// broker to itself, and sealing it fails).
EnvelopeDraft StatusReportDraft(const EnvelopeView& about,
                                const ReportFacts& facts,
                                std::string_view broker_id, int64_t now_ms,
                                int64_t ttl_ms);

}  // namespace relais::broker::cases
