#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/text.h"
#include "deploy/lib/provision.h"

namespace relais::cli {

int Keygen(const KeygenArgs& a) {
  namespace fs = std::filesystem;
  // What the person typed is checked before anything is made with it.
  if (!IsValidParticipantId(a.participant)) {
    std::fprintf(stderr,
                 "relais keygen: --id: '%s' is not a participant id (1 to 64 "
                 "characters a-z, 0-9 and '-', in one or two segments "
                 "separated by '/', e.g. caf or france-services/paris-15)\n",
                 Escaped(a.participant, 80).c_str());
    return 2;
  }
  if (a.out_dir.empty()) {
    std::fprintf(stderr,
                 "relais keygen: --out is empty: give the folder for the key "
                 "files\n");
    return 2;
  }
  std::error_code ec;
  fs::create_directories(a.out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "relais keygen: cannot create %s: %s\n",
                 Escaped(a.out_dir).c_str(), ec.message().c_str());
    return 1;
  }
  const std::string base = a.out_dir + "/" + FileNameOf(a.participant);
  const std::string secret = base + ".key.toml";
  const std::string pub = base + ".pub.toml";
  if (!a.force && (fs::exists(secret) || fs::exists(pub))) {
    std::fprintf(stderr,
                 "relais keygen: %s exists (use --force to replace it)\n",
                 Escaped(secret).c_str());
    return 2;
  }
  auto id = GenerateIdentity(a.participant, Clock::System()->NowMs(), a.days);
  if (!id.ok()) {
    std::fprintf(stderr, "relais keygen: %s\n", Said(id.status()).c_str());
    return 2;
  }
  Status st = WriteIdentityFile(*id, secret);
  if (st.ok()) st = WritePublicIdentityFile(PublicOf(*id), pub);
  if (!st.ok()) {
    std::fprintf(stderr, "relais keygen: %s\n", Said(st).c_str());
    return 1;
  }
  std::printf("%s\n%s\nsigning key id %s, CURVE public key %s\n",
              Escaped(secret).c_str(), Escaped(pub).c_str(),
              id->signing.key_id.c_str(), id->curve.public_z85.c_str());
  return 0;
}

int Provision(const ProvisionArgs& a) {
  // relaisd's own check: what it would refuse is not written into its file.
  if (Status st = CheckTcpEndpoint(a.listen, /*listening=*/true, "--listen");
      !st.ok()) {
    std::fprintf(stderr, "relais provision: %s\n", st.message().c_str());
    return 2;
  }
  deploy::StackSpec spec;
  spec.dir = a.dir;
  spec.listen = a.listen;
  if (a.bench) {
    spec.extra_participants =
        deploy::BenchParticipants(a.bench_senders, a.bench_receivers);
  }
  spec.keep_edited_files = true;
  std::vector<std::string> kept;
  auto layout = deploy::Provision(spec, &kept);
  if (!layout.ok()) {
    std::fprintf(stderr, "relais provision: %s\n",
                 Said(layout.status()).c_str());
    return ExitCodeOf(layout.status());
  }
  for (const auto& path : kept) {
    std::fprintf(stderr,
                 "relais provision: kept %s as it is: it was changed since "
                 "provisioning wrote it (remove it to have it written "
                 "again)\n",
                 Escaped(path, 512).c_str());
  }
  std::printf("%s\n", layout->BrokerConfig().c_str());
  return 0;
}

}  // namespace relais::cli
