// What the console's case endpoints read from a request
// (case_requests.h), and how it words problems and refusals in French
// (french.h).

#include "adapters/france_services/case_requests.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "adapters/france_services/api_requests.h"
#include "adapters/france_services/french.h"
#include "core/bytes.h"
#include "core/text.h"

namespace relais::console {
namespace {

using json = nlohmann::json;

json Opening() {
  return {{"request_id", "form-0123456789ab"},
          {"event", {{"body_type", "AddressChange"}, {"body", json::object()}}},
          {"recipients", {"caf", "cpam"}},
          {"mandate", {{"kind", "Oral"}, {"date", "2026-01-05"}}}};
}

TEST(CaseRequestsTest, AnOpeningIsReadWhole) {
  auto r = ParseCaseRequest(Opening().dump(), /*opening=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->request_id, "form-0123456789ab");
  EXPECT_EQ(r->event["body_type"], "AddressChange");
  ASSERT_TRUE(r->recipients.has_value());
  EXPECT_EQ(*r->recipients, (std::vector<std::string>{"caf", "cpam"}));
  EXPECT_EQ(r->mandate_kind, "Oral");
  EXPECT_EQ(r->mandate_date, "2026-01-05");

  json by_subscription = Opening();
  by_subscription.erase("recipients");
  by_subscription.erase("request_id");
  auto check = ParseCaseRequest(by_subscription.dump(), /*opening=*/false);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_FALSE(check->recipients.has_value());
  EXPECT_FALSE(ParseCaseRequest(by_subscription.dump(), /*opening=*/true).ok())
      << "an opening needs its request id";
}

// The parser would keep the last of two: a sign-in as another login, a
// field changed. Refused, saying where.
TEST(CaseRequestsTest, AKeyGivenTwiceIsRefused) {
  std::string twice = Opening().dump();
  twice.insert(twice.rfind('}'), ",\"request_id\":\"form-0123456789cd\"");
  auto r = ParseCaseRequest(twice, /*opening=*/true);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(
                "Une même clé figure deux fois dans un objet de la demande"),
            std::string::npos)
      << r.status().message();
  auto in = ParseSignIn(
      "{\"login\": \"zz.unknown\", \"login\": \"a.martin\", "
      "\"password\": \"x\"}");
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.status().message(),
            "Une même clé figure deux fois dans un objet de la demande (ligne "
            "1, colonne 34).");
}

TEST(CaseRequestsTest, EachMistakeIsRefusedInFrenchWithoutTheValue) {
  struct Case {
    std::string pointer;
    json value;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"/request_id", "short", "request_id"},
      {"/request_id", "form 0123456789ab!", "request_id"},
      {"/event", "AddressChange", "event"},
      {"/recipients", json::array(), "recipients"},
      {"/recipients", {"caf", "caf"}, "deux fois"},
      {"/recipients", {"caf", "Not An Id"}, "position 2"},
      // Only agencies: relaisd's routes would refuse the rest.
      {"/recipients", {"caf", "nasa"}, "n'est pas un organisme (position 2)"},
      {"/recipients",
       {"france-services/lyon-3"},
       "n'est pas un organisme (position 1)"},
      {"/mandate", "Written", "mandate"},
      {"/mandate/kind", "Ecrit", "mandat"},
      {"/mandate/date", "2026-02-30", "date du mandat"},
      {"/mandate/signed", true, "champ inconnu"},
      {"/extra", 1, "champ inconnu"},
  };
  for (const Case& c : cases) {
    json body = Opening();
    body[json::json_pointer(c.pointer)] = c.value;
    auto r = ParseCaseRequest(body.dump(), true);
    ASSERT_FALSE(r.ok()) << c.pointer;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.pointer << ": " << r.status().message();
    EXPECT_EQ(r.status().message().find("Not An Id"), std::string::npos);
    EXPECT_EQ(r.status().message().find("Ecrit"), std::string::npos);
  }
  EXPECT_FALSE(ParseCaseRequest("[]", true).ok());
  EXPECT_FALSE(ParseCaseRequest("{", true).ok());
  EXPECT_FALSE(
      ParseCaseRequest(std::string(kMaxCaseRequestBytes + 1, ' '), true).ok());
}

json Attachment(const std::string& name, const std::string& media_type,
                const std::string& content) {
  return {{"name", name},
          {"media_type", media_type},
          {"content_base64", Base64Encode(content)}};
}

TEST(CaseRequestsTest, AttachmentsAreDecodedAndCheckedByContent) {
  const std::string pdf = "%PDF-1.4\n%%EOF\n";
  const std::string jpeg = "\xff\xd8\xff\xe0 a photo";
  json body = Opening();
  body["attachments"] = {Attachment("justificatif.pdf", "application/pdf", pdf),
                         Attachment("photo.jpg", "image/jpeg", jpeg)};
  auto r = ParseCaseRequest(body.dump(), true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->attachments.size(), 2u);
  EXPECT_EQ(r->attachments[0].name, "justificatif.pdf");
  EXPECT_EQ(r->attachments[0].content, pdf);
  EXPECT_EQ(r->attachments[1].media_type, "image/jpeg");

  struct Case {
    json attachments;
    std::string says;
  };
  const std::string program = "MZ\x90\x00 a program";
  json eleven = json::array();
  for (int i = 0; i < 11; ++i) {
    eleven.push_back(Attachment("a.pdf", "application/pdf", pdf));
  }
  json bad_base64 = Attachment("a.pdf", "application/pdf", pdf);
  bad_base64["content_base64"] = "JVBER i0x";
  json extra_key = Attachment("a.pdf", "application/pdf", pdf);
  extra_key["path"] = "/tmp";
  const std::vector<Case> cases = {
      {{Attachment("justificatif.pdf", "application/pdf", program)},
       "n'est pas ce qu'elle annonce"},
      {{Attachment("a.pdf", "image/png", pdf)}, "n'est pas ce qu'elle annonce"},
      {{Attachment("a.gif", "image/gif", "GIF89a")}, "PDF ou une image"},
      {{Attachment("../../a.pdf", "application/pdf", pdf)}, "nom"},
      {{Attachment("a.pdf", "application/pdf", "")}, "vide"},
      {{bad_base64}, "base64"},
      {{extra_key}, "champ inconnu"},
      {eleven, "10 pièces jointes au plus"},
      {"a.pdf", "10 pièces jointes au plus"},
      {{Attachment("a.pdf", "application/pdf", pdf),
        Attachment("b.pdf", "application/pdf",
                   "%PDF-" + std::string(2048, 'x'))},
       "dépassent 2 Kio"},
  };
  for (const Case& c : cases) {
    json bad = Opening();
    bad["attachments"] = c.attachments;
    auto refused = ParseCaseRequest(bad.dump(), true, 2048);
    ASSERT_FALSE(refused.ok()) << c.says;
    EXPECT_NE(refused.status().message().find(c.says), std::string::npos)
        << refused.status().message();
    EXPECT_EQ(refused.status().message().find("justificatif"),
              std::string::npos);
  }
  // The second is named by its position.
  json second = Opening();
  second["attachments"] = {Attachment("a.pdf", "application/pdf", pdf),
                           Attachment("b.pdf", "application/pdf", program)};
  EXPECT_NE(
      ParseCaseRequest(second.dump(), true).status().message().find("n° 2"),
      std::string::npos);
  // Attachments do not make room for a larger event.
  json big = Opening();
  big["event"]["body"]["note"] =
      std::string(kMaxCaseRequestBytes + kMaxAttachments * 512, 'x');
  EXPECT_FALSE(ParseCaseRequest(big.dump(), true).ok());
}

TEST(CaseRequestsTest, TheListQueryIsDecodedAndBounded) {
  auto q = ParseListQuery("state=open&q=%C3%A9lo%C3%AFse+dup&limit=20");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->state, "open");
  EXPECT_EQ(q->q, "éloïse dup");
  EXPECT_EQ(q->limit, 20u);
  auto empty = ParseListQuery("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->limit, 100u);
  for (const char* bad : {"limit=0", "limit=501", "limit=x", "q=%zz", "q=%4",
                          "q=a&q=b", "sort=date", "q=%00", "q=%FF"}) {
    auto r = ParseListQuery(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_TRUE(IsCleanText(r.status().message())) << bad;
    }
  }
  EXPECT_FALSE(ParseListQuery("q=" + std::string(201, 'a')).ok());
}

TEST(FrenchTest, EveryRuleAndStateHasItsOwnWords) {
  std::set<std::string> messages;
  for (int r = 0; r <= static_cast<int>(CaseRule::kNirBirthDate); ++r) {
    CaseProblem p;
    p.rule = static_cast<CaseRule>(r);
    p.min = 1;
    p.max = 5;
    const std::string m = ProblemMessage(p);
    EXPECT_FALSE(m.empty());
    EXPECT_NE(CaseRuleName(p.rule), "unknown");
    messages.insert(m);
  }
  EXPECT_GE(messages.size(), 18u) << "rules are told apart";
  CaseProblem range;
  range.rule = CaseRule::kOutOfRange;
  range.min = 1;
  range.max = 5;
  EXPECT_EQ(ProblemMessage(range), "Saisissez un nombre entier de 1 à 5.");
  for (auto s : wire::EnumValuesRecipientState()) {
    EXPECT_FALSE(StateLabel(s).empty());
  }
  for (auto t : wire::EnumValuesCaseType()) {
    EXPECT_EQ(CaseTypeLabel(t).empty(), t == wire::CaseType::Unknown);
  }
}

TEST(FrenchTest, RefusalsSayWhetherTryingAgainHelps) {
  const std::string again = "ne sera ouvert qu'une fois";
  EXPECT_NE(RefusalMessage(Status::Timeout("x")).find(again),
            std::string::npos);
  EXPECT_NE(
      RefusalMessage(Status::Rejected(wire::RejectCode::Overloaded, "busy"))
          .find(again),
      std::string::npos);
  const std::string not_allowed = RefusalMessage(
      Status::Rejected(wire::RejectCode::NotAuthorised, "no route"));
  EXPECT_NE(not_allowed.find("pas autorisé"), std::string::npos);
  EXPECT_NE(not_allowed.find("(code 301)"), std::string::npos);
  EXPECT_EQ(not_allowed.find("no route"), std::string::npos)
      << "the broker's English reason stays out";
}

}  // namespace
}  // namespace relais::console
