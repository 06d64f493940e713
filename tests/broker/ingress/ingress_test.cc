#include "broker/ingress/ingress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/cases/status_report.h"
#include "core/crypto.h"
#include "tests/support/fixtures.h"

namespace relais::broker {
namespace {

using wire::CaseType;
using wire::RejectCode;

// Keys are made at this fixed time and every check is made at it (or at
// an explicit time after it): the test passes on any day.
constexpr int64_t kNow = 1795392000000;
constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr char kDesk[] = "france-services/paris-15";

// The registry of `ids`: the desk may send address changes to caf and
// cpam (unless `desk_routes` is false); the others may send nothing; msa
// is never registered. With `desk_revoked`, the desk's signing key is
// revoked.
Registry MakeRegistry(const std::vector<const Identity*>& ids,
                      bool desk_revoked = false, bool desk_routes = true) {
  std::vector<ParticipantEntry> entries;
  for (const Identity* id : ids) {
    ParticipantEntry e;
    e.identity = PublicOf(*id);
    if (id->participant == kDesk) {
      if (desk_routes) {
        e.routes = {Route{{"caf", "cpam"}, {CaseType::AddressChange}}};
      }
      if (desk_revoked) e.identity.signing_keys[0].revoked = true;
    }
    entries.push_back(std::move(e));
  }
  auto r = Registry::Build(std::move(entries));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : Registry();
}

class IngressTest : public ::testing::Test {
 protected:
  // A message from the desk to `to` about one citizen, created a minute
  // before kNow and expiring an hour after it.
  EnvelopeDraft Draft(std::vector<std::string> to = {"caf", "cpam"}) {
    EnvelopeDraft d = testing::SampleDraft(kDesk, std::move(to));
    d.created_at_ms = kNow - kMinute;
    d.expires_at_ms = kNow + kHour;
    d.subject_ref = crypto::Sha256("citizen 284057512345672");
    return d;
  }
  // `d` sealed with `key` (the desk's by default).
  SealedEnvelope Seal(const EnvelopeDraft& d, const SigningKey* key = nullptr) {
    auto s = SealEnvelope(d, key ? *key : desk_.signing);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : SealedEnvelope{};
  }
  static IngressTask Task(std::string envelope,
                          std::string participant = kDesk) {
    return IngressTask{
        {"routing-7", 42}, std::move(participant), std::move(envelope), {}};
  }
  // VerifySubmission at `now` against registry_ (or `registry`).
  Result<journal::SubmitRequest> Verify(IngressTask& task,
                                        const LookUpReceipt& lookup = nullptr,
                                        int64_t now = kNow,
                                        const Registry* registry = nullptr) {
    return VerifySubmission(task, registry ? *registry : registry_, now,
                            TimePolicy(), lookup);
  }
  // The refusal code of verifying `bytes` from `participant`, checking
  // that the task comes back intact.
  RejectCode CodeOf(const std::string& bytes, std::string participant = kDesk,
                    int64_t now = kNow) {
    IngressTask task = Task(bytes, std::move(participant));
    auto r = Verify(task, nullptr, now);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(task.envelope, bytes);
    if (r.ok()) return RejectCode::None;
    EXPECT_EQ(r.status().code(), Status::Code::kRejected);
    return r.status().reject_code();
  }
  // A signing key that claims to be the desk's (its key id) but signs with
  // another private key.
  SigningKey ForgedDeskKey() {
    SigningKey k = other_desk_.signing;
    k.key_id = desk_.signing.key_id;
    return k;
  }
  // A StatusReport payload (the broker's own encoding) in a message the
  // desk seals to `to`.
  EnvelopeDraft StatusReportFromDesk(std::vector<std::string> to) {
    EnvelopeDraft about_draft = Draft({"caf"});
    SealedEnvelope about = Seal(about_draft);
    auto view = ParseEnvelope(about.bytes);
    EXPECT_TRUE(view.ok());
    EnvelopeDraft d = cases::StatusReportDraft(
        *view, {"caf", wire::RecipientState::Delivered, 1, ""}, "relais", kNow,
        kHour);
    EXPECT_EQ(d.encoding, wire::PayloadEncoding::StatusReport);
    d.sender = kDesk;
    d.recipients = std::move(to);
    return d;
  }

  Identity desk_ = testing::MakeIdentityAt(kDesk, kNow);
  // The same participant id with another signing key (not registered).
  Identity other_desk_ = testing::MakeIdentityAt(kDesk, kNow);
  Identity caf_ = testing::MakeIdentityAt("caf", kNow);
  Identity cpam_ = testing::MakeIdentityAt("cpam", kNow);
  Identity dgfip_ = testing::MakeIdentityAt("dgfip", kNow);
  Registry registry_ = MakeRegistry({&desk_, &caf_, &cpam_, &dgfip_});
};

// A message that passes every check becomes the journal's request: every
// field read from its header, the envelope moved in unchanged, the task's
// message id set; without a lookup, nothing was looked up.
TEST_F(IngressTest, AValidSubmissionBecomesTheJournalsRequest) {
  const EnvelopeDraft d = Draft();
  const SealedEnvelope sealed = Seal(d);
  IngressTask task = Task(sealed.bytes);
  auto r = Verify(task);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->envelope, sealed.bytes);
  EXPECT_EQ(r->message_id, sealed.message_id);
  EXPECT_EQ(task.message_id, sealed.message_id);
  EXPECT_EQ(r->case_id, d.case_id);
  EXPECT_EQ(r->sender, kDesk);
  EXPECT_EQ(r->header_sha256, sealed.header_sha256);
  EXPECT_EQ(r->subject_ref, d.subject_ref);
  EXPECT_EQ(r->recipients, (std::vector<std::string>{"caf", "cpam"}));
  EXPECT_EQ(r->case_type, CaseType::AddressChange);
  EXPECT_EQ(r->expires_at_ms, d.expires_at_ms);
  EXPECT_FALSE(r->prior.looked_up);
  EXPECT_FALSE(r->prior.first.has_value());
}

// Bytes that are no envelope, or an envelope cut short, are refused
// MalformedEnvelope; no message id could be read, and the bytes stay in the
// task.
TEST_F(IngressTest, GarbageAndTruncatedEnvelopesAreMalformed) {
  const SealedEnvelope sealed = Seal(Draft());
  for (const std::string& bytes :
       {std::string(), std::string("garbage, not a FlatBuffer"),
        std::string(200, '\0'), sealed.bytes.substr(0, 16),
        sealed.bytes.substr(0, sealed.bytes.size() / 2)}) {
    IngressTask task = Task(bytes);
    auto r = Verify(task);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedEnvelope)
        << r.status().ToString();
    EXPECT_TRUE(task.message_id.empty());
    EXPECT_EQ(task.envelope, bytes);
  }
}

// The header's sender must be the connection's identity; the refusal names
// both, and the message id is known by then.
TEST_F(IngressTest, ASenderOtherThanTheConnectionIsRefused) {
  const SealedEnvelope sealed = Seal(Draft());
  IngressTask task = Task(sealed.bytes, "caf");
  auto r = Verify(task);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reject_code(), RejectCode::SenderMismatch);
  EXPECT_NE(r.status().message().find(kDesk), std::string::npos);
  EXPECT_NE(r.status().message().find("'caf'"), std::string::npos);
  EXPECT_EQ(task.message_id, sealed.message_id);
  EXPECT_EQ(task.envelope, sealed.bytes);
}

// A participant may not use the StatusReport encoding, the broker's own,
// even in a well-formed, well-signed envelope to a route it has.
TEST_F(IngressTest, AStatusReportPayloadIsRefused) {
  const SealedEnvelope sealed = Seal(StatusReportFromDesk({"caf"}));
  ASSERT_TRUE(ParseEnvelope(sealed.bytes).ok());
  IngressTask task = Task(sealed.bytes);
  auto r = Verify(task);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedEnvelope);
  EXPECT_NE(r.status().message().find("StatusReport"), std::string::npos);
  EXPECT_EQ(task.message_id, sealed.message_id);
}

// Each recipient must be registered (UnknownRecipient) and allowed by one
// of the sender's routes for that case type (NotAuthorised), checked in
// the header's order.
TEST_F(IngressTest, RecipientsMustBeRegisteredAndAllowed) {
  EXPECT_EQ(CodeOf(Seal(Draft({"caf", "msa"})).bytes),
            RejectCode::UnknownRecipient);
  EXPECT_EQ(CodeOf(Seal(Draft({"dgfip"})).bytes), RejectCode::NotAuthorised);
  EXPECT_EQ(CodeOf(Seal(Draft({"cpam", "dgfip", "msa"})).bytes),
            RejectCode::NotAuthorised);
  EXPECT_EQ(CodeOf(Seal(Draft({"msa", "dgfip"})).bytes),
            RejectCode::UnknownRecipient);
  // A case type the route does not name (an opaque payload, so that the
  // case type needs no matching body).
  EnvelopeDraft birth = Draft({"caf"});
  birth.case_type = CaseType::Birth;
  birth.encoding = wire::PayloadEncoding::Opaque;
  birth.payload = "opaque";
  EXPECT_EQ(CodeOf(Seal(birth).bytes), RejectCode::NotAuthorised);
  // Registered participants without a route of their own send nothing.
  EnvelopeDraft from_caf = Draft({"cpam"});
  from_caf.sender = "caf";
  EXPECT_EQ(CodeOf(Seal(from_caf, &caf_.signing).bytes, "caf"),
            RejectCode::NotAuthorised);
}

// The key id must name a registered key of the sender (UnknownSigningKey),
// valid when the message was created and not revoked (SigningKeyNotValid).
TEST_F(IngressTest, TheSigningKeyMustBeKnownAndValid) {
  EXPECT_EQ(CodeOf(Seal(Draft(), &other_desk_.signing).bytes),
            RejectCode::UnknownSigningKey);

  // The desk's key is valid from a day before kNow.
  EnvelopeDraft early = Draft();
  early.created_at_ms = kNow - 2 * kDay;
  EXPECT_EQ(CodeOf(Seal(early).bytes), RejectCode::SigningKeyNotValid);
  early.created_at_ms = kNow - kDay;  // the window is inclusive
  IngressTask in_window = Task(Seal(early).bytes);
  EXPECT_TRUE(Verify(in_window).ok());

  const Registry revoked =
      MakeRegistry({&desk_, &caf_, &cpam_, &dgfip_}, /*desk_revoked=*/true);
  IngressTask task = Task(Seal(Draft()).bytes);
  auto r = Verify(task, nullptr, kNow, &revoked);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reject_code(), RejectCode::SigningKeyNotValid);
}

// A signature made with another private key under the desk's key id does
// not verify.
TEST_F(IngressTest, ASignatureByAnotherKeyIsBad) {
  const SigningKey forged = ForgedDeskKey();
  EXPECT_EQ(CodeOf(Seal(Draft(), &forged).bytes), RejectCode::BadSignature);
}

// Time: created too far ahead of the broker's clock (ClockSkew), expired,
// or living longer than allowed (Expired); the limits themselves pass.
TEST_F(IngressTest, TimeIsChecked) {
  const TimePolicy policy;
  EnvelopeDraft d = Draft();
  d.created_at_ms = kNow + policy.max_clock_skew_ms + 1;
  d.expires_at_ms = d.created_at_ms + kHour;
  EXPECT_EQ(CodeOf(Seal(d).bytes), RejectCode::ClockSkew);
  d.created_at_ms = kNow + policy.max_clock_skew_ms;
  IngressTask at_skew = Task(Seal(d).bytes);
  EXPECT_TRUE(Verify(at_skew).ok());

  d = Draft();
  d.expires_at_ms = kNow;
  EXPECT_EQ(CodeOf(Seal(d).bytes), RejectCode::Expired);
  d.expires_at_ms = kNow + 1;
  IngressTask just_alive = Task(Seal(d).bytes);
  EXPECT_TRUE(Verify(just_alive).ok());

  d = Draft();
  d.expires_at_ms = d.created_at_ms + policy.max_ttl_ms + 1;
  EXPECT_EQ(CodeOf(Seal(d).bytes), RejectCode::Expired);

  // The same message, valid at kNow, has expired two hours later.
  const std::string bytes = Seal(Draft()).bytes;
  EXPECT_EQ(CodeOf(bytes, kDesk, kNow + 2 * kHour), RejectCode::Expired);
}

// The checks run in the documented order: an envelope that fails several
// is refused with the first one's code.
TEST_F(IngressTest, TheFirstFailingCheckGivesTheCode) {
  const SigningKey forged = ForgedDeskKey();
  // Everything after the sender check fails too: a StatusReport to an
  // unregistered recipient, forged, expired.
  EnvelopeDraft all_wrong = StatusReportFromDesk({"msa"});
  all_wrong.expires_at_ms = kNow - 1;
  all_wrong.created_at_ms = kNow - kHour;
  const std::string all_wrong_bytes = Seal(all_wrong, &forged).bytes;
  EXPECT_EQ(CodeOf(all_wrong_bytes, "caf"), RejectCode::SenderMismatch);
  EXPECT_EQ(CodeOf(all_wrong_bytes), RejectCode::MalformedEnvelope);

  // Routes before keys, signature and time.
  EnvelopeDraft d = Draft({"msa"});
  d.expires_at_ms = kNow - 1;
  d.created_at_ms = kNow - kHour;
  EXPECT_EQ(CodeOf(Seal(d, &other_desk_.signing).bytes),
            RejectCode::UnknownRecipient);
  d.recipients = {"dgfip"};
  EXPECT_EQ(CodeOf(Seal(d, &other_desk_.signing).bytes),
            RejectCode::NotAuthorised);
  // The key before the signature and time.
  d.recipients = {"caf"};
  EXPECT_EQ(CodeOf(Seal(d, &other_desk_.signing).bytes),
            RejectCode::UnknownSigningKey);
  EnvelopeDraft early = d;
  early.created_at_ms = kNow - 2 * kDay;
  EXPECT_EQ(CodeOf(Seal(early, &forged).bytes), RejectCode::SigningKeyNotValid);
  // The signature before time.
  EXPECT_EQ(CodeOf(Seal(d, &forged).bytes), RejectCode::BadSignature);
  EnvelopeDraft ahead = Draft({"caf"});
  ahead.created_at_ms = kNow + kHour;
  ahead.expires_at_ms = kNow + 2 * kHour;
  EXPECT_EQ(CodeOf(Seal(ahead, &forged).bytes), RejectCode::BadSignature);
}

// The lookup is asked only after the structural and sender checks, with
// the message id; an envelope refused before it costs no journal read.
TEST_F(IngressTest, TheLookupComesAfterStructureAndSender) {
  std::vector<std::string> asked;
  LookUpReceipt lookup =
      [&](std::string_view id) -> Result<journal::PriorReceipt> {
    asked.emplace_back(id);
    return journal::PriorReceipt{true, 3, std::nullopt};
  };
  const SealedEnvelope sealed = Seal(Draft());
  IngressTask garbage = Task("garbage");
  EXPECT_FALSE(Verify(garbage, lookup).ok());
  IngressTask mismatch = Task(sealed.bytes, "caf");
  EXPECT_FALSE(Verify(mismatch, lookup).ok());
  IngressTask report = Task(Seal(StatusReportFromDesk({"caf"})).bytes);
  EXPECT_FALSE(Verify(report, lookup).ok());
  EXPECT_TRUE(asked.empty());

  IngressTask task = Task(sealed.bytes);
  auto r = Verify(task, lookup);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(asked, std::vector<std::string>{sealed.message_id});
  // What it found (no acceptance yet) travels with the request.
  EXPECT_TRUE(r->prior.looked_up);
  EXPECT_EQ(r->prior.as_of_batch, 3u);
  EXPECT_FALSE(r->prior.first.has_value());

  // A route refusal still comes after the lookup.
  IngressTask unroutable = Task(Seal(Draft({"dgfip"})).bytes);
  EXPECT_FALSE(Verify(unroutable, lookup).ok());
  EXPECT_EQ(asked.size(), 2u);
}

// The very message the sender already had accepted (same sender, same
// header hash) skips the route, key, signature and time checks, and the
// first receipt travels with the request: accepted although it has
// expired, its key was revoked and its route is gone.
TEST_F(IngressTest, AResubmissionSkipsRouteKeySignatureAndTime) {
  const SealedEnvelope sealed = Seal(Draft());
  const journal::DedupEntry first{17, kNow - kMinute, sealed.header_sha256,
                                  kDesk};
  int lookups = 0;
  LookUpReceipt lookup =
      [&](std::string_view id) -> Result<journal::PriorReceipt> {
    ++lookups;
    EXPECT_EQ(id, sealed.message_id);
    return journal::PriorReceipt{true, 9, first};
  };
  // A registry where the desk's key is revoked and caf and cpam are not
  // even registered any more.
  const Registry changed = MakeRegistry({&desk_, &dgfip_}, true, false);
  IngressTask task = Task(sealed.bytes);
  auto r = Verify(task, lookup, kNow + 2 * kHour, &changed);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(lookups, 1);
  EXPECT_TRUE(r->prior.looked_up);
  EXPECT_EQ(r->prior.as_of_batch, 9u);
  ASSERT_TRUE(r->prior.first.has_value());
  EXPECT_EQ(r->prior.first->sequence, 17u);
  EXPECT_EQ(r->prior.first->accepted_at_ms, kNow - kMinute);
  EXPECT_EQ(r->prior.first->header_sha256, sealed.header_sha256);
  EXPECT_EQ(r->prior.first->sender, kDesk);
  EXPECT_EQ(r->message_id, sealed.message_id);
  EXPECT_EQ(r->envelope, sealed.bytes);

  // Without the lookup, the same submission is refused.
  IngressTask again = Task(sealed.bytes);
  EXPECT_FALSE(Verify(again, nullptr, kNow + 2 * kHour, &changed).ok());
}

// PROTOCOL.md 4.3 and step 14c: a new message whose case id holds a NIR
// is refused (200), without repeating it; a resend of one the journal
// accepted before that rule gets its first receipt.
TEST_F(IngressTest, ANewMessageWhoseCaseIdHoldsANirIsRefused) {
  EnvelopeDraft d = Draft();
  d.case_id = "dossier-000000000000000";
  const SealedEnvelope sealed = Seal(d);
  // Written by a client of its own (sealing refuses it): the check comes
  // before the signature's.
  std::string forged = sealed.bytes;
  forged.replace(forged.find(d.case_id), d.case_id.size(),
                 "dossier-184127645108946");
  IngressTask task = Task(forged);
  auto r = Verify(task);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reject_code(), RejectCode::MalformedEnvelope);
  EXPECT_NE(r.status().message().find("case_id: holds a NIR"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("184127645108946"), std::string::npos);
  // The same bytes as journaled before the rule: the first receipt.
  const std::string sha = crypto::Sha256(ParseEnvelope(forged)->header_bytes);
  LookUpReceipt lookup =
      [&](std::string_view) -> Result<journal::PriorReceipt> {
    return journal::PriorReceipt{true, 3,
                                 journal::DedupEntry{5, kNow, sha, kDesk}};
  };
  IngressTask resent = Task(forged);
  auto again = Verify(resent, lookup);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->case_id, "dossier-184127645108946");
}

// Another header under an id already accepted, or the same header accepted
// from another sender, is not a resubmission: every check runs (the
// writer reports the conflict), and what the lookup found still travels.
TEST_F(IngressTest, AnotherHeaderUnderTheSameIdIsCheckedInFull) {
  const EnvelopeDraft d = Draft();
  const SealedEnvelope first_sealed = Seal(d);
  EnvelopeDraft changed = d;
  changed.message_id = first_sealed.message_id;
  changed.expires_at_ms = kNow + 30 * kMinute;  // another header
  const SealedEnvelope second = Seal(changed);
  ASSERT_NE(second.header_sha256, first_sealed.header_sha256);
  const journal::DedupEntry first{5, kNow - kMinute, first_sealed.header_sha256,
                                  kDesk};
  LookUpReceipt lookup =
      [&](std::string_view) -> Result<journal::PriorReceipt> {
    return journal::PriorReceipt{true, 2, first};
  };

  // Expired by the time it is verified: the time check ran.
  IngressTask late = Task(second.bytes);
  auto r = Verify(late, lookup, kNow + kHour);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reject_code(), RejectCode::Expired);
  EXPECT_EQ(late.envelope, second.bytes);
  EXPECT_EQ(late.message_id, first_sealed.message_id);

  // Forged: the signature check ran.
  const SigningKey forged = ForgedDeskKey();
  changed.expires_at_ms = kNow + 40 * kMinute;
  IngressTask forged_task = Task(Seal(changed, &forged).bytes);
  r = Verify(forged_task, lookup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reject_code(), RejectCode::BadSignature);

  // Valid: accepted by ingress, carrying the first receipt for the writer.
  IngressTask valid = Task(second.bytes);
  r = Verify(valid, lookup);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->prior.first.has_value());
  EXPECT_EQ(r->prior.first->header_sha256, first_sealed.header_sha256);
  EXPECT_EQ(r->header_sha256, second.header_sha256);

  // The same header, but the first acceptance was another sender's.
  const journal::DedupEntry by_caf{5, kNow - kMinute,
                                   first_sealed.header_sha256, "caf"};
  LookUpReceipt caf_lookup =
      [&](std::string_view) -> Result<journal::PriorReceipt> {
    return journal::PriorReceipt{true, 2, by_caf};
  };
  IngressTask same_header = Task(first_sealed.bytes);
  r = Verify(same_header, caf_lookup, kNow + 2 * kHour);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reject_code(), RejectCode::Expired);
}

// A failed lookup is not a refusal: the request says nothing was looked up
// (the writer reads again), and every check runs.
TEST_F(IngressTest, AFailedLookupLeavesTheWriterToRead) {
  const SealedEnvelope sealed = Seal(Draft());
  LookUpReceipt failing =
      [](std::string_view) -> Result<journal::PriorReceipt> {
    return Status::IOError("journal unreadable");
  };
  IngressTask task = Task(sealed.bytes);
  auto r = Verify(task, failing);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->prior.looked_up);
  EXPECT_FALSE(r->prior.first.has_value());
  IngressTask expired = Task(sealed.bytes);
  auto late = Verify(expired, failing, kNow + 2 * kHour);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().reject_code(), RejectCode::Expired);
}

// ---------------------------------------------------------------------------
// IngressPool

// One outcome handed on by the pool, accepted or refused.
struct Outcome {
  uint64_t request_id = 0;
  bool accepted = false;
  RejectCode code = RejectCode::None;
  std::string message_id;
  std::string participant;
  std::string routing_id;
};

class IngressPoolTest : public IngressTest {
 protected:
  void TearDown() override { pool_.reset(); }

  void StartPool(IngressLimits limits, size_t threads,
                 LookUpReceipt lookup = nullptr) {
    pool_ = std::make_unique<IngressPool>(
        &registry_, &clock_, limits, threads,
        [this](journal::SubmitRequest r) {
          Record(Outcome{r.reply.request_id, true, RejectCode::None,
                         r.message_id, r.sender, r.reply.routing_id});
        },
        [this](IngressRejection r) {
          Record(Outcome{r.reply.request_id, false, r.status.reject_code(),
                         r.message_id, r.participant, r.reply.routing_id});
        },
        std::move(lookup));
  }
  void Record(Outcome o) {
    // The callbacks run one at a time.
    const int now_in = ++in_callback_;
    EXPECT_EQ(now_in, 1) << "two callbacks at once";
    std::this_thread::yield();
    {
      std::lock_guard<std::mutex> lock(mu_);
      outcomes_.push_back(std::move(o));
    }
    --in_callback_;
    cv_.notify_all();
  }
  // Admits `bytes` as request `id` from `participant`; true if admitted.
  std::optional<IngressRejection> Admit(const std::string& bytes, uint64_t id,
                                        std::string participant = kDesk) {
    return pool_->Admit(IngressTask{{"routing-" + std::to_string(id), id},
                                    std::move(participant),
                                    bytes,
                                    {}});
  }
  // Waits up to 30 s for `n` outcomes; a failure if they do not come.
  std::vector<Outcome> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(30),
                             [&] { return outcomes_.size() >= n; }))
        << "only " << outcomes_.size() << " of " << n << " outcomes";
    return outcomes_;
  }
  std::vector<Outcome> Outcomes() {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_;
  }

  FakeClock clock_{kNow};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Outcome> outcomes_;
  std::atomic<int> in_callback_{0};
  std::unique_ptr<IngressPool> pool_;
};

// A gate the lookup waits at, so that a test can hold the pool's only
// thread in the middle of a verification.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void Pass() {
    std::unique_lock<std::mutex> lock(mu);
    ++waiting;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return open; });
  }
  bool WaitForWaiter() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30),
                       [&] { return waiting > 0; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

// Past max_message_bytes an envelope is refused at once, MessageTooLarge,
// with its message id, reply and participant; the refusal is returned, not
// passed to the callback, and costs none of the pending bytes. An envelope
// of exactly the limit is admitted.
TEST_F(IngressPoolTest, AdmitRefusesAnEnvelopeTooLarge) {
  const SealedEnvelope sealed = Seal(Draft());
  const size_t size = sealed.bytes.size();
  StartPool({static_cast<uint32_t>(size - 1), size, 16, {}}, 1);
  auto refused = Admit(sealed.bytes, 1);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status.reject_code(), RejectCode::MessageTooLarge);
  EXPECT_EQ(refused->message_id, sealed.message_id);
  EXPECT_EQ(refused->reply.routing_id, "routing-1");
  EXPECT_EQ(refused->reply.request_id, 1u);
  EXPECT_EQ(refused->participant, kDesk);
  auto garbage = Admit(std::string(size, 'x'), 2);
  ASSERT_TRUE(garbage.has_value());
  EXPECT_EQ(garbage->status.reject_code(), RejectCode::MessageTooLarge);
  EXPECT_TRUE(garbage->message_id.empty());

  pool_.reset();
  outcomes_.clear();
  StartPool({static_cast<uint32_t>(size), size, 16, {}}, 1);
  EXPECT_FALSE(Admit(sealed.bytes, 3).has_value());
  const auto out = WaitFor(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].request_id, 3u);
  EXPECT_TRUE(out[0].accepted);
}

// Bytes admitted count against max_pending_bytes until Release: past it,
// Overloaded; a release makes room again. A refusal by verification gives
// its bytes back by itself.
TEST_F(IngressPoolTest, PendingBytesAreBoundedUntilReleased) {
  const SealedEnvelope sealed = Seal(Draft());
  const size_t size = sealed.bytes.size();
  StartPool({1 << 20, 2 * size, 16, {}}, 2);
  EXPECT_FALSE(Admit(sealed.bytes, 0).has_value());
  EXPECT_FALSE(Admit(sealed.bytes, 1).has_value());
  WaitFor(2);
  // Accepted, but the journal has not answered: their bytes still count.
  auto over = Admit(sealed.bytes, 2);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->status.reject_code(), RejectCode::Overloaded);
  EXPECT_EQ(over->message_id, sealed.message_id);
  EXPECT_EQ(over->reply.request_id, 2u);

  pool_->Release(size);
  EXPECT_FALSE(Admit(sealed.bytes, 3).has_value());
  EXPECT_TRUE(Admit(sealed.bytes, 4).has_value());  // full again
  pool_->Release(2 * size);

  // Two refusals by verification (the connection is caf's), each of the
  // same size: they release their own bytes, so two more fit after them.
  EXPECT_FALSE(Admit(sealed.bytes, 5, "caf").has_value());
  EXPECT_FALSE(Admit(sealed.bytes, 6, "caf").has_value());
  WaitFor(5);
  EXPECT_FALSE(Admit(sealed.bytes, 7).has_value());
  EXPECT_FALSE(Admit(sealed.bytes, 8).has_value());
  const auto out = WaitFor(7);
  ASSERT_EQ(out.size(), 7u);
  std::vector<uint64_t> ids;
  for (const auto& o : out) ids.push_back(o.request_id);
  EXPECT_EQ(ids, (std::vector<uint64_t>{0, 1, 3, 5, 6, 7, 8}));
  EXPECT_FALSE(out[3].accepted);
  EXPECT_EQ(out[3].code, RejectCode::SenderMismatch);
  EXPECT_EQ(out[3].participant, "caf");
  EXPECT_EQ(out[3].message_id, sealed.message_id);
  EXPECT_TRUE(out[6].accepted);
}

// Past max_queued submissions awaiting verification, Overloaded; the
// refused one's bytes are given back (the budget below has room for the
// three queued and one more only).
TEST_F(IngressPoolTest, TheQueueIsBounded) {
  const SealedEnvelope sealed = Seal(Draft());
  const size_t size = sealed.bytes.size();
  Gate gate;
  std::atomic<bool> hold{true};
  StartPool({1 << 20, 4 * size, 2, {}}, 1,
            [&](std::string_view) -> Result<journal::PriorReceipt> {
              if (hold.exchange(false)) gate.Pass();
              return journal::PriorReceipt{true, 0, std::nullopt};
            });
  EXPECT_FALSE(Admit(sealed.bytes, 0).has_value());
  ASSERT_TRUE(gate.WaitForWaiter());  // the only thread holds task 0
  EXPECT_FALSE(Admit(sealed.bytes, 1).has_value());
  EXPECT_FALSE(Admit(sealed.bytes, 2).has_value());
  auto full = Admit(sealed.bytes, 3);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->status.reject_code(), RejectCode::Overloaded);
  EXPECT_EQ(full->message_id, sealed.message_id);
  EXPECT_EQ(full->reply.routing_id, "routing-3");
  gate.Open();
  WaitFor(3);
  EXPECT_FALSE(Admit(sealed.bytes, 4).has_value());
  const auto out = WaitFor(4);
  ASSERT_EQ(out.size(), 4u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_TRUE(out[i].accepted);
    EXPECT_EQ(out[i].request_id, i < 3 ? i : 4);
  }
}

// Outcomes come out in submission order, accepted and refused alike, even
// with four threads and envelopes whose verification costs very
// differently: garbage (refused at once), a wrong sender, small and half a
// megabyte large messages, forged ones, and lookups that take up to 30 ms.
// The callbacks never run two at once.
TEST_F(IngressPoolTest, OutcomesComeOutInSubmissionOrder) {
  const std::string small = Seal(Draft()).bytes;
  EnvelopeDraft big_draft = Draft();
  big_draft.encoding = wire::PayloadEncoding::Opaque;
  big_draft.payload = std::string(512 * 1024, 'p');
  const std::string big = Seal(big_draft).bytes;
  const SigningKey forged_key = ForgedDeskKey();
  const std::string forged = Seal(Draft(), &forged_key).bytes;

  struct Case {
    std::string bytes;
    std::string participant;
    RejectCode code;  // None: accepted
  };
  const std::vector<Case> kinds = {
      {"garbage", kDesk, RejectCode::MalformedEnvelope},
      {small, kDesk, RejectCode::None},
      {big, kDesk, RejectCode::None},
      {small, "caf", RejectCode::SenderMismatch},
      {forged, kDesk, RejectCode::BadSignature},
  };
  // Garbage and a wrong sender need no lookup; the others wait in it, the
  // small ones longest, so that neighbours finish out of order.
  const std::map<std::string, int> lookup_ms = {{PeekMessageId(small), 30},
                                                {PeekMessageId(big), 5},
                                                {PeekMessageId(forged), 0}};
  StartPool({1 << 20, 256 << 20, 4096, {}}, 4,
            [&](std::string_view id) -> Result<journal::PriorReceipt> {
              auto it = lookup_ms.find(std::string(id));
              const int ms = it == lookup_ms.end() ? 0 : it->second;
              std::this_thread::sleep_for(std::chrono::milliseconds(ms));
              return journal::PriorReceipt{true, 0, std::nullopt};
            });
  constexpr size_t kTasks = 60;
  std::vector<const Case*> expected;
  for (size_t i = 0; i < kTasks; ++i) {
    const Case& c = kinds[(i * 7) % kinds.size()];
    expected.push_back(&c);
    ASSERT_FALSE(Admit(c.bytes, i, c.participant).has_value());
  }
  const auto out = WaitFor(kTasks);
  ASSERT_EQ(out.size(), kTasks);
  for (size_t i = 0; i < kTasks; ++i) {
    SCOPED_TRACE("task " + std::to_string(i));
    EXPECT_EQ(out[i].request_id, i);
    EXPECT_EQ(out[i].routing_id, "routing-" + std::to_string(i));
    EXPECT_EQ(out[i].accepted, expected[i]->code == RejectCode::None);
    EXPECT_EQ(out[i].code, expected[i]->code);
    EXPECT_EQ(out[i].participant, expected[i]->participant);
  }
}

// The same with a lookup that makes the first of every four submissions
// the slowest by far: without the reorder stage the fast ones would pass
// it.
TEST_F(IngressPoolTest, ASlowFirstSubmissionHoldsTheLaterOnesBack) {
  std::vector<std::string> bytes;
  for (int i = 0; i < 16; ++i) bytes.push_back(Seal(Draft()).bytes);
  std::set<std::string> slow;
  for (size_t i = 0; i < bytes.size(); i += 4) {
    slow.insert(std::string(PeekMessageId(bytes[i])));
  }
  StartPool({1 << 20, 256 << 20, 4096, {}}, 4,
            [&](std::string_view id) -> Result<journal::PriorReceipt> {
              if (slow.count(std::string(id))) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
              }
              return journal::PriorReceipt{true, 0, std::nullopt};
            });
  for (size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_FALSE(Admit(bytes[i], i).has_value());
  }
  const auto out = WaitFor(bytes.size());
  ASSERT_EQ(out.size(), bytes.size());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].request_id, i);
    EXPECT_TRUE(out[i].accepted);
    EXPECT_EQ(out[i].message_id, PeekMessageId(bytes[i]));
  }
}

// Stop finishes every queued task before it returns: all their outcomes
// have been handed on by then, in order.
TEST_F(IngressPoolTest, StopFinishesTheQueuedTasks) {
  const std::string bytes = Seal(Draft()).bytes;
  StartPool({1 << 20, 256 << 20, 4096, {}}, 1,
            [](std::string_view) -> Result<journal::PriorReceipt> {
              std::this_thread::sleep_for(std::chrono::milliseconds(10));
              return journal::PriorReceipt{true, 0, std::nullopt};
            });
  constexpr size_t kTasks = 20;
  for (size_t i = 0; i < kTasks; ++i) {
    ASSERT_FALSE(Admit(bytes, i).has_value());
  }
  pool_->Stop();
  const auto out = Outcomes();
  ASSERT_EQ(out.size(), kTasks);
  for (size_t i = 0; i < kTasks; ++i) EXPECT_EQ(out[i].request_id, i);
}

}  // namespace
}  // namespace relais::broker
