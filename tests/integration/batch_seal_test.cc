// Integration: batch-sealed envelopes (docs/PROTOCOL.md 4.8) through a real
// relaisd to a real SDK recipient, mixed with envelopes signed one by one;
// every forged seal refused with its code, delivering nothing, while the
// broker keeps serving.

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include "core/files.h"
#include "core/merkle.h"
#include "core/metrics.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::seconds;
using wire::RejectCode;

constexpr char kDesk[] = "france-services/paris-15";

// relaisd's relais_batch_roots_verified_total, from its /metrics; -1 if it
// cannot be read.
double RootsVerifiedBy(const TestStack& stack) {
  auto url = ReadFile(stack.layout().MetricsFile());
  if (!url.ok() || url->empty()) return -1;
  const std::string base = url->substr(0, url->rfind('/'));
  httplib::Client client(base);
  client.set_read_timeout(10, 0);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) return -1;
  const auto samples = metrics::ParseSamples(res->body);
  auto it = samples.find("relais_batch_roots_verified_total");
  return it == samples.end() ? -1 : it->second;
}

class BatchSealIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
    auto desk = stack_.Connect(kDesk);
    ASSERT_TRUE(desk.ok()) << desk.status().ToString();
    desk_ = std::move(*desk);
    auto caf = stack_.Connect("caf", caf_seen_.Handler());
    ASSERT_TRUE(caf.ok()) << caf.status().ToString();
    caf_ = std::move(*caf);
    ASSERT_TRUE(caf_->WaitConnected(seconds(10)).ok());
  }

  std::vector<SealedEnvelope> SealBatchOf(size_t n) {
    std::vector<EnvelopeDraft> drafts;
    for (size_t i = 0; i < n; ++i)
      drafts.push_back(SampleDraft(kDesk, {"caf"}));
    auto sealed = desk_->SealBatch(std::move(drafts));
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return sealed.ok() ? *sealed : std::vector<SealedEnvelope>{};
  }

  // Submits bytes as they are (the SDK does not look inside).
  Status SubmitBytes(const std::string& message_id, std::string bytes) {
    SealedEnvelope env;
    env.message_id = message_id;
    env.bytes = std::move(bytes);
    return desk_->Submit(env, seconds(10)).status();
  }

  double RootsVerified() { return RootsVerifiedBy(stack_); }

  TestStack stack_;
  std::unique_ptr<sdk::Client> desk_;
  DeliveryCounter caf_seen_;
  std::unique_ptr<sdk::Client> caf_;
};

TEST_F(BatchSealIntegrationTest, AMixedStreamIsDeliveredOnceEach) {
  // Two batches (of 20 and of 1) between envelopes signed one by one, all
  // in flight at once.
  std::vector<SealedEnvelope> all;
  auto single = [&] {
    auto s = desk_->Seal(SampleDraft(kDesk, {"caf"}));
    EXPECT_TRUE(s.ok());
    all.push_back(*s);
  };
  single();
  for (auto& e : SealBatchOf(20)) all.push_back(std::move(e));
  single();
  for (auto& e : SealBatchOf(1)) all.push_back(std::move(e));
  single();
  ASSERT_EQ(all.size(), 24u);
  std::atomic<int> accepted{0}, refused{0};
  for (const auto& env : all) {
    desk_->SubmitAsync(env, [&](Result<sdk::Receipt> r) {
      (r.ok() ? accepted : refused).fetch_add(1);
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return accepted + refused == 24; }));
  EXPECT_EQ(refused.load(), 0);
  ASSERT_TRUE(WaitUntil([&] {
    for (const auto& env : all) {
      if (caf_seen_.count(env.message_id) == 0) return false;
    }
    return true;
  })) << stack_.BrokerLog();
  for (const auto& env : all) EXPECT_EQ(caf_seen_.count(env.message_id), 1);
  // relaisd verified two root signatures: one per batch.
  EXPECT_EQ(RootsVerified(), 2);
  // A batch-sealed envelope sent again alone is the same message.
  auto again = desk_->Submit(all[5], seconds(10));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->duplicate);
}

TEST_F(BatchSealIntegrationTest, ForgedSealsAreRefusedWithTheirCodes) {
  auto batch = SealBatchOf(6);
  auto other = SealBatchOf(6);
  ASSERT_EQ(batch.size(), 6u);
  ASSERT_EQ(other.size(), 6u);
  auto v = ParseEnvelope(batch[3].bytes);
  auto w = ParseEnvelope(other[3].bytes);
  ASSERT_TRUE(v.ok() && w.ok());
  const std::string id = batch[3].message_id;

  // A flipped bit in the proof.
  SealFields forged = SealOf(*v);
  forged.path[3] ^= 0x01;
  Status st = SubmitBytes(id, Rewrap(*v, forged));
  EXPECT_EQ(st.reject_code(), RejectCode::BadBatchProof) << st.ToString();
  EXPECT_EQ(static_cast<int>(st.reject_code()), 210);

  // The proof under another batch's root and genuine root signature.
  SealFields elsewhere = SealOf(*v);
  elsewhere.root = std::string(w->batch_root);
  elsewhere.root_signature = std::string(w->batch_root_signature);
  EXPECT_EQ(SubmitBytes(id, Rewrap(*v, elsewhere)).reject_code(),
            RejectCode::BadBatchProof);

  // The root signed by another participant's key (caf's).
  SealFields by_caf = SealOf(*v);
  auto sig = stack_.IdentityOf("caf").signing.key.Sign(
      merkle::RootSigningInput(by_caf.count, by_caf.root));
  ASSERT_TRUE(sig.ok());
  by_caf.root_signature = *sig;
  st = SubmitBytes(id, Rewrap(*v, by_caf));
  EXPECT_EQ(st.reject_code(), RejectCode::BadSignature) << st.ToString();

  // Leaf 3 claimed at place 2 (a reordered tree), or in another tree.
  SealFields moved = SealOf(*v);
  moved.index = 2;
  EXPECT_EQ(SubmitBytes(id, Rewrap(*v, moved)).reject_code(),
            RejectCode::BadBatchProof);
  // Leaf 3 of 5 has the same path as leaf 3 of 6 and leads to the same
  // root: the root signature, which covers the leaf count, refuses it.
  SealFields smaller = SealOf(*v);
  smaller.count = 5;
  EXPECT_EQ(SubmitBytes(id, Rewrap(*v, smaller)).reject_code(),
            RejectCode::BadSignature);
  SealFields beyond = SealOf(*v);
  beyond.count = 3;
  EXPECT_EQ(SubmitBytes(id, Rewrap(*v, beyond)).reject_code(),
            RejectCode::BadBatchProof);

  // None of them reached caf; the genuine envelope still goes through,
  // and so does the rest of the batch.
  for (const auto& env : batch) {
    auto r = desk_->Submit(env, seconds(10));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->duplicate);
  }
  auto marker = SubmitMarker(*desk_, "caf");
  ASSERT_TRUE(marker.ok());
  ASSERT_TRUE(WaitUntil([&] { return caf_seen_.count(*marker) == 1; }));
  for (const auto& env : batch) EXPECT_EQ(caf_seen_.count(env.message_id), 1);
}

// The sealer does not hold a lone draft back for company: with an idle
// sealer and keeper it is sealed at once, however long the window (here
// a minute, twice the time the test waits).
TEST_F(BatchSealIntegrationTest, ALoneDraftIsSealedAtOnce) {
  auto sealer = stack_.Connect(kDesk, nullptr, 0, [](sdk::ClientOptions* o) {
    o->batch_seal_max = 256;
    o->batch_seal_window = std::chrono::minutes(1);
  });
  ASSERT_TRUE(sealer.ok()) << sealer.status().ToString();
  for (int i = 0; i < 3; ++i) {
    std::promise<Result<sdk::Receipt>> answer;
    EnvelopeDraft d = SampleDraft(kDesk, {"cpam"});
    d.message_id = std::string(15, 'l') + static_cast<char>(i);
    (*sealer)->SubmitDraftAsync(std::move(d), [&](Result<sdk::Receipt> r) {
      answer.set_value(std::move(r));
    });
    auto future = answer.get_future();
    ASSERT_EQ(future.wait_for(seconds(30)), std::future_status::ready)
        << "draft " << i << " waited for the window";
    ASSERT_TRUE(future.get().ok());
  }
}

// The SDK's sealer: drafts given to SubmitDraftAsync close together share
// a signature (batches of at most 16 here); a bad draft gets its own error
// and spoils no one else's; every message arrives once, batch-sealed.
TEST_F(BatchSealIntegrationTest, TheSdkSealsDraftsInBatches) {
  auto sealer = stack_.Connect(kDesk, nullptr, 0, [](sdk::ClientOptions* o) {
    o->batch_seal_max = 16;
    o->batch_seal_window = std::chrono::milliseconds(50);
  });
  ASSERT_TRUE(sealer.ok()) << sealer.status().ToString();
  std::mutex mu;
  std::map<std::string, int> seen;  // message id -> deliveries
  std::set<std::string> roots;
  int batch_sealed = 0;
  auto cpam = stack_.Connect("cpam", [&](const sdk::Delivery& d) {
    std::lock_guard<std::mutex> lock(mu);
    ++seen[std::string(d.envelope->message_id)];
    if (d.envelope->batch_sealed) {
      roots.insert(std::string(d.envelope->batch_root));
      ++batch_sealed;
    }
    return sdk::HandlerResult::Processed();
  });
  ASSERT_TRUE(cpam.ok());
  ASSERT_TRUE((*cpam)->WaitConnected(seconds(10)).ok());

  constexpr int kDrafts = 40;
  std::atomic<int> answered{0}, refused{0};
  std::vector<std::string> ids;
  std::string bad_error;
  // Made first, so that they are handed over within microseconds, while
  // the first one (sealed at once, the sealer being idle) is still on its
  // way: the others gather behind it, however slow the machine.
  std::vector<EnvelopeDraft> drafts;
  for (int i = 0; i <= kDrafts; ++i) {
    // Draft 20 names no recipient: refused alone.
    EnvelopeDraft d =
        SampleDraft(kDesk, i == 20 ? std::vector<std::string>{}
                                   : std::vector<std::string>{"cpam"});
    d.message_id = std::string(15, 'b') + static_cast<char>(i);
    if (i != 20) ids.push_back(d.message_id);
    drafts.push_back(std::move(d));
  }
  for (int i = 0; i <= kDrafts; ++i) {
    (*sealer)->SubmitDraftAsync(std::move(drafts[i]),
                                [&, i](Result<sdk::Receipt> r) {
                                  if (!r.ok()) {
                                    ++refused;
                                    std::lock_guard<std::mutex> lock(mu);
                                    if (i == 20)
                                      bad_error = r.status().ToString();
                                  }
                                  ++answered;
                                });
  }
  ASSERT_TRUE(WaitUntil([&] { return answered == kDrafts + 1; }));
  EXPECT_EQ(refused.load(), 1);
  EXPECT_NE(bad_error.find("recipient"), std::string::npos) << bad_error;
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size() == ids.size();
  }));
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& id : ids) EXPECT_EQ(seen[id], 1);
  // 40 drafts in batches of at most 16; the batch with the bad draft
  // was sealed one by one. So at least two roots, far fewer than the
  // envelopes they sealed.
  EXPECT_GE(roots.size(), 2u);
  EXPECT_LE(roots.size(), 10u);
  EXPECT_GE(batch_sealed, 16);
}

// An adapter whose client.toml says batch_seal seals the envelopes of one
// inbox file under one signature: the broker verifies one root for all of
// them, and each reaches its recipients alone, with its proof.
TEST(AdapterBatchSealTest, TheCasesOfOneInboxFileShareOneSignature) {
  TestStack stack;
  ASSERT_TRUE(stack.StartBroker().ok()) << stack.BrokerLog();
  const std::string config = stack.layout().AdapterConfig("caf");
  auto text = ReadFile(config);
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(WriteFileAtomic(config, "batch_seal = 64\n" + *text).ok());
  ASSERT_TRUE(stack.StartAdapter("caf").ok());
  std::mutex mu;
  std::set<std::string> roots;     // guarded by mu
  std::set<uint32_t> leaves_seen;  // guarded by mu
  uint32_t leaf_count = 0;         // guarded by mu
  int alone = 0;                   // guarded by mu: signed one by one
  const auto handler = [&](const sdk::Delivery& d) {
    std::lock_guard<std::mutex> lock(mu);
    if (!d.envelope->batch_sealed) {
      ++alone;
    } else {
      roots.insert(std::string(d.envelope->batch_root));
      leaves_seen.insert(d.envelope->batch_leaf_index);
      leaf_count = d.envelope->batch_leaf_count;
    }
    return sdk::HandlerResult::Processed();
  };
  std::vector<std::unique_ptr<sdk::Client>> recipients;
  for (const char* id : {"cpam", "france-travail"}) {
    auto c = stack.Connect(id, handler);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE((*c)->WaitConnected(seconds(10)).ok());
    recipients.push_back(std::move(*c));
  }
  const double roots_before = RootsVerifiedBy(stack);
  ASSERT_GE(roots_before, 0);

  // Two RSA applications: views for the CPAM and France Travail.
  auto csv = ReadFile(SourcePath("deploy/samples/caf/rsa_application.csv"));
  ASSERT_TRUE(csv.ok());
  ASSERT_TRUE(
      WriteFileAtomic(stack.layout().Inbox("caf") + "/rsa.csv", *csv).ok());
  const std::string receipt =
      stack.layout().Done("caf") + "/rsa.csv.receipt.json";
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(receipt); }))
      << "not accepted (see " << stack.AdapterLogPath("caf") << ")";
  // Every envelope of the file is a leaf of the one batch, and each leaf
  // reaches a recipient.
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return leaf_count > 0 && leaves_seen.size() == leaf_count;
  })) << leaves_seen.size()
      << " leaves seen";
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_GE(leaf_count, 3u);  // two cases, three views at least
  EXPECT_EQ(roots.size(), 1u);
  EXPECT_EQ(alone, 0);
  EXPECT_EQ(RootsVerifiedBy(stack), roots_before + 1);
}

}  // namespace
}  // namespace relais::testing
