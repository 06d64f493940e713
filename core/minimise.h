#pragma once

// Data minimisation (docs/CASES.md, "Who gets
// which fields"): what one recipient may see of a case event. The payload
// is signed end to end, so the broker cannot cut it: the sender seals one
// envelope per distinct view, all in the same case.
//
// The rules, applied to the event (its object form, schemas/cases.fbs):
//   - the NIR (every "nir" field, at any depth) only for recipients entitled
//     to it (NirEntitled);
//   - agency references: only the recipient's own;
//   - some fields only for the agencies that need them, by case type
//     (class Cut in minimise.cc, the table of docs/CASES.md).

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace relais {

// True for the agencies entitled to the NIR: caf, cpam, dgfip,
// france-travail.
bool NirEntitled(std::string_view recipient);

// The CaseEvent bytes `recipient` may receive of `payload` (CaseEvent
// bytes): `payload` itself when nothing is cut. InvalidArgument if the
// payload is not a valid case event.
Result<std::string> MinimisedPayload(std::string_view payload,
                                     std::string_view recipient);

// One sealed view of a case: its payload and the recipients it goes to.
struct PayloadView {
  std::string payload;
  std::vector<std::string> recipients;
};
// The recipients grouped by the payload they may receive, in the order of
// their first recipient.
Result<std::vector<PayloadView>> ViewsFor(
    std::string_view payload, const std::vector<std::string>& recipients);

}  // namespace relais
