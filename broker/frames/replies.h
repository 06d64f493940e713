#pragma once

// The frames the broker answers with once the journal writer has committed
// a batch: one place that turns a CommitReport's outcomes into Accepted,
// Rejected, AdminReply, StatusRecorded and SubjectsRegistered frames, each
// addressed to the connection that asked.
//
// Thread-safety: pure functions.

#include <string>
#include <vector>

#include "broker/journal/requests.h"
#include "core/status.h"

namespace relais::broker {

// One frame for one connection; `bundled`: it answers a frame that came in
// a Bundle, so it may go in one.
struct Outgoing {
  std::string routing_id;
  std::string frame;
  bool bundled = false;
};

// The code a Rejected frame gives `s`: its own if it is a refusal, else
// JournalUnavailable (a journal error's details stay in the log).
wire::RejectCode RejectCodeOf(const Status& s);

// A Rejected frame answering `to` with RejectCodeOf(status).
Outgoing RejectionTo(const journal::ReplyTo& to, const Status& status,
                     std::string_view message_id = {});

// Every answer `report` owes, in the order of its outcomes: submits,
// operator actions, partner statuses, subject registrations.
std::vector<Outgoing> ReplyFrames(const journal::CommitReport& report);

}  // namespace relais::broker
