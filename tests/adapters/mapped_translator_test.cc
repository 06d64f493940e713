// Unit tests of the mapped-translator base (adapters/translation/
// mapped_translator.h) and of the mapping file's [inbox] tables, the one
// place where the recipients of an agency's cases are decided: conditions
// on the case body, routing by subscription, and the errors of a file that
// gets them wrong.

#include "adapters/translation/mapped_translator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "adapters/translation/native.h"
#include "tests/adapters/translator_fixtures.h"

namespace relais::translation {
namespace {

using relais::testing::ReadSample;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The CPAM's mapping file with its [inbox.birth] table replaced by
// `inbox_birth` (the table's lines, or "" to leave it out).
std::string CpamMappingWith(const std::string& inbox_birth) {
  std::string text = ReadSample("adapters/cpam/mapping.toml");
  const size_t start = text.find("[inbox.birth]");
  const size_t end = text.find("\n\n", start);
  EXPECT_NE(start, std::string::npos) << "the CPAM's file lost [inbox.birth]";
  EXPECT_NE(end, std::string::npos);
  return text.replace(start, end - start, inbox_birth);
}

Result<MappingPtr> Parse(const std::string& inbox_birth) {
  return Mapping::Parse(CpamMappingWith(inbox_birth), "test.toml");
}

// A birth case at `stage`, as an agency's reader builds it.
OutgoingCase BirthAt(wire::BirthStage stage) {
  wire::BirthT birth;
  birth.stage = stage;
  wire::CaseEventT event;
  event.body.Set(std::move(birth));
  OutgoingCase c;
  c.case_type = wire::CaseType::Birth;
  c.payload = native::PackEvent(event);
  return c;
}

TEST(MappingInboxTest, AConditionalRecipientIsSentOnlyWhatMeetsItsCondition) {
  auto m = Parse(
      "[inbox.birth]\nreader = \"agency\"\n"
      "recipients = [{ to = \"dgfip\", when = { stage = \"Birth\" } }, "
      "\"caf\"]\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  OutgoingCase birth = BirthAt(wire::BirthStage::Birth);
  ASSERT_TRUE((*m)->Address(birth).ok());
  EXPECT_THAT(birth.recipients, ElementsAre("dgfip", "caf"));  // file order
  EXPECT_FALSE(birth.by_subscription);
  OutgoingCase pregnancy = BirthAt(wire::BirthStage::Pregnancy);
  pregnancy.recipients = {"left", "over"};  // replaced, not appended to
  ASSERT_TRUE((*m)->Address(pregnancy).ok());
  EXPECT_THAT(pregnancy.recipients, ElementsAre("caf"));
}

TEST(MappingInboxTest, AConditionOnAnAbsentFieldComparesItsDefault) {
  // Pregnancy is BirthStage's default: a buffer without the field has it.
  auto m = Parse(
      "[inbox.birth]\nreader = \"agency\"\n"
      "recipients = [{ to = \"caf\", when = { stage = \"Pregnancy\" } }]\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  OutgoingCase c = BirthAt(wire::BirthStage::Pregnancy);
  ASSERT_TRUE((*m)->Address(c).ok());
  EXPECT_THAT(c.recipients, ElementsAre("caf"));
}

TEST(MappingInboxTest, SubscribersMeansRoutingBySubscription) {
  auto m = Parse("[inbox.birth]\nrecipients = \"subscribers\"\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  OutgoingCase c = BirthAt(wire::BirthStage::Birth);
  ASSERT_TRUE((*m)->Address(c).ok());
  EXPECT_TRUE(c.by_subscription);
  EXPECT_TRUE(c.recipients.empty());
  EXPECT_TRUE((*m)->Reads("naissance"));  // no reader = "agency"
}

TEST(MappingInboxTest, ATypeReadByTheAgencyIsNotReadByTheGenericReader) {
  auto m =
      Parse("[inbox.birth]\nreader = \"agency\"\nrecipients = [\"caf\"]\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE((*m)->Reads("naissance"));
  EXPECT_TRUE((*m)->Reads("deces"));
  auto read = (*m)->Read({{"type", "naissance"}});
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(),
            "field type: unknown case type (expected deces)");
}

TEST(MappingInboxTest, ACaseTypeWithoutRecipientsIsAnInternalError) {
  auto m = Parse("");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  OutgoingCase c = BirthAt(wire::BirthStage::Birth);
  Status st = (*m)->Address(c);
  EXPECT_EQ(st.code(), Status::Code::kInternal);
  EXPECT_THAT(st.message(), HasSubstr("no [inbox.birth]"));
}

TEST(MappingInboxTest, APayloadOfAnotherTypeIsRefused) {
  auto m = Parse("[inbox.birth]\nrecipients = [\"caf\"]\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  OutgoingCase c = BirthAt(wire::BirthStage::Birth);
  c.case_type = wire::CaseType::DeathNotification;  // [inbox] has it
  EXPECT_EQ((*m)->Address(c).code(), Status::Code::kInternal);
  c.case_type = wire::CaseType::Birth;
  c.payload = "not a flatbuffer";
  EXPECT_EQ((*m)->Address(c).code(), Status::Code::kInternal);
}

TEST(MappingInboxTest, AWrongTableSaysWhatIsWrong) {
  const struct {
    std::string table, error;
  } cases[] = {
      {"[inbox.birth]\nreader = \"robot\"\nrecipients = [\"caf\"]",
       "[inbox.birth] reader: \"agency\" or \"mapping\""},
      {"[inbox.birth]\nrecipient = [\"caf\"]",
       "[inbox.birth]: unknown key \"recipient\""},
      {"[inbox.birth]\nrecipients = []", "needs recipients = [...]"},
      {"[inbox.birth]\nrecipients = [\"caf\", { to = \"caf\", when = { "
       "stage = \"Birth\" } }]",
       "recipients: caf is listed twice"},
      {"[inbox.birth]\nrecipients = [\"CAF \"]",
       "recipients: \"CAF \" is not a participant id"},
      {"[inbox.birth]\nrecipients = [{ to = \"\", when = { stage = 1 } }]",
       "recipients: \"\" is not a participant id"},
      {"[inbox.birth]\nrecipients = [{ to = \"caf\" }]",
       "each is an agency's name or {to"},
      {"[inbox.birth]\nrecipients = [{ to = \"caf\", when = { stag = 1 } }]",
       "when: stag is not a boolean, integer or enumeration field of Birth"},
      {"[inbox.birth]\nrecipients = [{ to = \"caf\", when = { expected_date "
       "= \"x\" } }]",
       "when: expected_date is not a boolean"},
      {"[inbox.birth]\nrecipients = [{ to = \"caf\", when = { stage = "
       "\"Twins\" } }]",
       "when: stage takes one of BirthStage's values"},
      {"[inbox.birth]\nrecipients = [{ to = \"caf\", when = { stage = true "
       "} }]",
       "when: stage takes one of BirthStage's values"},
  };
  for (const auto& c : cases) {
    auto m = Parse(c.table);
    ASSERT_FALSE(m.ok()) << c.table;
    EXPECT_EQ(m.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(m.status().message(), HasSubstr("test.toml"));
    EXPECT_THAT(m.status().message(), HasSubstr(c.error)) << c.table;
  }
}

TEST(MappingInboxTest, ABooleanConditionTakesOnlyABoolean) {
  std::string text = ReadSample("adapters/caf/mapping.toml");
  const std::string good = "when = { css_opposition = false }";
  const size_t at = text.find(good);
  ASSERT_NE(at, std::string::npos) << "the CAF's file lost its condition";
  ASSERT_TRUE(Mapping::Parse(text, "caf.toml").ok());
  text.replace(at, good.size(), "when = { css_opposition = 0 }");
  auto m = Mapping::Parse(text, "caf.toml");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("takes true or false"));
}

// A translator of "*.a", "*.b" and "*.c" files, one case each, whose
// recipients come from the CPAM's [inbox.birth].
class Letters : public MappedTranslator {
 public:
  Letters()
      : MappedTranslator(
            Parse("[inbox.birth]\nreader = \"agency\"\nrecipients = "
                  "[\"caf\", { to = \"dgfip\", when = { stage = \"Birth\" } "
                  "}]\n"),
            {".a", ".b", ".c"}) {}

 protected:
  Result<std::vector<OutgoingCase>> ReadCases(
      std::string_view name, std::string_view contents) const override {
    if (contents == "bad") return Status::InvalidArgument("line 1: bad");
    std::vector<OutgoingCase> out;
    out.push_back(BirthAt(name.ends_with(".a") ? wire::BirthStage::Birth
                                               : wire::BirthStage::Pregnancy));
    out[0].recipients = {"ignored"};
    return out;
  }
};

TEST(MappedTranslatorTest, NamesAndAcceptsItsInboxFiles) {
  Letters t;
  EXPECT_EQ(t.InboxFiles(), "*.a, *.b and *.c");
  EXPECT_TRUE(t.Accepts("x.b"));
  EXPECT_FALSE(t.Accepts("x.ab.d"));
  EXPECT_FALSE(t.Accepts("a"));
}

TEST(MappedTranslatorTest, ReadInboxAddressesEachCaseByTheMapping) {
  Letters t;
  auto birth = t.ReadInbox("x.a", "");
  ASSERT_TRUE(birth.ok()) << birth.status().ToString();
  EXPECT_THAT((*birth)[0].recipients, ElementsAre("caf", "dgfip"));
  auto pregnancy = t.ReadInbox("x.b", "");
  ASSERT_TRUE(pregnancy.ok());
  EXPECT_THAT((*pregnancy)[0].recipients, ElementsAre("caf"));
  auto bad = t.ReadInbox("x.a", "bad");
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "line 1: bad");
}

TEST(MappedTranslatorTest, AMappingThatDidNotLoadRefusesEveryFile) {
  class Broken : public MappedTranslator {
   public:
    Broken()
        : MappedTranslator(Status::InvalidArgument("m.toml: bad"), {".x"}) {}

   protected:
    Result<std::vector<OutgoingCase>> ReadCases(
        std::string_view, std::string_view) const override {
      ADD_FAILURE() << "ReadCases called without a mapping";
      return std::vector<OutgoingCase>{};
    }
  };
  auto read = Broken().ReadInbox("f.x", "");
  EXPECT_EQ(read.status().message(), "m.toml: bad");
}

TEST(MappedTranslatorTest, CompiledMappingIsParsedOnce) {
  const std::string text =
      CpamMappingWith("[inbox.birth]\nrecipients = [\"caf\"]");
  auto first = CompiledMapping(text, "once.toml");
  auto second = CompiledMapping("not even toml", "once.toml");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->get(), second->get());
}

}  // namespace
}  // namespace relais::translation
