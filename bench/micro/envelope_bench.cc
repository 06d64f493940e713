// Micro-benchmarks of the per-message costs on the path: seal (build +
// Ed25519 sign), SHA-256 alone, parse (Verifier + payload SHA-256), open (parse
// + verify), batch seals and their opening (one signature for N envelopes), and
// the sender's data minimisation (one payload per view of a case).

#include <benchmark/benchmark.h>

#include "core/cases.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/envelope.h"
#include "core/frame.h"
#include "core/keys.h"
#include "core/minimise.h"

namespace relais {
namespace {

Identity MakeIdentity() {
  return *GenerateIdentity("bench-sender", Clock::System()->NowMs() - 60000, 1);
}

EnvelopeDraft Draft(size_t payload_bytes) {
  EnvelopeDraft d;
  d.case_id = "c-20261123-bench";
  d.sender = "bench-sender";
  d.recipients = {"bench-receiver"};
  d.case_type = wire::CaseType::AssistedCase;
  d.encoding = wire::PayloadEncoding::Opaque;
  d.payload = std::string(payload_bytes, 'p');
  d.created_at_ms = Clock::System()->NowMs();
  d.expires_at_ms = d.created_at_ms + 3600000;
  return d;
}

void BM_Seal(benchmark::State& state) {
  const Identity id = MakeIdentity();
  const EnvelopeDraft d = Draft(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto sealed = SealEnvelope(d, id.signing);
    benchmark::DoNotOptimize(sealed);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Seal)->Arg(1024)->Arg(64 << 10);

// One SHA-256: a Merkle node (65 bytes) and a 1 KiB payload; each message
// takes about ten (header, payload, its inclusion proof).
void BM_Sha256(benchmark::State& state) {
  const std::string data(static_cast<size_t>(state.range(0)), 'h');
  for (auto _ : state) {
    auto digest = crypto::Sha256(data);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(65)->Arg(1024);

void BM_ParseEnvelope(benchmark::State& state) {
  const Identity id = MakeIdentity();
  const std::string bytes =
      SealEnvelope(Draft(static_cast<size_t>(state.range(0))), id.signing)
          ->bytes;
  for (auto _ : state) {
    auto v = ParseEnvelope(bytes);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseEnvelope)->Arg(1024)->Arg(64 << 10);

void BM_OpenAndVerify(benchmark::State& state) {
  const Identity id = MakeIdentity();
  KeyDirectory keys;
  keys.Add(PublicOf(id)).PermitUnchecked();
  const std::string bytes =
      SealEnvelope(Draft(static_cast<size_t>(state.range(0))), id.signing)
          ->bytes;
  const int64_t now = Clock::System()->NowMs();
  for (auto _ : state) {
    auto v = OpenEnvelope(bytes, keys, now, TimePolicy());
    if (!v.ok()) state.SkipWithError("open failed");
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_OpenAndVerify)->Arg(1024)->Arg(64 << 10);

// A batch seal of N envelopes of 1 KiB (PROTOCOL.md 4.8): one signature,
// N headers hashed into the tree; items = envelopes.
void BM_SealBatch(benchmark::State& state) {
  const Identity id = MakeIdentity();
  const std::vector<EnvelopeDraft> drafts(static_cast<size_t>(state.range(0)),
                                          Draft(1024));
  for (auto _ : state) {
    auto sealed = SealBatch(drafts, id.signing);
    if (!sealed.ok()) state.SkipWithError("seal failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SealBatch)->Arg(1)->Arg(16)->Arg(256);

// Opening every envelope of a batch of N as a recipient or the broker
// does, with a cache of verified roots: one verification per batch, then
// hashes; items = envelopes.
void BM_OpenBatchSealed(benchmark::State& state) {
  const Identity id = MakeIdentity();
  KeyDirectory keys;
  keys.Add(PublicOf(id)).PermitUnchecked();
  const std::vector<EnvelopeDraft> drafts(static_cast<size_t>(state.range(0)),
                                          Draft(1024));
  const auto batch = *SealBatch(drafts, id.signing);
  const int64_t now = Clock::System()->NowMs();
  for (auto _ : state) {
    VerifiedRoots roots;
    for (const auto& env : batch) {
      auto v = OpenEnvelope(env.bytes, keys, now, TimePolicy(), true, &roots);
      if (!v.ok()) state.SkipWithError("open failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_OpenBatchSealed)->Arg(1)->Arg(16)->Arg(256);

void BM_FrameRoundTrip(benchmark::State& state) {
  const Identity id = MakeIdentity();
  const std::string env = SealEnvelope(Draft(1024), id.signing)->bytes;
  for (auto _ : state) {
    const std::string frame = SubmitFrame(1, env);
    auto f = ParseFrame(frame);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_FrameRoundTrip);

// An RSA application with a household and every agency's reference, to
// the CPAM and France Travail: two views, each cut differently.
void BM_ViewsFor(benchmark::State& state) {
  const std::string citizen =
      R"({"nir": "284057512345672", "identity": {"birth_name": "MARTIN",
          "given_names": ["Claire"], "birth_date": "1984-05-12",
          "sex": "Female", "birthplace_cog": "75115"}})";
  const std::string payload = *CaseEventFromJson(
      R"({"body_type": "RsaApplication", "body": {"applicant": )" + citizen +
      R"(, "household": [{"person": )" + citizen +
      R"(, "relationship": "Spouse"}], "application_date": "2026-11-02",
          "monthly_resources_cents": 41250, "references": [
          {"agency": "caf", "identifier": "1234567"},
          {"agency": "cpam", "identifier": "284057512345672"},
          {"agency": "france-travail", "identifier": "1234567A"}]}})");
  const std::vector<std::string> to = {"cpam", "france-travail"};
  for (auto _ : state) {
    auto views = ViewsFor(payload, to);
    benchmark::DoNotOptimize(views);
  }
}
BENCHMARK(BM_ViewsFor);

}  // namespace
}  // namespace relais

BENCHMARK_MAIN();
