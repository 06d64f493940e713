#pragma once

// relaisd's configuration file (TOML). deploy/relaisd.example.toml is the
// documented example; every key and its default is listed there and in
// docs/OPERATIONS.md. Relative paths are relative to the file's folder.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "broker/delivery/sessions.h"
#include "broker/ingress/registry.h"
#include "broker/journal/journal.h"
#include "broker/journal/writer.h"
#include "core/envelope.h"
#include "core/status.h"

namespace relais::broker {

struct BrokerConfig {
  // The broker's participant id. Default: "relais".
  std::string broker_id = "relais";
  // ZeroMQ endpoint to bind; port 0 picks a free port. Default:
  // "tcp://127.0.0.1:7700".
  std::string listen = "tcp://127.0.0.1:7700";
  // Folder of the RocksDB journal. Required.
  std::string journal_dir;
  // The broker's secret identity file (its CURVE server key). Required.
  std::string identity_file;
  // If set, the bound endpoint is written there once listening.
  std::string endpoint_file;
  // Where GET /metrics is served (Prometheus text format): "HOST:PORT",
  // an IPv4 address or a bracketed IPv6 one; port 0 picks a free port;
  // empty turns it off. Default: "127.0.0.1:7701" (loopback).
  std::string metrics_listen = "127.0.0.1:7701";
  // If set, "http://HOST:PORT/metrics" is written there once listening.
  std::string metrics_endpoint_file;
  // Where operators' backups go (AdminOp Backup: a folder each). Default:
  // "backups" beside the configuration file (a BrokerConfig made in code
  // without one: journal_dir + ".backups").
  std::string backup_dir;
  // Largest envelope accepted (MessageTooLarge above). Default: 1 MiB.
  uint32_t max_message_bytes = 1 << 20;
  // Cap on a connection's delivery window. Default: 1024.
  uint32_t max_window = 1024;
  // Redelivery of unacknowledged deliveries on a live connection.
  delivery::RedeliveryPolicy redelivery;
  // Heartbeat interval announced in Welcome. Default: 2000 ms.
  uint32_t heartbeat_interval_ms = 2000;
  // How long a message's envelope stays in the journal after its
  // expires_at_ms (then deleted: dead letters can no longer be replayed;
  // the case's trail and the audit chain stay). Default: 30 days.
  std::chrono::milliseconds payload_retention =
      journal::JournalWriter::kDefaultPayloadRetention;
  // Envelope time checks. Defaults: 300 s skew, 90 days time to live.
  TimePolicy time_policy;
  // Signature-verifying threads; 0 = one per core. Default: 0.
  uint32_t ingress_threads = 0;
  // Submits waiting for verification before Overloaded. Default: 8192.
  uint32_t ingress_queue = 8192;
  // Envelope bytes received and not yet answered (verifying, queued for
  // the journal, syncing) before new submits get Overloaded: bounds the
  // broker's memory whatever the senders do. Default: 256 MiB.
  uint64_t max_pending_bytes = 256 << 20;
  // spdlog level: trace, debug, info, warn, error. Default: "info".
  std::string log_level = "info";
  // "text" (a line of text per event) or "json" (JSON lines). Default:
  // "text".
  std::string log_format = "text";
  journal::JournalOptions journal;
  std::vector<ParticipantEntry> participants;
};

// Reads and checks `path` (at most 4 MiB): ParseBrokerConfig of its text.
// NotFound or IOError if it cannot be read.
Result<BrokerConfig> LoadBrokerConfig(const std::string& path);

// Checks `text`, the contents of the file `path`: `path` names the file in
// errors and its folder resolves relative paths; the participants' key
// files are read. InvalidArgument names the file, line and key; never
// throws, whatever the text.
Result<BrokerConfig> ParseBrokerConfig(const std::string& text,
                                       const std::string& path);

}  // namespace relais::broker
