#pragma once

// An adapter's TOML file (adapter.toml, adapters/README.md): the
// participant keys of client_config.h plus the folders the partner system
// shares with the adapter and its optional local HTTP endpoint. Relative
// paths are relative to the file's folder.

#include <chrono>
#include <string>
#include <string_view>

#include "adapters/sdk/client_config.h"
#include "core/status.h"

namespace relais::sdk {

struct AdapterConfig {
  ParticipantConfig participant;
  // The folders (adapter.h). Defaults: "inbox", "outbox", "done",
  // "rejected", "status", "subjects" beside the file.
  std::string inbox, outbox, done, rejected, status, subjects;
  // How often the inbox is scanned. Default: 200 ms.
  int poll_interval_ms = 200;
  // The local HTTP endpoint (http_front.h): "127.0.0.1:PORT" (0: any free
  // port), written as "http://127.0.0.1:PORT" to http_endpoint_file. Empty:
  // no endpoint.
  std::string http_listen, http_endpoint_file;
  // Where GET /metrics is served (core/metrics_http.h): "HOST:PORT" with an
  // IP address (0: any free port), written as "http://HOST:PORT/metrics" to
  // metrics_endpoint_file. Empty: none.
  std::string metrics_listen, metrics_endpoint_file;
};

// Reads an adapter's TOML file (at most 4 MiB): ParseAdapterConfig of its
// text. NotFound or IOError if it cannot be read.
Result<AdapterConfig> LoadAdapterConfig(
    const std::string& path,
    std::chrono::milliseconds wait = std::chrono::seconds(30),
    std::string_view agency = {});

// `text`, the contents of the adapter file `path` (which names it in errors
// and whose folder resolves relative paths): ParseParticipantConfig, then
// inbox, outbox, done, rejected, status, subjects (folders),
// poll_interval_ms, http_listen, http_endpoint_file, metrics_listen and
// metrics_endpoint_file. InvalidArgument names the file, line and key, or
// the folders: none may be empty, and the six folders and state_dir must
// be seven different folders; with an `agency`, the identity must be that
// agency's (the adapter of one agency must not take another's
// deliveries). Only then, having found no mistake, waits up to `wait` for
// relaisd's endpoint file (Unavailable after). Never throws.
Result<AdapterConfig> ParseAdapterConfig(const std::string& text,
                                         const std::string& path,
                                         std::chrono::milliseconds wait,
                                         std::string_view agency = {});

}  // namespace relais::sdk
