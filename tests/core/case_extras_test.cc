// core/case_extras.h: attachments and the counter's assistance inside a
// CaseEvent; core/bytes.h's base64 that carries attachments to the console.

#include "core/case_extras.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/bytes.h"
#include "core/cases.h"
#include "core/crypto.h"
#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/minimise.h"

namespace relais {
namespace {

const std::string kPdf = "%PDF-1.4\n%%EOF\n";
const std::string kPng = std::string("\x89PNG\r\n\x1a\n", 8) + "rest";
const std::string kJpeg = "\xff\xd8\xff\xe0rest";

std::string Event() {
  return *CaseEventFromJson(R"({"body_type": "AddressChange", "body": {
    "citizen": {"nir": "284057512345672", "identity": {"birth_name": "MARTIN",
      "given_names": ["Claire"], "birth_date": "1984-05-12", "sex": "Female"}},
    "effective_date": "2026-12-01",
    "new_address": {"lines": ["4 place du Marché"], "postcode": "69003",
      "city": "Lyon"},
    "references": [{"agency": "caf", "identifier": "1234567"},
                   {"agency": "dgfip", "identifier": "0123456789211"}]}})");
}

const CounterAssistance kDesk{"a.martin", wire::MandateKind::Written,
                              "2026-01-05"};

const wire::CaseEvent& Root(const std::string& payload) {
  return *flatbuffers::GetRoot<wire::CaseEvent>(payload.data());
}

TEST(Base64Test, Rfc4648VectorsBothWays) {
  const std::pair<std::string, std::string> kVectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto back = Base64Decode(encoded);
    ASSERT_TRUE(back.ok()) << encoded;
    EXPECT_EQ(*back, plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
}

TEST(Base64Test, OnlyOneSpellingIsTaken) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v\n", "Zm 9v",
                          "Zh==", "Zm9=", "=Zm9", "Zg==Zg==", "Zm9v!A=="}) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().find(bad), std::string::npos);
  }
}

TEST(CaseExtrasTest, TheTypeIsWhatTheFirstBytesSay) {
  EXPECT_EQ(SniffMediaType(kPdf), "application/pdf");
  EXPECT_EQ(SniffMediaType(kPng), "image/png");
  EXPECT_EQ(SniffMediaType(kJpeg), "image/jpeg");
  EXPECT_EQ(SniffMediaType("MZ\x90"), "");
  EXPECT_EQ(SniffMediaType("%PDF"), "") << "too short to be one";
  EXPECT_EQ(SniffMediaType(""), "");
}

TEST(CaseExtrasTest, NamesAreCheckedNeverRepeated) {
  EXPECT_TRUE(CheckAttachmentName("justificatif de domicile.pdf").ok());
  EXPECT_TRUE(CheckAttachmentName("pièce d'identité.jpg").ok());
  for (const std::string& bad :
       {std::string(), std::string(101, 'a'), std::string(".cache"),
        std::string("../etc/passwd"), std::string("a\\b.pdf"),
        std::string("a\nb.pdf"), std::string("\xff.pdf")}) {
    Status st = CheckAttachmentName(bad);
    EXPECT_FALSE(st.ok()) << bad;
    if (!bad.empty()) {
      EXPECT_EQ(st.message().find(bad), std::string::npos);
    }
  }
}

TEST(CaseExtrasTest, AttachmentsAndAssistanceTravelInTheSignedPayload) {
  auto made = WithCaseExtras(Event(),
                             {{"justificatif.pdf", "application/pdf", kPdf},
                              {"photo.png", "image/png", kPng}},
                             kDesk);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const wire::CaseEvent& e = Root(*made);
  EXPECT_EQ(e.body_type(), wire::CaseBody::AddressChange);
  ASSERT_EQ(e.attachments()->size(), 2u);
  const wire::Attachment* pdf = e.attachments()->Get(0);
  EXPECT_EQ(pdf->name()->str(), "justificatif.pdf");
  EXPECT_EQ(pdf->media_type()->str(), "application/pdf");
  EXPECT_EQ(VectorBytes(pdf->content()), kPdf);
  EXPECT_EQ(VectorBytes(pdf->sha256()), crypto::Sha256(kPdf));
  EXPECT_TRUE(CheckAttachments(e).ok());
  ASSERT_TRUE(e.assistance() != nullptr);
  EXPECT_TRUE(CheckAssistance(*e.assistance()).ok());
  EXPECT_EQ(AssistanceTrailDetail(*e.assistance()),
            "opened at a France services counter by agent a.martin (written "
            "mandate of 2026-01-05)");
  // A minimised view keeps them (the DGFiP's reference is cut, not the
  // documents).
  auto caf = MinimisedPayload(*made, "caf");
  ASSERT_TRUE(caf.ok());
  EXPECT_NE(*caf, *made);
  EXPECT_EQ(Root(*caf).attachments()->size(), 2u);
  EXPECT_EQ(Root(*caf).assistance()->agent()->str(), "a.martin");
  // Added once only.
  EXPECT_FALSE(WithCaseExtras(*made, {}, kDesk).ok());
}

TEST(CaseExtrasTest, WhatASenderMayNotAdd) {
  EXPECT_FALSE(
      WithCaseExtras(Event(), {{"x.pdf", "application/pdf", "MZ\x90"}}, kDesk)
          .ok())
      << "a program named .pdf";
  EXPECT_FALSE(
      WithCaseExtras(Event(), {{"x.pdf", "image/png", kPdf}}, kDesk).ok())
      << "a PDF said to be a PNG";
  EXPECT_FALSE(
      WithCaseExtras(Event(), {{"x.gif", "image/gif", "GIF89a"}}, kDesk).ok());
  EXPECT_FALSE(
      WithCaseExtras(Event(), {{"../x.pdf", "application/pdf", kPdf}}, kDesk)
          .ok());
  std::vector<AttachmentFile> eleven(11, {"x.pdf", "application/pdf", kPdf});
  EXPECT_FALSE(WithCaseExtras(Event(), eleven, kDesk).ok());
  EXPECT_FALSE(
      WithCaseExtras(Event(), {},
                     {"A.Martin", kDesk.mandate_kind, kDesk.mandate_date})
          .ok());
  EXPECT_FALSE(
      WithCaseExtras(Event(), {},
                     {"a.martin", wire::MandateKind::None, "2026-01-05"})
          .ok());
  EXPECT_FALSE(
      WithCaseExtras(Event(), {},
                     {"a.martin", wire::MandateKind::Oral, "2026-02-30"})
          .ok());
  EXPECT_FALSE(WithCaseExtras("not a case event", {}, kDesk).ok());
}

// What a recipient checks of a payload some other sender built: each
// rule, by the attachment's position.
TEST(CaseExtrasTest, ARecipientRefusesAForgedAttachmentByItsPosition) {
  struct Forged {
    std::string name, media_type, content, sha256, says;
  };
  const Forged kCases[] = {
      {"a.pdf", "application/pdf", kPdf, "short", "attachments[1].sha256"},
      {"a.pdf", "application/pdf", kPdf, crypto::Sha256("other"),
       "attachments[1].sha256"},
      {"a.pdf", "application/pdf", "MZ", crypto::Sha256("MZ"),
       "attachments[1].content"},
      {"a.pdf", "application/pdf", "", crypto::Sha256(""),
       "attachments[1].content"},
      {"a.pdf", "text/html", kPdf, crypto::Sha256(kPdf),
       "attachments[1].media_type"},
      {".a.pdf", "application/pdf", kPdf, crypto::Sha256(kPdf),
       "attachments[1].name"},
  };
  for (const Forged& f : kCases) {
    wire::CaseEventT event;
    flatbuffers::GetRoot<wire::CaseEvent>(Event().data())->UnPackTo(&event);
    for (int i = 0; i < 2; ++i) {
      auto a = std::make_unique<wire::AttachmentT>();
      a->name = i == 0 ? "ok.pdf" : f.name;
      a->media_type = i == 0 ? "application/pdf" : f.media_type;
      const std::string content = i == 0 ? kPdf : f.content;
      const std::string digest = i == 0 ? crypto::Sha256(kPdf) : f.sha256;
      a->content.assign(content.begin(), content.end());
      a->sha256.assign(digest.begin(), digest.end());
      event.attachments.push_back(std::move(a));
    }
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::CaseEvent::Pack(fbb, &event), kCaseEventIdentifier);
    Status st = CheckAttachments(Root(BufferBytes(fbb)));
    EXPECT_FALSE(st.ok()) << f.says;
    EXPECT_EQ(st.message().rfind(f.says, 0), 0u) << st.message();
  }
}

// The broker's check of a submitted payload: an assistance of a wrong
// form is MalformedPayload, naming the field.
TEST(CaseExtrasTest, TheBrokerRefusesAnAssistanceOfTheWrongForm) {
  wire::CaseEventT event;
  flatbuffers::GetRoot<wire::CaseEvent>(Event().data())->UnPackTo(&event);
  event.assistance = std::make_unique<wire::AssistanceT>();
  event.assistance->agent = "Agent\n007";
  event.assistance->mandate = std::make_unique<wire::MandateT>();
  event.assistance->mandate->kind = wire::MandateKind::Oral;
  event.assistance->mandate->date = "2026-01-05";
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CaseEvent::Pack(fbb, &event), kCaseEventIdentifier);
  const std::string payload = BufferBytes(fbb);
  Status st = CheckAssistance(*Root(payload).assistance());
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("assistance.agent: ", 0), 0u) << st.message();
  EXPECT_EQ(st.message().find("007"), std::string::npos);
}

}  // namespace
}  // namespace relais
