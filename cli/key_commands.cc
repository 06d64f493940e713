#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/keys.h"
#include "deploy/lib/provision.h"

namespace relais::cli {

int Keygen(const KeygenArgs& a) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(a.out_dir, ec);
  const std::string base = a.out_dir + "/" + FileNameOf(a.participant);
  const std::string secret = base + ".key.toml";
  const std::string pub = base + ".pub.toml";
  if (!a.force && (fs::exists(secret) || fs::exists(pub))) {
    std::fprintf(stderr,
                 "relais keygen: %s exists (use --force to replace it)\n",
                 secret.c_str());
    return 2;
  }
  auto id = GenerateIdentity(a.participant, Clock::System()->NowMs(), a.days);
  if (!id.ok()) {
    std::fprintf(stderr, "relais keygen: %s\n", id.status().ToString().c_str());
    return 2;
  }
  Status st = WriteIdentityFile(*id, secret);
  if (st.ok()) st = WritePublicIdentityFile(PublicOf(*id), pub);
  if (!st.ok()) {
    std::fprintf(stderr, "relais keygen: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("%s\n%s\nsigning key id %s, CURVE public key %s\n",
              secret.c_str(), pub.c_str(), id->signing.key_id.c_str(),
              id->curve.public_z85.c_str());
  return 0;
}

int Provision(const ProvisionArgs& a) {
  deploy::StackSpec spec;
  spec.dir = a.dir;
  spec.listen = a.listen;
  if (a.bench) {
    spec.extra_participants =
        deploy::BenchParticipants(a.bench_senders, a.bench_receivers);
  }
  auto layout = deploy::Provision(spec);
  if (!layout.ok()) {
    std::fprintf(stderr, "relais provision: %s\n",
                 layout.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", layout->BrokerConfig().c_str());
  return 0;
}

}  // namespace relais::cli
