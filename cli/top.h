#pragma once

// relais top: a live view of relaisd's /metrics (docs/OPERATIONS.md,
// "Metrics"). Each refresh reads the metrics once and compares them with
// the previous read: rates per second over the interval, latency
// percentiles of the interval's observations, and per participant whether
// it is online, its backlog and the age of its oldest waiting message.

#include <map>
#include <string>

namespace relais::cli {

using Samples = std::map<std::string, double>;

// One screen of the view (lines of at most 100 columns). `before` is the
// previous read (empty at the first: then rates are shown as "-" and the
// percentiles are those since relaisd started), `seconds` the time
// between the two, `source` what was read and `now` the local time to
// show ("YYYY-MM-DD HH:MM:SS").
std::string RenderTop(const Samples& now, const Samples& before, double seconds,
                      const std::string& source, const std::string& now_text);

}  // namespace relais::cli
