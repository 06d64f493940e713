#pragma once

// Rendering of a case's state (schemas/case_state.fbs) for people and for
// scripts.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "schemas/case_state_generated.h"

namespace relais::cli {

// "sent", "delivered", "received", "in_progress", "done", "rejected",
// "expired".
std::string_view StateName(wire::RecipientState state);
// Rank in the lifecycle (sent 0 ... done 4); rejected and expired are -1.
int StateRank(wire::RecipientState state);
// -1 for an unknown name.
int StateRankOf(std::string_view name);

// {"case_id", "case_type", "originator", "opened_at", "recipients": [{
// "recipient", "status", "updated_at", "reason"?}], "trail": [{"at",
// "event", "party", "message_id", "sequence", "detail"?}]}
nlohmann::json CaseStateToJson(const wire::CaseState& state);
// A table of recipients and the trail, for a terminal.
std::string CaseStateToText(const wire::CaseState& state);

}  // namespace relais::cli
