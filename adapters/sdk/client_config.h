#pragma once

// The TOML file every participant process (adapter, CLI) reads to reach the
// broker. Keys (relative paths are relative to the file's folder):
//
//   identity               = "secrets/caf.key.toml"  # this participant's keys
//   peers                  = "keys"                  # *.pub.toml of senders
//   broker_keys            = "keys/relais.pub.toml"  # the broker's CURVE key
//   broker_endpoint        = "tcp://127.0.0.1:7700"  # or:
//   broker_endpoint_file   = "relaisd.endpoint"      # written by relaisd
//   subject_key            = "secrets/subject.key"   # for subject references
//   state_dir              = "state"                 # local store (processed
//                                                    # ids, effects, outbox)
//   window                 = 64
//   batch_seal             = 0   # up to N envelopes under one signature
//                                # (PROTOCOL.md 4.8); 0 or 1: each alone
//   processed_retention_days = 100  # > the broker's max_ttl_days
//
// An adapter's file adds its folders (adapters/README.md).

#include <chrono>
#include <string>

#include "adapters/sdk/client.h"
#include "core/status.h"

namespace relais::sdk {

struct ParticipantConfig {
  ClientOptions client;
  std::string subject_key;  // 32 bytes, empty if not configured
  std::string base_dir;     // the config file's folder
  // broker_endpoint_file's path, when the endpoint comes from it (relaisd
  // writes it once it listens); empty with broker_endpoint.
  std::string endpoint_file;
};

// Reads the participant part of `path` (at most 4 MiB): ParseParticipantConfig
// of its text. NotFound or IOError if it cannot be read.
Result<ParticipantConfig> LoadParticipantConfig(
    const std::string& path,
    std::chrono::milliseconds endpoint_wait = std::chrono::seconds(30));

// The participant part of `text`, the contents of the file `path` (which
// names it in errors; its folder resolves relative paths). Reads the key
// files it names. If the endpoint comes from broker_endpoint_file, waits up
// to `endpoint_wait` for relaisd to write it (Unavailable after).
// InvalidArgument names the file, line and key; never throws.
Result<ParticipantConfig> ParseParticipantConfig(
    const std::string& text, const std::string& path,
    std::chrono::milliseconds endpoint_wait);

// ParseParticipantConfig in two steps, for a caller with more to check
// before it waits for relaisd: everything but the endpoint file (with
// broker_endpoint_file, client.endpoint stays empty) ...
Result<ParticipantConfig> ParseParticipantFile(const std::string& text,
                                               const std::string& path);
// ... then, if `c` has an endpoint_file, its endpoint, waiting up to
// `endpoint_wait` for relaisd to write it (Unavailable after).
Status ReadBrokerEndpoint(ParticipantConfig* c, const std::string& path,
                          std::chrono::milliseconds endpoint_wait);

// `p` relative to `base` unless absolute or empty.
std::string ResolvePath(const std::string& base, const std::string& p);

}  // namespace relais::sdk
