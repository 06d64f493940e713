#pragma once

// console.toml, the configuration of `relais-console serve`
// (docs/CONSOLE.md, "Configuration"). Paths are relative to the file's
// folder. An unknown key is an error.

#include <cstdint>
#include <string>

#include "core/status.h"

namespace relais::console {

struct ConsoleConfig {
  // "HOST:PORT" (port 0: any free one). Default: "127.0.0.1:8480". A host
  // other than 127.0.0.1 needs TLS.
  std::string listen = "127.0.0.1:8480";
  std::string agents_file;  // Required: the agents file.
  // Required: the site's participant file (adapters/sdk/client_config.h:
  // its identity, the broker, its local store). Its participant id is the
  // site's.
  std::string participant_file;
  // The console's case index (case_index.h). Default: "cases".
  std::string cases_dir;
  // How long the index keeps a case after its opening. Default: 400 days
  // (a year and its follow-up). 30 to 3650.
  int64_t case_retention_days = 400;
  // How long a case's messages may wait for an agency before they become
  // dead letters. Default: 30. 1 to 90 (the broker's max_ttl_days).
  int64_t case_ttl_days = 30;
  // The attachments' total size per case, in KiB. Default: 768 (with the
  // case, under relaisd's default max_message_bytes of 1 MiB). 1 to
  // 61440; keep it under the broker's limit, which refuses larger cases.
  int64_t attachments_max_kib = 768;
  // The site's name as agents and citizens read it (the pages' header,
  // the récépissé). Default: the participant id. At most 120 bytes.
  std::string site_name;
  // The console's pages and the design system's files (a build puts them
  // in build/web). Default: web/ beside the folder of the relais-console
  // executable (bin/../web).
  std::string web_dir;
  // Where the listening URL is written once the console serves (for
  // scripts and tests). Default: none.
  std::string endpoint_file;
  // Where GET /metrics is served (core/metrics_http.h): "HOST:PORT" with
  // an IP address (0: any free port), its URL written to
  // metrics_endpoint_file. Default: none.
  std::string metrics_listen, metrics_endpoint_file;
  // PEM certificate chain and private key: both or neither. With them the
  // console serves HTTPS and its cookie says Secure. Default: none.
  std::string tls_certificate, tls_private_key;
  int64_t session_idle_minutes = 30;  // Default: 30. 1 to 720.
  int64_t session_max_hours = 10;     // Default: 10. 1 to 24.
};

// InvalidArgument naming the file, the line and the key.
Result<ConsoleConfig> LoadConsoleConfig(const std::string& path);
Result<ConsoleConfig> ParseConsoleConfig(const std::string& text,
                                         const std::string& path);

}  // namespace relais::console
