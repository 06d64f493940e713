// Micro-benchmarks of relaisd's own stages for one 1 KiB message: the
// frame's parse (Verifier), ingress's whole check of a submission
// (VerifySubmission: envelope parse, sender, routes, key lookup, Ed25519
// verification, times), the route check alone, the subscription lookup,
// and the /metrics text of 50 participants. Items/s is messages/s.

#include <benchmark/benchmark.h>

#include "broker/ingress/ingress.h"
#include "broker/ingress/registry.h"
#include "broker/metrics.h"
#include "core/clock.h"
#include "core/envelope.h"
#include "core/frame.h"
#include "core/keys.h"

namespace relais::broker {
namespace {

// A sender and a recipient that may exchange every case type.
struct Setup {
  Identity sender, recipient;
  std::unique_ptr<Registry> registry;
  std::string envelope;  // sealed, 1 KiB payload

  Setup() {
    const int64_t now = Clock::System()->NowMs();
    sender = *GenerateIdentity("bench-sender", now - 60000, 1);
    recipient = *GenerateIdentity("bench-receiver", now - 60000, 1);
    std::set<wire::CaseType> all;
    for (auto t : wire::EnumValuesCaseType()) {
      if (t != wire::CaseType::Unknown) all.insert(t);
    }
    std::vector<ParticipantEntry> entries;
    entries.push_back(
        {PublicOf(sender), {{{"bench-receiver"}, all}}, {}, false});
    entries.push_back({PublicOf(recipient),
                       {},
                       {{wire::CaseType::AddressChange, Subscription::kAll}},
                       false});
    registry = std::make_unique<Registry>(*Registry::Build(std::move(entries)));
    EnvelopeDraft d;
    d.case_id = "c-20261130-000000000001";
    d.sender = "bench-sender";
    d.recipients = {"bench-receiver"};
    d.case_type = wire::CaseType::AssistedCase;
    d.encoding = wire::PayloadEncoding::Opaque;
    d.payload = std::string(1024, 'p');
    d.created_at_ms = now;
    d.expires_at_ms = now + 3600000;
    envelope = SealEnvelope(d, sender.signing)->bytes;
  }
};

const Setup& Shared() {
  static const Setup setup;
  return setup;
}

void BM_ParseSubmitFrame(benchmark::State& state) {
  const std::string frame = SubmitFrame(1, Shared().envelope);
  for (auto _ : state) {
    auto f = ParseFrame(frame);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseSubmitFrame);

void BM_VerifySubmission(benchmark::State& state) {
  const Setup& s = Shared();
  const TimePolicy time;
  for (auto _ : state) {
    IngressTask task{{"r", 1}, "bench-sender", s.envelope, {}, {}};
    auto r =
        VerifySubmission(task, *s.registry, Clock::System()->NowMs(), time);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifySubmission);

void BM_RouteCheck(benchmark::State& state) {
  const Registry& registry = *Shared().registry;
  for (auto _ : state) {
    Status st = registry.CheckRoute("bench-sender", "bench-receiver",
                                    wire::CaseType::AssistedCase);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteCheck);

void BM_Subscribers(benchmark::State& state) {
  const Registry& registry = *Shared().registry;
  for (auto _ : state) {
    auto s = registry.Subscribers(wire::CaseType::AddressChange);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Subscribers);

void BM_RenderMetrics(benchmark::State& state) {
  std::vector<std::string> ids;
  ids.reserve(50);
  for (int i = 0; i < 50; ++i) ids.push_back("agency-" + std::to_string(i));
  BrokerMetrics m(ids);
  for (int i = 0; i < 1000; ++i) m.accept_latency.Observe(0.001 * i);
  BrokerMetrics::ScrapeInputs in;  // no journal: the ages read 0
  for (auto _ : state) {
    std::string text = m.Render(in);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_RenderMetrics);

}  // namespace
}  // namespace relais::broker

BENCHMARK_MAIN();
