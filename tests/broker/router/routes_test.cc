#include "broker/router/routes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.h"
#include "tests/support/fixtures.h"

namespace relais::broker::router {
namespace {

using wire::CaseType;
using Names = std::vector<std::string>;

constexpr char kDesk[] = "france-services/paris-15";
constexpr int64_t kT0 = 1795392000000;

ParticipantEntry Entry(const std::string& id, std::vector<Route> routes,
                       std::map<CaseType, Subscription> subscriptions) {
  ParticipantEntry e;
  e.identity = PublicOf(testing::MakeIdentity(id));
  e.routes = std::move(routes);
  e.subscriptions = std::move(subscriptions);
  return e;
}

// A journal in a folder of its own, whose reference directory says that
// caf and the desk hold a file on citizen one and dgfip on citizen two; and
// a registry where
//   - for address changes, cpam, msa and the desk subscribe to all, caf and
//     dgfip to known citizens only; for births, france-travail to all;
//   - the desk may send both types to everyone but msa, itself included;
//     caf may send address changes to itself, cpam and the desk.
// Senders with a route to themselves are kept out only by the rule that a
// sender is never its own recipient. The entries are not in id order, so
// neither are the subscribers.
class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTestDir();
    auto j =
        journal::Journal::Open(root_ + "/journal", journal::JournalOptions());
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
    auto batch = journal_->NewBatch();
    batch->PutSubject(citizen_one_, "caf", kT0);
    batch->PutSubject(citizen_one_, kDesk, kT0);
    batch->PutSubject(citizen_two_, "dgfip", kT0);
    ASSERT_TRUE(journal_->Commit(batch.get()).ok());

    const Route desk_route{{"caf", "cpam", "dgfip", "france-travail", kDesk},
                           {CaseType::AddressChange, CaseType::Birth}};
    const Route caf_route{{"caf", "cpam", kDesk}, {CaseType::AddressChange}};
    auto r = Registry::Build({
        Entry("msa", {}, {{CaseType::AddressChange, Subscription::kAll}}),
        Entry("dgfip", {}, {{CaseType::AddressChange, Subscription::kKnown}}),
        Entry("cpam", {}, {{CaseType::AddressChange, Subscription::kAll}}),
        Entry("caf", {caf_route},
              {{CaseType::AddressChange, Subscription::kKnown}}),
        Entry(kDesk, {desk_route},
              {{CaseType::AddressChange, Subscription::kAll}}),
        Entry("france-travail", {}, {{CaseType::Birth, Subscription::kAll}}),
    });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::make_unique<Registry>(std::move(*r));
  }
  void TearDown() override {
    journal_.reset();
    std::filesystem::remove_all(root_);
  }
  // The route of `type` from `sender` about `subject_ref`; a failure and
  // {"<error>"} if it fails.
  Names RouteOf(std::string_view sender, CaseType type,
                std::string_view subject_ref) {
    auto r =
        RouteBySubscription(*registry_, *journal_, sender, type, subject_ref);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Names{"<error>"};
  }

  const std::string citizen_one_ = crypto::Sha256("citizen one");
  const std::string citizen_two_ = crypto::Sha256("citizen two");
  const std::string stranger_ = crypto::Sha256("nobody registered this one");
  std::string root_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Registry> registry_;
};

// Subscribers to all are returned, subscribers to known citizens only if
// they registered the citizen; the sender (subscribed and a holder) and
// msa (no route from the desk) are left out; the result is sorted.
TEST_F(RoutesTest, AllSubscribersAndKnownHoldersSortedWithoutTheSender) {
  EXPECT_EQ(RouteOf(kDesk, CaseType::AddressChange, citizen_one_),
            (Names{"caf", "cpam"}));
  EXPECT_EQ(RouteOf(kDesk, CaseType::AddressChange, citizen_two_),
            (Names{"cpam", "dgfip"}));
}

// About no citizen, or one nobody registered, only subscribers to all
// receive the case.
TEST_F(RoutesTest, WithoutARegisteredSubjectOnlySubscribersToAll) {
  EXPECT_EQ(RouteOf(kDesk, CaseType::AddressChange, ""), (Names{"cpam"}));
  EXPECT_EQ(RouteOf(kDesk, CaseType::AddressChange, stranger_),
            (Names{"cpam"}));
}

// Another sender: caf, a holder of citizen one with a route to itself, is
// left out of its own route; the desk, subscribed to all and reachable from
// caf, is in it; dgfip, a holder of citizen two but with no route from caf,
// is not.
TEST_F(RoutesTest, TheSenderIsNeverItsOwnRecipient) {
  EXPECT_EQ(RouteOf("caf", CaseType::AddressChange, citizen_one_),
            (Names{"cpam", kDesk}));
  EXPECT_EQ(RouteOf("caf", CaseType::AddressChange, citizen_two_),
            (Names{"cpam", kDesk}));
}

// Subscriptions are per case type: births go to france-travail alone, and
// a case type nobody subscribed to goes to no one.
TEST_F(RoutesTest, SubscriptionsArePerCaseType) {
  EXPECT_EQ(RouteOf(kDesk, CaseType::Birth, citizen_one_),
            (Names{"france-travail"}));
  EXPECT_TRUE(RouteOf(kDesk, CaseType::RsaApplication, citizen_one_).empty());
  EXPECT_TRUE(RouteOf("caf", CaseType::Birth, "").empty());  // no route
}

// An unregistered citizen no longer brings its former holder the case.
TEST_F(RoutesTest, UnregisteringRemovesTheHolder) {
  auto batch = journal_->NewBatch();
  batch->DeleteSubject(citizen_one_, "caf");
  ASSERT_TRUE(journal_->Commit(batch.get()).ok());
  EXPECT_EQ(RouteOf(kDesk, CaseType::AddressChange, citizen_one_),
            (Names{"cpam"}));
}

// If the reference directory cannot be read, the route is an error, not a
// route without the known-citizen subscribers; without a citizen nothing
// is read and the route still works.
// A reference of another size than 32 bytes is refused, not looked up as
// a prefix of the directory's keys.
TEST_F(RoutesTest, AReferenceOfTheWrongSizeIsRefused) {
  auto r =
      RouteBySubscription(*registry_, *journal_, kDesk, CaseType::AddressChange,
                          citizen_one_.substr(0, 5));
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "a subject reference is 32 bytes, not 5");
}

TEST_F(RoutesTest, AnUnreadableDirectoryIsAnError) {
  ASSERT_TRUE(journal_->Close().ok());
  auto r = RouteBySubscription(*registry_, *journal_, kDesk,
                               CaseType::AddressChange, citizen_one_);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(RouteOf(kDesk, CaseType::AddressChange, ""), (Names{"cpam"}));
}

}  // namespace
}  // namespace relais::broker::router
