#include "broker/journal/writer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "broker/audit/audit_chain.h"
#include "broker/delivery/sessions.h"
#include "core/crypto.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "tests/support/fixtures.h"

namespace relais::broker::journal {
namespace {

SubmitRequest RealSubmit(const Identity& desk, int64_t now_ms, int64_t ttl_ms,
                         const std::string& case_id = "");

// A gate for the journal's sync (Journal::SetSyncHookForTest): while
// held, every sync waits; `fail_next` makes the next one fail.
class SyncGate {
 public:
  std::function<Status()> Hook() {
    return [this] {
      std::unique_lock<std::mutex> lock(mu_);
      ++entered_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !held_; });
      if (fail_next_) {
        fail_next_ = false;
        return Status::IOError("injected: the disk did not sync");
      }
      return Status::OK();
    };
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void Release(bool fail_next = false) {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
    fail_next_ = fail_next;
    cv_.notify_all();
  }
  // Waits until `n` syncs in all have started.
  bool WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30),
                        [&] { return entered_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool held_ = false;
  bool fail_next_ = false;
};

// Runs a JournalWriter over a temporary journal and collects its reports.
class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/writer_test_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    gate_.Release();  // a test that failed while it held the syncs
    Close();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    journal_ = std::move(*Journal::Open(dir_, JournalOptions()));
    auto w = JournalWriter::Create(journal_.get(), &clock_,
                                   BrokerSigner{"relais", broker_.signing},
                                   [this](CommitReport r) {
                                     std::lock_guard<std::mutex> lock(mu_);
                                     for (auto& s : r.submits)
                                       outcomes_[s.message_id] = s;
                                     acks_ += r.acks;
                                     for (auto& d : r.dead_letters)
                                       dead_.push_back(d);
                                     for (auto& o : r.operator_outcomes)
                                       operator_.push_back(o);
                                     reports_.push_back(std::move(r));
                                     cv_.notify_all();
                                   });
    ASSERT_TRUE(w.ok());
    writer_ = std::move(*w);
    writer_->set_payload_retention(retention_);
    writer_->set_sweep_interval(sweep_interval_);
    writer_->Start();
  }
  void Close() {
    writer_.reset();
    journal_.reset();
  }
  SubmitRequest Submit(const std::string& id, const std::string& case_id,
                       const std::string& sender = "france-services/paris-15",
                       std::vector<std::string> to = {"caf", "cpam"}) {
    SubmitRequest r;
    r.message_id = id;
    r.case_id = case_id;
    r.sender = sender;
    r.envelope = "envelope of " + id;
    r.header_sha256 = crypto::Sha256("header of " + id);
    r.recipients = std::move(to);
    r.case_type = wire::CaseType::AddressChange;
    return r;
  }
  // The outcome of `id`; a Timeout status (and a test failure) if none
  // came within 30 s.
  SubmitOutcome WaitFor(const std::string& id) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(30),
                      [&] { return outcomes_.count(id) > 0; })) {
      ADD_FAILURE() << "no outcome for " << id;
      SubmitOutcome none;
      none.status = Status::Timeout("no outcome for " + id);
      return none;
    }
    return outcomes_[id];
  }
  // Waits until the writer has finished `n` more expiry sweeps: whatever a
  // sweep would do at the clock's present time is done by then.
  void WaitForSweeps(uint64_t n) {
    const uint64_t target = writer_->stats().sweeps.load() + n;
    ASSERT_TRUE(Wait([&] { return writer_->stats().sweeps.load() >= target; }));
  }
  const wire::CaseState* Case(const std::string& id) {
    case_bytes_ = *journal_->GetCase(id);
    return ParseCaseState(case_bytes_);
  }

  // Waits up to 30 s for `pred`, rechecking at least every 50 ms (some
  // predicates read the writer's stats, which do not notify).
  template <typename Pred>
  bool Wait(Pred pred) {
    std::unique_lock<std::mutex> lock(mu_);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    return true;
  }

  // Keys are made at the fake clock's time, not the system's: the test
  // passes on any day.
  FakeClock clock_{1795392000000};
  // The writer's payload retention and sweep interval (Open sets them).
  std::chrono::milliseconds retention_ =
      JournalWriter::kDefaultPayloadRetention;
  std::chrono::milliseconds sweep_interval_ = JournalWriter::kSweepInterval;
  // Starts the writer again with `retention`.
  void ReopenWithRetention(std::chrono::milliseconds retention) {
    Close();
    retention_ = retention;
    Open();
  }
  // A real message from the desk to caf and cpam, living `ttl_ms`,
  // accepted; cpam acknowledged it.
  struct AcceptedMessage {
    std::string id, case_id;
    uint64_t seq = 0;
  };
  AcceptedMessage AcceptedAndAckedByCpam(const Identity& desk, int64_t ttl_ms) {
    SubmitRequest r = RealSubmit(desk, clock_.NowMs(), ttl_ms);
    AcceptedMessage m{r.message_id, r.case_id, 0};
    writer_->Post(std::move(r));
    m.seq = WaitFor(m.id).sequence;
    EXPECT_GT(m.seq, 0u);
    const size_t acks = acks_;
    writer_->Post(AckRequest{"cpam", m.seq, m.id, m.case_id,
                             wire::AckOutcome::Processed, ""});
    EXPECT_TRUE(Wait([&] { return acks_ == acks + 1; }));
    return m;
  }
  // Delivery sessions over the journal that note the sequence of each
  // Deliver they send in `sent`.
  std::unique_ptr<delivery::Sessions> DeliveriesInto(
      std::vector<uint64_t>* sent) {
    return std::make_unique<delivery::Sessions>(
        journal_.get(), &clock_, delivery::RedeliveryPolicy{},
        [sent](const std::string&, std::string_view frame) {
          auto f = ParseFrame(frame);
          if (f.ok() && (*f)->body_type() == wire::Body::Deliver)
            sent->push_back((*f)->body_as_Deliver()->sequence());
          return Status::OK();
        });
  }
  size_t AuditRecords() {
    std::vector<std::string> records;
    EXPECT_TRUE(journal_->ReadAudit(1, UINT64_MAX, &records).ok());
    return records.size();
  }
  Identity Make(const std::string& participant) {
    return testing::MakeIdentityAt(participant, clock_.NowMs());
  }
  std::string dir_;
  // Syncs wait or fail at a test's will once it gives the journal
  // gate_.Hook(); outlives the writer.
  SyncGate gate_;
  Identity broker_ = Make("relais");
  std::vector<std::pair<std::string, uint64_t>> dead_;
  std::vector<OperatorOutcome> operator_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<JournalWriter> writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, SubmitOutcome> outcomes_;
  std::vector<CommitReport> reports_;
  size_t acks_ = 0;
  std::string case_bytes_;
};

TEST_F(WriterTest, AcceptsJournalsAndOpensTheCase) {
  writer_->Post(Submit("m1", "case-1"));
  SubmitOutcome o = WaitFor("m1");
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.sequence, 1u);
  EXPECT_EQ(o.accepted_at_ms, 1795392000000);
  EXPECT_EQ(*journal_->GetMessage("m1"), "envelope of m1");
  EXPECT_EQ(*journal_->CountOutbox("caf"), 1u);
  EXPECT_EQ(*journal_->CountOutbox("cpam"), 1u);
  const auto* s = Case("case-1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(StringView(s->originator()), "france-services/paris-15");
  ASSERT_EQ(s->recipients()->size(), 2u);
  EXPECT_EQ(s->recipients()->Get(0)->state(), wire::RecipientState::Sent);
}

TEST_F(WriterTest, DuplicatesGetTheFirstReceiptConflictsAreRefused) {
  writer_->Post(Submit("m1", "case-1"));
  const SubmitOutcome first = WaitFor("m1");
  {
    std::lock_guard<std::mutex> lock(mu_);
    outcomes_.clear();
  }
  clock_.Advance(5000);
  writer_->Post(Submit("m1", "case-1"));
  SubmitOutcome again = WaitFor("m1");
  ASSERT_TRUE(again.status.ok());
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.sequence, first.sequence);
  EXPECT_EQ(again.accepted_at_ms, first.accepted_at_ms);
  EXPECT_EQ(*journal_->CountOutbox("caf"), 1u);  // no second copy
  {
    std::lock_guard<std::mutex> lock(mu_);
    outcomes_.clear();
  }
  SubmitRequest changed = Submit("m1", "case-1");
  changed.header_sha256 = crypto::Sha256("another header");
  writer_->Post(changed);
  EXPECT_EQ(WaitFor("m1").status.reject_code(),
            wire::RejectCode::DuplicateConflict);
  EXPECT_EQ(*journal_->GetMessage("m1"), "envelope of m1");  // the first stays
}

// The writer reuses a batch's buffer for the next batch: what a failed
// batch held must not go to the journal with the next one.
TEST_F(WriterTest, AFailedBatchLeavesNothingInTheNextOne) {
  {
    relais::testing::FileSizeLimit limit(0);
    writer_->Post(Submit("refused", "case-refused"));
    EXPECT_EQ(WaitFor("refused").status.reject_code(),
              wire::RejectCode::JournalUnavailable);
  }
  // Writable again: the writer reopens the journal after its backoff, so
  // the first submits may still be refused.
  SubmitOutcome later;
  later.status = Status::Unavailable("not sent yet");
  for (int i = 0; i < 100 && !later.status.ok(); ++i) {
    const std::string id = "later-" + std::to_string(i);
    writer_->Post(Submit(id, "case-later-" + std::to_string(i)));
    later = WaitFor(id);
    if (!later.status.ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_TRUE(later.status.ok()) << later.status.ToString();
  EXPECT_EQ(journal_->GetMessage("refused").status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(journal_->GetDedup("refused").status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(journal_->GetCase("case-refused").status().code(),
            Status::Code::kNotFound);
  // Sent again, it is new, not a duplicate of a write that failed.
  {
    std::lock_guard<std::mutex> lock(mu_);
    outcomes_.clear();
  }
  writer_->Post(Submit("refused", "case-refused"));
  const SubmitOutcome again = WaitFor("refused");
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_FALSE(again.duplicate);
}

TEST_F(WriterTest, OutsidersCannotAddToACase) {
  writer_->Post(Submit("m1", "case-1"));
  ASSERT_TRUE(WaitFor("m1").status.ok());
  writer_->Post(Submit("m2", "case-1", "dgfip", {"caf"}));
  EXPECT_EQ(WaitFor("m2").status.reject_code(),
            wire::RejectCode::NotAuthorised);
  writer_->Post(Submit("m3", "case-1", "caf", {"cpam"}));  // a recipient may
  EXPECT_TRUE(WaitFor("m3").status.ok());
}

TEST_F(WriterTest, AckRemovesTheOutboxEntryAndUpdatesTheCase) {
  writer_->Post(Submit("m1", "case-1"));
  const uint64_t seq = WaitFor("m1").sequence;
  writer_->Post(
      AckRequest{"caf", seq, "m1", "case-1", wire::AckOutcome::Processed, ""});
  writer_->Post(AckRequest{"cpam", seq, "m1", "case-1",
                           wire::AckOutcome::Rejected, "unknown file"});
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return acks_ == 2; });
  }
  EXPECT_EQ(*journal_->CountOutbox("caf"), 0u);
  EXPECT_EQ(*journal_->CountOutbox("cpam"), 0u);
  const auto* s = Case("case-1");
  EXPECT_EQ(s->recipients()->Get(0)->state(), wire::RecipientState::Delivered);
  EXPECT_EQ(s->recipients()->Get(1)->state(), wire::RecipientState::Rejected);
  EXPECT_EQ(StringView(s->recipients()->Get(1)->reason()), "unknown file");
  ASSERT_EQ(s->trail()->size(), 3u);
}

// A batch of acks Processed alone is written without a sync (PROTOCOL.md
// 7: lost only with the machine, then delivered again); a batch holding a
// submit or an ack Rejected (it reports to the sender) is synced.
TEST_F(WriterTest, OnlyBatchesOfProcessedAcksSkipTheSync) {
  writer_->Post(Submit("m1", "case-1"));
  const uint64_t seq = WaitFor("m1").sequence;
  const auto last_report = [&](size_t acks) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(30),
                             [&] { return acks_ == acks; }));
    return reports_.back().synced;
  };
  EXPECT_TRUE(reports_.back().synced);
  writer_->Post(
      AckRequest{"caf", seq, "m1", "case-1", wire::AckOutcome::Processed, ""});
  EXPECT_FALSE(last_report(1));
  EXPECT_EQ(writer_->stats().unsynced_batches.load(), 1u);
  writer_->Post(AckRequest{"cpam", seq, "m1", "case-1",
                           wire::AckOutcome::Rejected, "unknown file"});
  EXPECT_TRUE(last_report(2));
  EXPECT_EQ(writer_->stats().unsynced_batches.load(), 1u);
  // What the unsynced batch wrote is there (and survives a reopen, as
  // after a process kill: the log has it).
  Close();
  Open();
  const auto* s = Case("case-1");
  EXPECT_EQ(s->recipients()->Get(0)->state(), wire::RecipientState::Delivered);
  EXPECT_EQ(*journal_->CountOutbox("caf"), 0u);
}

TEST_F(WriterTest, SequencesAndTheAuditChainContinueAfterReopen) {
  writer_->Post(Submit("m1", "case-1"));
  writer_->Post(Submit("m2", "case-2"));
  ASSERT_TRUE(WaitFor("m2").status.ok());
  Close();
  Open();
  writer_->Post(Submit("m3", "case-3"));
  EXPECT_EQ(WaitFor("m3").sequence, 3u);
  std::vector<std::string> records;
  ASSERT_TRUE(journal_->ReadAudit(1, 100, &records).ok());
  ASSERT_EQ(records.size(), 3u);
  auto head = audit::VerifyChain(audit::AuditHead{}, records);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->sequence, 3u);
  // Tampering with any record breaks the chain.
  records[1][records[1].size() / 2] ^= 1;
  EXPECT_FALSE(audit::VerifyChain(audit::AuditHead{}, records).ok());
  records.erase(records.begin() + 1);
  EXPECT_FALSE(audit::VerifyChain(audit::AuditHead{}, records).ok());
}

TEST_F(WriterTest, ConcurrentSubmitsShareSyncs) {
  constexpr int kThreads = 4, kEach = 500;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([this, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id =
            "t" + std::to_string(t) + "-" + std::to_string(i);
        writer_->Post(Submit(id, "case-" + id));
      }
    });
  }
  for (auto& p : posters) p.join();
  ASSERT_TRUE(Wait([&] { return outcomes_.size() == kThreads * kEach; }));
  std::lock_guard<std::mutex> lock(mu_);
  // Everything posted while a sync ran goes in the next batch: fewer
  // batches than messages. Sequences are gapless, and each thread's
  // messages are numbered in the order it posted them.
  EXPECT_LT(writer_->stats().batches.load(), uint64_t{kThreads * kEach});
  EXPECT_LE(writer_->stats().syncs.load(), writer_->stats().batches.load());
  EXPECT_GT(writer_->stats().largest_batch.load(), 1u);
  std::set<uint64_t> sequences;
  for (int t = 0; t < kThreads; ++t) {
    uint64_t previous = 0;
    for (int i = 0; i < kEach; ++i) {
      const auto& o =
          outcomes_["t" + std::to_string(t) + "-" + std::to_string(i)];
      EXPECT_TRUE(o.status.ok()) << o.status.ToString();
      EXPECT_GT(o.sequence, previous);
      previous = o.sequence;
      sequences.insert(o.sequence);
    }
  }
  ASSERT_EQ(sequences.size(), size_t{kThreads * kEach});
  EXPECT_EQ(*sequences.begin(), 1u);
  EXPECT_EQ(*sequences.rbegin(), uint64_t{kThreads * kEach});
}

// The writer writes a batch, hands it to the sync thread and builds the
// next one meanwhile; a batch's answers go only after its sync, in order,
// and deliveries stop at the last synced sequence.
TEST_F(WriterTest, TheNextBatchIsWrittenWhileTheLastOneSyncs) {
  journal_->SetSyncHookForTest(gate_.Hook());
  std::vector<uint64_t> sent;
  auto sessions_owner = DeliveriesInto(&sent);
  delivery::Sessions& sessions = *sessions_owner;
  sessions.SetSyncedThrough([this] { return writer_->synced_through(); });
  sessions.Open("caf", "r1", 10);

  gate_.Hold();
  writer_->Post(Submit("a", "case-a", "france-services/paris-15", {"caf"}));
  ASSERT_TRUE(gate_.WaitEntered(1));  // a is written; its sync waits
  writer_->Post(Submit("b", "case-b", "france-services/paris-15", {"caf"}));
  ASSERT_TRUE(Wait([&] { return journal_->GetMessage("b").ok(); }))
      << "b was not written while a's sync waited";
  std::vector<OutboxEntry> outbox;
  ASSERT_TRUE(journal_->ReadOutbox("caf", 0, 10, &outbox).ok());
  EXPECT_EQ(outbox.size(), 2u);  // readable, not synced
  EXPECT_EQ(writer_->synced_through(), 0u);
  sessions.Pump("caf");
  EXPECT_TRUE(sent.empty()) << "a delivery went before its sync";
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_TRUE(outcomes_.empty()) << "an answer went before its sync";
  }

  gate_.Release();
  EXPECT_EQ(WaitFor("a").sequence, 1u);
  EXPECT_EQ(WaitFor("b").sequence, 2u);
  EXPECT_EQ(writer_->synced_through(), 2u);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_EQ(reports_.size(), 2u);
    EXPECT_EQ(reports_[0].submits.at(0).message_id, "a");  // in order
    EXPECT_EQ(reports_[1].submits.at(0).message_id, "b");
  }
  EXPECT_EQ(writer_->stats().syncs.load(), 2u);
  sessions.Pump("caf");
  EXPECT_EQ(sent, (std::vector<uint64_t>{1, 2}));
}

// A failed sync refuses every batch written since the last good one, and
// the journal is opened again before anything else is written: the
// sequence and the audit chain go on from what the log really holds.
TEST_F(WriterTest, AFailedSyncRefusesEveryBatchWrittenSinceTheLastGoodOne) {
  journal_->SetSyncHookForTest(gate_.Hook());
  writer_->Post(Submit("good", "case-good"));
  ASSERT_TRUE(WaitFor("good").status.ok());
  const uint64_t generation = journal_->generation();

  gate_.Hold();
  writer_->Post(Submit("a", "case-a"));
  ASSERT_TRUE(gate_.WaitEntered(2));
  writer_->Post(Submit("b", "case-b"));
  ASSERT_TRUE(Wait([&] { return journal_->GetMessage("b").ok(); }));
  gate_.Release(/*fail_next=*/true);
  EXPECT_EQ(WaitFor("a").status.reject_code(),
            wire::RejectCode::JournalUnavailable);
  EXPECT_EQ(WaitFor("b").status.reject_code(),
            wire::RejectCode::JournalUnavailable);
  EXPECT_EQ(writer_->stats().syncs.load(), 1u);

  // The writer opens the journal again after its backoff: the first
  // submits may still be refused.
  SubmitOutcome later;
  for (int i = 0; i < 100; ++i) {
    const std::string id = "later-" + std::to_string(i);
    writer_->Post(Submit(id, "case-" + id));
    later = WaitFor(id);
    if (later.status.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(later.status.ok()) << later.status.ToString();
  EXPECT_GT(journal_->generation(), generation);
  // a and b reached the log (this disk only failed to say so): sent
  // again, they are known, with their first receipts; nothing is numbered
  // twice, and the audit chain holds.
  {
    std::lock_guard<std::mutex> lock(mu_);
    outcomes_.clear();
  }
  writer_->Post(Submit("a", "case-a"));
  const SubmitOutcome again = WaitFor("a");
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.sequence, 2u);
  EXPECT_EQ(later.sequence, 4u);
  std::vector<std::string> records;
  ASSERT_TRUE(journal_->ReadAudit(1, UINT64_MAX, &records).ok());
  EXPECT_TRUE(audit::VerifyChain(audit::AuditHead{}, records).ok());
}

// A real sealed message from the desk to caf and cpam, as ingress makes it.
// With `case_id`, that id is written into the sealed header afterwards
// (sealing refuses one holding a NIR), as a journal from before the NIR
// rule may hold it; the writer checks no signature.
SubmitRequest RealSubmit(const Identity& desk, int64_t now_ms, int64_t ttl_ms,
                         const std::string& case_id) {
  EnvelopeDraft d = testing::SampleDraft(desk.participant, {"caf", "cpam"});
  d.created_at_ms = now_ms;
  d.expires_at_ms = now_ms + ttl_ms;
  if (!case_id.empty()) d.case_id = std::string(case_id.size(), 'c');
  auto sealed = SealEnvelope(d, desk.signing);
  if (!case_id.empty()) {
    sealed->bytes.replace(sealed->bytes.find(d.case_id), case_id.size(),
                          case_id);
  }
  auto v = ParseEnvelope(sealed->bytes);
  SubmitRequest r;
  r.message_id = sealed->message_id;
  r.case_id = std::string(v->case_id);
  r.sender = desk.participant;
  r.header_sha256 = crypto::Sha256(v->header_bytes);
  r.recipients = {"caf", "cpam"};
  r.case_type = v->header->case_type();
  r.expires_at_ms = d.expires_at_ms;
  r.envelope = sealed->bytes;
  return r;
}

TEST_F(WriterTest, ExpiredMessagesBecomeDeadLettersAndTheSenderIsTold) {
  const Identity desk = Make("france-services/paris-15");
  SubmitRequest r = RealSubmit(desk, clock_.NowMs(), 60000);
  const std::string id = r.message_id, case_id = r.case_id;
  writer_->Post(std::move(r));
  const uint64_t seq = WaitFor(id).sequence;
  ASSERT_GT(seq, 0u);
  // cpam acknowledges in time; caf does not.
  writer_->Post(
      AckRequest{"cpam", seq, id, case_id, wire::AckOutcome::Processed, ""});
  ASSERT_TRUE(Wait([&] { return acks_ == 1; }));
  clock_.Advance(60001);
  ASSERT_TRUE(Wait([&] { return !dead_.empty(); }));
  ASSERT_EQ(dead_.size(), 1u);
  EXPECT_EQ(dead_[0], std::make_pair(std::string("caf"), seq));
  EXPECT_FALSE(journal_->GetOutbox("caf", seq)->has_value());
  auto dead = journal_->GetDead("caf", seq);
  ASSERT_TRUE(dead.ok());
  const wire::DeadLetter* dl = ParseDeadLetter(*dead);
  ASSERT_NE(dl, nullptr);
  EXPECT_EQ(dl->reason(), wire::RecipientState::Expired);
  EXPECT_EQ(VectorBytes(dl->message_id()), id);
  EXPECT_FALSE(journal_->GetDead("cpam", seq).ok());
  const wire::CaseState* state = Case(case_id);
  for (const auto* rs : *state->recipients()) {
    EXPECT_EQ(rs->state(), StringView(rs->recipient()) == "caf"
                               ? wire::RecipientState::Expired
                               : wire::RecipientState::Delivered);
  }
  // The sender has a status report, sealed by the broker, in its outbox.
  std::vector<OutboxEntry> reports;
  ASSERT_TRUE(journal_->ReadOutbox(desk.participant, 0, 10, &reports).ok());
  ASSERT_EQ(reports.size(), 1u);
  auto report_env = journal_->GetMessage(reports[0].message_id);
  KeyDirectory keys = testing::DirectoryOf({&broker_, &desk});
  auto opened = OpenEnvelope(*report_env, keys, clock_.NowMs(), TimePolicy{});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->sender, "relais");
  EXPECT_EQ(opened->header->payload_encoding(),
            wire::PayloadEncoding::StatusReport);
  const auto* report =
      flatbuffers::GetRoot<wire::StatusReport>(opened->payload.data());
  EXPECT_EQ(VectorBytes(report->message_id()), id);
  EXPECT_EQ(StringView(report->recipient()), "caf");
  EXPECT_EQ(report->state(), wire::RecipientState::Expired);
  // Swept once: two more sweeps later, still one dead letter.
  clock_.Advance(120000);
  WaitForSweeps(2);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(dead_.size(), 1u);
}

// An ack the sessions let through just before the expiry sweep reached the
// writer after it: the dead letter stands and the case stays Expired (it
// used to flip to Delivered, with the dead letter still there).
TEST_F(WriterTest, AnAckThatCrossesTheExpirySweepLeavesTheDeadLetter) {
  const Identity desk = Make("france-services/paris-15");
  SubmitRequest r = RealSubmit(desk, clock_.NowMs(), 60000);
  const std::string id = r.message_id, case_id = r.case_id;
  writer_->Post(std::move(r));
  const uint64_t seq = WaitFor(id).sequence;
  ASSERT_GT(seq, 0u);
  clock_.Advance(60001);
  ASSERT_TRUE(Wait([&] { return dead_.size() == 2; }));
  writer_->Post(
      AckRequest{"caf", seq, id, case_id, wire::AckOutcome::Processed, ""});
  // The writer takes requests in order: once the next submit is answered,
  // the ack has been handled.
  writer_->Post(Submit("m-after", "case-after"));
  ASSERT_TRUE(WaitFor("m-after").status.ok());
  EXPECT_TRUE(journal_->GetDead("caf", seq).ok());
  for (const auto* rs : *Case(case_id)->recipients()) {
    EXPECT_EQ(rs->state(), wire::RecipientState::Expired)
        << StringView(rs->recipient());
  }
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(acks_, 0u);
}

TEST_F(WriterTest, OperatorsReplayAndDropDeadLetters) {
  const Identity desk = Make("france-services/paris-15");
  SubmitRequest r = RealSubmit(desk, clock_.NowMs(), 1000);
  const std::string id = r.message_id, case_id = r.case_id;
  writer_->Post(std::move(r));
  const uint64_t seq = WaitFor(id).sequence;
  clock_.Advance(1001);
  ASSERT_TRUE(Wait([&] { return dead_.size() == 2; }));
  // Replay caf's: back in its outbox, marked replayed; the case says Sent.
  writer_->Post(OperatorRequest{{"op-rid", 7}, "operator", true, "caf", seq});
  ASSERT_TRUE(Wait([&] { return operator_.size() == 1; }));
  EXPECT_TRUE(operator_[0].status.ok()) << operator_[0].status.ToString();
  auto entry = journal_->GetOutbox("caf", seq);
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_TRUE((*entry)->replayed);
  EXPECT_FALSE(journal_->GetDead("caf", seq).ok());
  // A replayed message is not swept again, and replaying twice is refused.
  clock_.Advance(5000);
  writer_->Post(OperatorRequest{{"op-rid", 8}, "operator", true, "caf", seq});
  ASSERT_TRUE(Wait([&] { return operator_.size() == 2; }));
  EXPECT_EQ(operator_[1].status.code(), Status::Code::kNotFound);
  EXPECT_TRUE(journal_->GetOutbox("caf", seq)->has_value());
  // Drop cpam's: gone, the trail says so.
  writer_->Post(OperatorRequest{{"op-rid", 9}, "operator", false, "cpam", seq});
  ASSERT_TRUE(Wait([&] { return operator_.size() == 3; }));
  EXPECT_TRUE(operator_[2].status.ok());
  EXPECT_FALSE(journal_->GetDead("cpam", seq).ok());
  const wire::CaseState* state = Case(case_id);
  bool replayed = false, purged = false;
  for (const auto* t : *state->trail()) {
    replayed |= t->event() == wire::TraceEvent::Replayed;
    purged |= t->event() == wire::TraceEvent::Purged;
  }
  EXPECT_TRUE(replayed && purged);
  for (const auto* rs : *state->recipients()) {
    if (StringView(rs->recipient()) == "caf") {
      EXPECT_EQ(rs->state(), wire::RecipientState::Sent);
    }
  }
}

// More messages expire at once than a sweep takes (kMaxSweep): the
// sweeps after it follow at once, not an interval later, until every one
// is a dead letter and every envelope whose retention ended is deleted.
TEST_F(WriterTest, SweepsFollowAtOnceWhileMoreIsDue) {
  const Identity desk = Make("france-services/paris-15");
  constexpr size_t kMessages = JournalWriter::kMaxSweep + 100;
  for (size_t i = 0; i < kMessages; ++i) {
    writer_->Post(RealSubmit(desk, clock_.NowMs(), 60000));
  }
  ASSERT_TRUE(Wait([&] { return outcomes_.size() == kMessages; }));
  // Started again past their expiry, with no retention and an interval no
  // test waits for: only the sweep at the writer's start, and those that
  // follow it at once, can act.
  Close();
  clock_.Advance(60001);
  sweep_interval_ = std::chrono::hours(1);
  retention_ = std::chrono::milliseconds(0);
  Open();
  ASSERT_TRUE(Wait([&] { return dead_.size() == 2 * kMessages; }))
      << dead_.size() << " dead letters";  // caf's and cpam's
  EXPECT_TRUE(Wait([&] {
    return writer_->stats().payloads_deleted.load() == kMessages;
  })) << writer_->stats().payloads_deleted.load()
      << " envelopes deleted";
  // Then nothing is left due: the sweeps stop until the interval ends (a
  // writer sweeping on would never leave 300 ms without one).
  bool settled = false;
  uint64_t sweeps = writer_->stats().sweeps.load();
  for (int i = 0; i < 100 && !settled; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const uint64_t now = writer_->stats().sweeps.load();
    settled = now == sweeps;
    sweeps = now;
  }
  EXPECT_TRUE(settled) << sweeps << " sweeps and counting";
}

// DESIGN.md, retention: an envelope is deleted payload_retention after its
// expiry, not before; its trail, audit records, receipt and dead letters
// stay, and a dead letter whose envelope is gone cannot be replayed.
TEST_F(WriterTest, EnvelopesAreDeletedAtTheEndOfTheirRetentionOnly) {
  ReopenWithRetention(std::chrono::minutes(10));
  const Identity desk = Make("france-services/paris-15");
  const auto [id, case_id, seq] = AcceptedAndAckedByCpam(desk, 60000);
  clock_.Advance(60001);  // expired: caf's delivery is a dead letter
  ASSERT_TRUE(Wait([&] { return dead_.size() == 1; }));
  // Two seconds before the end of its retention: still there.
  clock_.Advance(10 * 60000 - 2000);
  WaitForSweeps(2);
  ASSERT_TRUE(journal_->GetMessage(id).ok());
  EXPECT_EQ(writer_->stats().payloads_deleted.load(), 0u);
  const size_t audit_before = AuditRecords();

  clock_.Advance(2000);
  ASSERT_TRUE(Wait([&] { return writer_->stats().payloads_deleted == 1; }));
  EXPECT_EQ(journal_->GetMessage(id).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(journal_->GetDedup(id).ok());
  EXPECT_TRUE(journal_->GetDead("caf", seq).ok());
  // The deletion is audited, by the broker, with the id of a message whose
  // acceptance the chain holds; the chain still verifies.
  std::vector<std::string> records;
  ASSERT_TRUE(journal_->ReadAudit(1, UINT64_MAX, &records).ok());
  ASSERT_EQ(records.size(), audit_before + 1);
  EXPECT_TRUE(audit::VerifyChain(audit::AuditHead{}, records).ok());
  const auto* deleted =
      flatbuffers::GetRoot<wire::AuditRecord>(records.back().data());
  EXPECT_EQ(deleted->event(), wire::TraceEvent::PayloadDeleted);
  EXPECT_EQ(VectorBytes(deleted->message_id()), id);
  EXPECT_EQ(deleted->party()->str(), broker_.participant);
  EXPECT_EQ(deleted->detail()->str(), "its retention ended");
  size_t acceptances = 0;
  for (const auto& bytes : records) {
    const auto* r = flatbuffers::GetRoot<wire::AuditRecord>(bytes.data());
    if (r->event() == wire::TraceEvent::Accepted &&
        VectorBytes(r->message_id()) == id && r->case_id()->str() == case_id)
      ++acceptances;
  }
  EXPECT_EQ(acceptances, 1u);
  EXPECT_EQ(Case(case_id)->trail()->size(), 3u);  // accepted, delivered,
                                                  // expired: not in the trail
  // The sender's status report (30 days to live) is not touched.
  std::vector<OutboxEntry> reports;
  ASSERT_TRUE(journal_->ReadOutbox(desk.participant, 0, 10, &reports).ok());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(journal_->GetMessage(reports[0].message_id).ok());

  writer_->Post(OperatorRequest{{"op-rid", 1}, "operator", true, "caf", seq});
  ASSERT_TRUE(Wait([&] { return operator_.size() == 1; }));
  EXPECT_EQ(operator_[0].status.code(), Status::Code::kNotFound);
  EXPECT_NE(operator_[0].status.message().find("cannot be replayed"),
            std::string::npos)
      << operator_[0].status.message();
  EXPECT_TRUE(journal_->GetDead("caf", seq).ok());
  EXPECT_FALSE(journal_->GetOutbox("caf", seq)->has_value());
  writer_->Post(OperatorRequest{{"op-rid", 2}, "operator", false, "caf", seq});
  ASSERT_TRUE(Wait([&] { return operator_.size() == 2; }));
  EXPECT_TRUE(operator_[1].status.ok()) << operator_[1].status.ToString();
  // A partner status about it says why it is refused.
  writer_->Post(StatusRequest{
      {"st-rid", 3}, "cpam", id, wire::RecipientState::Received, ""});
  Status status_answer;
  ASSERT_TRUE(Wait([&] {
    for (const auto& report : reports_) {
      if (!report.status_outcomes.empty()) {
        status_answer = report.status_outcomes[0].status;
        return true;
      }
    }
    return false;
  }));
  EXPECT_EQ(status_answer.reject_code(), wire::RejectCode::StatusNotAllowed);
  EXPECT_NE(status_answer.message().find("is no longer kept by the broker"),
            std::string::npos)
      << status_answer.message();
  // Deleted once: later sweeps find nothing more to delete, nor audit.
  const size_t audit_after = AuditRecords();
  clock_.Advance(3600 * 1000);
  WaitForSweeps(2);
  EXPECT_EQ(writer_->stats().payloads_deleted.load(), 1u);
  EXPECT_EQ(AuditRecords(), audit_after);
}

// A dead letter an operator replayed waits in the recipient's queue: its
// envelope outlives its retention until it is acknowledged.
TEST_F(WriterTest, AReplayedMessageKeepsItsEnvelopeUntilAcknowledged) {
  ReopenWithRetention(std::chrono::minutes(10));
  const Identity desk = Make("france-services/paris-15");
  const auto [id, case_id, seq] = AcceptedAndAckedByCpam(desk, 60000);
  clock_.Advance(60001);
  ASSERT_TRUE(Wait([&] { return dead_.size() == 1; }));
  writer_->Post(OperatorRequest{{"op-rid", 1}, "operator", true, "caf", seq});
  ASSERT_TRUE(Wait([&] { return operator_.size() == 1; }));
  ASSERT_TRUE(operator_[0].status.ok()) << operator_[0].status.ToString();

  clock_.Advance(10 * 60000);
  WaitForSweeps(2);
  EXPECT_TRUE(journal_->GetMessage(id).ok());
  EXPECT_EQ(writer_->stats().payloads_deleted.load(), 0u);

  // Acknowledged: its retention starts again from now, in full.
  writer_->Post(
      AckRequest{"caf", seq, id, case_id, wire::AckOutcome::Processed, ""});
  ASSERT_TRUE(Wait([&] { return acks_ == 2; }));
  clock_.Advance(10 * 60000 - 2000);
  WaitForSweeps(2);
  EXPECT_TRUE(journal_->GetMessage(id).ok());
  clock_.Advance(2000);
  ASSERT_TRUE(Wait([&] { return writer_->stats().payloads_deleted == 1; }));
  EXPECT_EQ(journal_->GetMessage(id).status().code(), Status::Code::kNotFound);
}

// A delivery made a dead letter, replayed and acknowledged before its
// message expires: the envelope is kept until payload_retention after the
// expiry, not after the ack (here the retention is 0: until the expiry).
TEST_F(WriterTest, ARetentionNeverEndsBeforeTheMessageExpires) {
  ReopenWithRetention(std::chrono::milliseconds(0));
  const Identity desk = Make("france-services/paris-15");
  const auto [id, case_id, seq] = AcceptedAndAckedByCpam(desk, 3600000);
  writer_->Post(DeadLetterRequest{"caf", seq, id, 3, "out of attempts"});
  ASSERT_TRUE(Wait([&] { return dead_.size() == 1; }));
  writer_->Post(OperatorRequest{{"op-rid", 1}, "operator", true, "caf", seq});
  ASSERT_TRUE(Wait([&] { return operator_.size() == 1; }));
  ASSERT_TRUE(operator_[0].status.ok()) << operator_[0].status.ToString();
  writer_->Post(
      AckRequest{"caf", seq, id, case_id, wire::AckOutcome::Processed, ""});
  ASSERT_TRUE(Wait([&] { return acks_ == 2; }));
  clock_.Advance(3600000 - 1000);
  WaitForSweeps(2);
  EXPECT_TRUE(journal_->GetMessage(id).ok());
  clock_.Advance(1000);
  ASSERT_TRUE(Wait([&] { return writer_->stats().payloads_deleted == 1; }));
}

// A case opened before the NIR rule whose id holds one still gets the
// broker's status reports (sealed for its sender).
TEST_F(WriterTest, ACaseFromBeforeTheNirRuleStillGetsItsStatusReports) {
  const Identity desk = Make("france-services/paris-15");
  SubmitRequest r =
      RealSubmit(desk, clock_.NowMs(), 60000, "dossier-184127645108946");
  ASSERT_EQ(r.case_id, "dossier-184127645108946");
  const std::string id = r.message_id;
  writer_->Post(std::move(r));
  ASSERT_GT(WaitFor(id).sequence, 0u);
  clock_.Advance(60001);
  ASSERT_TRUE(Wait([&] { return dead_.size() == 2; }));
  std::vector<OutboxEntry> reports;
  ASSERT_TRUE(journal_->ReadOutbox(desk.participant, 0, 10, &reports).ok());
  EXPECT_EQ(reports.size(), 2u);  // caf's and cpam's Expired
}

// A journaled envelope that no longer parses (a damaged journal) is never
// deleted: what still points to it is not left pointing at nothing.
TEST_F(WriterTest, AnEnvelopeThatDoesNotParseIsNotPurged) {
  Close();
  {
    auto journal = Journal::Open(dir_, JournalOptions());
    ASSERT_TRUE(journal.ok());
    auto b = (*journal)->NewBatch();
    const std::string id(16, 'd');
    b->PutMessage(id, "not an envelope");
    b->PutOutbox("caf", 500, id);
    b->PutExpiry(clock_.NowMs() - 1, 500, id);
    ASSERT_TRUE((*journal)->Commit(b.get()).ok());
  }
  retention_ = std::chrono::milliseconds(0);
  Open();  // as ReopenWithRetention, with the journal written in between
  WaitForSweeps(3);
  EXPECT_TRUE(journal_->GetMessage(std::string(16, 'd')).ok());
  EXPECT_TRUE(journal_->GetOutbox("caf", 500)->has_value());
  EXPECT_EQ(writer_->stats().payloads_deleted.load(), 0u);
}

TEST_F(WriterTest, RetriesExhaustedBecomeUndeliverableUnlessAckedFirst) {
  const Identity desk = Make("france-services/paris-15");
  SubmitRequest r = RealSubmit(desk, clock_.NowMs(), 3600000);
  const std::string id = r.message_id, case_id = r.case_id;
  writer_->Post(std::move(r));
  const uint64_t seq = WaitFor(id).sequence;
  // cpam's ack is journaled before its give-up: no dead letter for cpam.
  writer_->Post(
      AckRequest{"cpam", seq, id, case_id, wire::AckOutcome::Processed, ""});
  writer_->Post(DeadLetterRequest{"cpam", seq, id, 20, "no acknowledgement"});
  writer_->Post(DeadLetterRequest{"caf", seq, id, 20, "no acknowledgement"});
  // Requests are written in the order they were posted: once caf's dead
  // letter is reported, cpam's give-up has been written too.
  ASSERT_TRUE(Wait([&] {
    for (const auto& d : dead_) {
      if (d.first == "caf") return true;
    }
    return false;
  }));
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(dead_.size(), 1u);
  EXPECT_EQ(dead_[0].first, "caf");
  auto dead = journal_->GetDead("caf", seq);
  ASSERT_TRUE(dead.ok());
  const wire::DeadLetter* dl = ParseDeadLetter(*dead);
  ASSERT_NE(dl, nullptr);
  EXPECT_EQ(dl->reason(), wire::RecipientState::Undeliverable);
  EXPECT_EQ(dl->attempts(), 20u);
}

// A new session starts reading where everything before was acknowledged,
// not at the beginning of the outbox (where the deleted entries lie).
TEST_F(WriterTest, SessionsRememberTheFirstSequenceAcrossReconnects) {
  const std::string desk = "france-services/paris-15";
  for (int i = 1; i <= 5; ++i) {
    const std::string id = "m" + std::to_string(i);
    writer_->Post(Submit(id, "case-" + id, desk, {"caf"}));
    ASSERT_TRUE(WaitFor(id).status.ok());
  }
  std::vector<uint64_t> sent;
  auto sessions_owner = DeliveriesInto(&sent);
  delivery::Sessions& sessions = *sessions_owner;
  const auto ack = [&](const std::string& routing_id, uint64_t seq) {
    auto a = sessions.Ack(routing_id, seq, "m" + std::to_string(seq),
                          wire::AckOutcome::Processed, "");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    const size_t before = acks_;
    writer_->Post(std::move(*a));
    ASSERT_TRUE(Wait([&] { return acks_ > before; }));
  };
  sessions.Open("caf", "r1", 3);
  sessions.Pump("caf");
  EXPECT_EQ(sent, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(sessions.first_sequence("caf"), 0u);  // not read from 0 yet
  ack("r1", 1);
  ack("r1", 2);
  EXPECT_EQ(sessions.first_sequence("caf"), 3u);

  // A reconnect reads from 3: what is left, in order.
  sent.clear();
  sessions.Open("caf", "r2", 10);
  sessions.Pump("caf");
  EXPECT_EQ(sent, (std::vector<uint64_t>{3, 4, 5}));
  ack("r2", 4);  // out of order: 3 is still pending
  EXPECT_EQ(sessions.first_sequence("caf"), 3u);
  ack("r2", 3);
  EXPECT_EQ(sessions.first_sequence("caf"), 5u);
  // An operator's replay puts an older sequence back: it is read again.
  sessions.Rewind("caf", 2);
  EXPECT_EQ(sessions.first_sequence("caf"), 2u);
  // Lost acks, or a journal outage: back to the beginning.
  sessions.Restart("caf");
  EXPECT_EQ(sessions.first_sequence("caf"), 0u);
  sessions.Rewind("caf", 4);
  sessions.RestartAll();
  EXPECT_EQ(sessions.first_sequence("caf"), 0u);
  sent.clear();
  sessions.Pump("caf");
  EXPECT_EQ(sent, (std::vector<uint64_t>{5}));  // all that is left
}

}  // namespace
}  // namespace relais::broker::journal
