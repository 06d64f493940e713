// relais-bench's receiving adapter, a process of its own (`relais-bench
// --receive ...`, started by RunLoad) so that it can be SIGKILLed and
// restarted. Its handler's effects live in the SDK's local store and are
// committed in the same synced write as the processed ids:
//
//   "m/" + message index (8 bytes BE) -> handled_ns (BE) + submitted_ns (BE)
//   "n"   distinct messages handled (BE)
//   "d"   messages handed to the handler although already handled (BE)
//
// so after any number of kills the store says exactly what the partner
// system got, and how often.

#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "adapters/sdk/client.h"
#include "bench/load/load_run.h"
#include "core/bytes.h"

namespace relais::bench {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

uint64_t Counter(sdk::Effects* effects, const std::string& key, bool* ok) {
  auto v = effects->Get(key);
  if (!v.ok()) {
    *ok = false;
    return 0;
  }
  return *v && (*v)->size() == 8 ? GetBigEndian64((*v)->data()) : 0;
}

void Bump(sdk::Effects* effects, const std::string& key, uint64_t value) {
  std::string bytes;
  PutBigEndian64(&bytes, value + 1);
  effects->Put(key, bytes);
}

// Written without fsync: the parent polls it for progress only.
void WriteProgress(const std::string& path, uint64_t handled) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << handled << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
}

}  // namespace

int RunReceiver(const ReceiverOptions& o, sdk::ClientOptions client) {
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  auto decoded = HexDecode(o.nonce_hex);
  const std::string nonce = decoded.ok() ? *decoded : std::string();
  if (nonce.size() != 8) {
    std::fprintf(stderr, "relais-bench --receive: bad --nonce\n");
    return 2;
  }
  std::atomic<uint64_t> handled{0};
  auto handler = [&](const sdk::Delivery& d) {
    const std::string_view id = d.envelope->message_id;
    if (id.size() != 16 || id.substr(0, 8) != nonce) {
      return sdk::HandlerResult::Processed();  // not this run's
    }
    const std::string key = "m/" + std::string(id.substr(8));
    auto prior = d.effects->Get(key);
    bool ok = prior.ok();
    const uint64_t n = Counter(d.effects, "n", &ok);
    const uint64_t dups = Counter(d.effects, "d", &ok);
    if (!ok) return sdk::HandlerResult::Retry("local store unreadable");
    if (*prior) {
      Bump(d.effects, "d", dups);
      return sdk::HandlerResult::Processed();
    }
    std::string value;
    PutBigEndian64(&value, static_cast<uint64_t>(NowSteadyNs()));
    const std::string_view payload = d.envelope->payload;
    PutBigEndian64(&value,
                   payload.size() >= 8 ? GetBigEndian64(payload.data()) : 0);
    d.effects->Put(key, value);
    Bump(d.effects, "n", n);
    handled.fetch_add(1);
    return sdk::HandlerResult::Processed();
  };
  client.window = o.window;
  auto c = sdk::Client::Start(std::move(client), handler);
  if (!c.ok()) {
    std::fprintf(stderr, "relais-bench --receive: %s\n",
                 c.status().ToString().c_str());
    return 1;
  }
  auto base = (*c)->ReadEffect("n");
  const uint64_t before = base.ok() && *base && (*base)->size() == 8
                              ? GetBigEndian64((*base)->data())
                              : 0;
  if (!(*c)->WaitConnected(std::chrono::seconds(30)).ok()) {
    std::fprintf(stderr, "relais-bench --receive: not connected\n");
    return 1;
  }
  while (!g_stop.load()) {
    WriteProgress(o.progress_file, before + handled.load());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (*c)->Stop();
  WriteProgress(o.progress_file, before + handled.load());
  return 0;
}

Result<ReceiverTally> ReadReceiverStore(const std::string& state_dir) {
  RELAIS_ASSIGN_OR_RETURN(auto store, sdk::LocalStore::Open(state_dir, {}));
  ReceiverTally t;
  RELAIS_ASSIGN_OR_RETURN(auto dups, store->GetEffect("d"));
  if (dups && dups->size() == 8) t.duplicates = GetBigEndian64(dups->data());
  RELAIS_RETURN_IF_ERROR(store->ForEachEffect(
      "m/", [&](std::string_view key, std::string_view value) {
        if (key.size() != 10 || value.size() != 16) return true;
        ReceiverTally::Handled h;
        h.index = GetBigEndian64(key.data() + 2);
        h.handled_ns = static_cast<int64_t>(GetBigEndian64(value.data()));
        h.submitted_ns = static_cast<int64_t>(GetBigEndian64(value.data() + 8));
        t.handled.push_back(h);
        return true;
      }));
  return t;
}

}  // namespace relais::bench
