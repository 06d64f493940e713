#pragma once

// Routing by subscription (docs/PROTOCOL.md 7.4): which participants a
// case of a given type goes to when its sender lets the broker name them
// (a RouteQuery, then a Submit to the participants named).
//
// Thread-safety: RouteBySubscription reads the registry and the journal,
// both safe to read from the loop thread.

#include <string>
#include <string_view>
#include <vector>

#include "broker/ingress/registry.h"
#include "broker/journal/journal.h"
#include "core/status.h"

namespace relais::broker::router {

// The participants subscribed to `case_type` that `sender` may send it to,
// sorted: those subscribed to every case of the type, and those subscribed
// to known citizens only if they registered `subject_ref` (empty: none
// did). Never the sender itself. InvalidArgument if `subject_ref` is
// neither empty nor 32 bytes; the journal's error if the reference
// directory cannot be read.
Result<std::vector<std::string>> RouteBySubscription(
    const Registry& registry, const journal::Journal& journal,
    std::string_view sender, wire::CaseType case_type,
    std::string_view subject_ref);

}  // namespace relais::broker::router
