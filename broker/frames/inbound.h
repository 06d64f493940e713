#pragma once

// What a participant's frames may say, checked before anything of them is
// used or repeated (a reason, a log line): each check names the field, and
// a frame that passes becomes the request the stage that acts on it needs.
// Submits are checked by ingress (broker/ingress/), read-only requests by
// queries.h.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <string_view>

#include "broker/journal/requests.h"
#include "core/status.h"
#include "schemas/frames_generated.h"

namespace relais::broker {

// The Hello of the connection authenticated as `participant`: its text
// fields, its participant (HelloMismatch) and protocol version
// (UnsupportedVersion).
Status CheckHello(const wire::Hello& hello, std::string_view participant);

// A Credit window of at most `max_window` (WindowTooLarge).
Status CheckCredit(const wire::Credit& credit, uint32_t max_window);

// A DeliveryAck's outcome and reason (MalformedFrame, or the text check's
// code).
Status CheckAck(const wire::DeliveryAck& ack);

// A StatusUpdate's reason, message id and state, as a request for the
// journal writer.
Result<journal::StatusRequest> StatusRequestOf(const wire::StatusUpdate& update,
                                               std::string_view participant,
                                               journal::ReplyTo reply);

// A SubjectRegistration of 1 to kMaxSubjectRefs references, as a request
// for the journal writer.
Result<journal::SubjectRequest> SubjectRequestOf(
    const wire::SubjectRegistration& registration, std::string_view participant,
    journal::ReplyTo reply);

}  // namespace relais::broker
