// libFuzzer target: the configuration files, the bytes as the text of each
// in turn: relaisd.toml (broker::ParseBrokerConfig), a participant's
// client.toml (sdk::ParseParticipantConfig) and an adapter's adapter.toml
// (sdk::ParseAdapterConfig). The files they name resolve in a folder laid
// out as `relais provision` does (keys/, secrets/, relaisd.endpoint, one
// folder per participant), with keys made at start, so that the seeds
// (provisioned files) are read to the end. Nothing may crash or throw; a
// file is either read or refused with a Status.

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "adapters/sdk/adapter_config.h"
#include "broker/config.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/keys.h"
#include "core/subject.h"

using namespace relais;

namespace {

namespace fs = std::filesystem;

// A provisioned stack's folder without its configuration files; removed at
// exit (never destroyed before that).
const std::string& StackDir() {
  static const std::string* dir = new std::string([] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/relais-config-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    fs::create_directories(pattern + "/keys");
    fs::create_directories(pattern + "/secrets");
    const int64_t now = Clock::System()->NowMs();
    for (const char* p : {"relais", "caf", "cpam", "dgfip", "france-travail",
                          "france-services/paris-15", "operator"}) {
      std::string file = p;
      for (char& c : file) c = c == '/' ? '_' : c;
      auto id = GenerateIdentity(p, now - 86400000, 365);
      fs::create_directories(pattern + "/" + file + "/state");
      if (!id.ok() ||
          !WriteIdentityFile(*id, pattern + "/secrets/" + file + ".key.toml")
               .ok() ||
          !WritePublicIdentityFile(PublicOf(*id),
                                   pattern + "/keys/" + file + ".pub.toml")
               .ok()) {
        std::abort();
      }
    }
    if (!WriteSubjectKey(pattern + "/secrets/subject.key",
                         std::string(32, '\x05'))
             .ok() ||
        !WriteFileAtomic(pattern + "/relaisd.endpoint",
                         "tcp://127.0.0.1:7700\n")
             .ok()) {
      std::abort();
    }
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(StackDir(), ec);
    });
    return pattern;
  }());
  return *dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string& dir = StackDir();
  auto broker = broker::ParseBrokerConfig(text, dir + "/relaisd.toml");
  if (broker.ok() && broker->participants.empty()) std::abort();
  const std::chrono::milliseconds no_wait(0);
  auto client =
      sdk::ParseParticipantConfig(text, dir + "/caf/client.toml", no_wait);
  (void)client;
  auto adapter =
      sdk::ParseAdapterConfig(text, dir + "/cpam/adapter.toml", no_wait);
  if (adapter.ok() && adapter->participant.client.state_dir.empty()) {
    std::abort();
  }
  return 0;
}
