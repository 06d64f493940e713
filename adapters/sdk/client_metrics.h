#pragma once

// What an SDK client's /metrics says of it (docs/OPERATIONS.md, "Metrics"):
// whether it is connected to relaisd and its ClientStats, each sample
// labelled with the participant. Used by the adapters and the console.

#include "adapters/sdk/client.h"
#include "core/metrics.h"

namespace relais::sdk {

// Writes the relais_client_* families for `client` (which may be null
// while it starts: then only relais_client_connected, at 0).
void WriteClientMetrics(metrics::TextWriter& w, const std::string& participant,
                        const Client* client);

}  // namespace relais::sdk
