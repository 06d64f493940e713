#include <gtest/gtest.h>

#include "core/cases.h"
#include "core/clock.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "tests/support/fixtures.h"

namespace relais {
namespace {

TEST(FrameTest, BuildersParse) {
  const std::string hello = HelloFrame(7, "caf", 64, "test");
  auto f = ParseFrame(hello);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->request_id(), 7u);
  ASSERT_EQ((*f)->body_type(), wire::Body::Hello);
  EXPECT_EQ(StringView((*f)->body_as_Hello()->participant()), "caf");
  EXPECT_EQ((*f)->body_as_Hello()->window(), 64u);

  const std::string rejected = RejectedFrame(9, wire::RejectCode::BadSignature,
                                             "no", "0123456789abcdef");
  auto r = ParseFrame(rejected);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->body_as_Rejected()->code(), wire::RejectCode::BadSignature);
}

TEST(FrameTest, GarbageAndTruncationAreMalformed) {
  const std::string frame = SubmitFrame(1, std::string(100, 'x'));
  for (size_t n = 0; n < frame.size(); ++n) {
    auto f = ParseFrame(std::string_view(frame).substr(0, n));
    if (f.ok()) {
      // Only trailing alignment padding was cut: the content is whole.
      ASSERT_GT(n, frame.size() - 8);
      ASSERT_EQ(VectorBytes((*f)->body_as_Submit()->envelope()),
                std::string(100, 'x'));
      continue;
    }
    ASSERT_EQ(f.status().reject_code(), wire::RejectCode::MalformedFrame);
  }
  EXPECT_FALSE(ParseFrame("").ok());
  EXPECT_FALSE(ParseFrame(std::string(64, '\0')).ok());
  // A valid envelope is not a frame (wrong identifier).
  EXPECT_FALSE(ParseFrame(testing::SampleAddressChange()).ok());
}

TEST(FrameTest, ABundleCarriesEachFrameWhole) {
  const std::vector<std::string> frames = {
      SubmitFrame(1, std::string(100, 'a')), HeartbeatFrame(2, 5),
      DeliveryAckFrame(3, 9, std::string(16, 'm'), wire::AckOutcome::Processed,
                       "")};
  const std::string bundle = BundleFrame(4, {frames.begin(), frames.end()});
  auto f = ParseFrame(bundle);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->request_id(), 4u);
  ASSERT_EQ((*f)->body_type(), wire::Body::Bundle);
  const auto inner = BundledFrames(*(*f)->body_as_Bundle());
  ASSERT_EQ(inner.size(), 3u);
  std::string copy;
  for (size_t i = 0; i < inner.size(); ++i) {
    EXPECT_EQ(inner[i], frames[i]);
    // Built here, each sits at an 8-byte boundary and is read in place.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(inner[i].data()) % 8, 0u);
    auto g = ParseBundledFrame(inner[i], &copy);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ((*g)->request_id(), i + 1);
    EXPECT_TRUE(copy.empty());
  }
  // One that does not sit at a boundary is read from a copy.
  std::string shifted = " " + frames[1];
  auto g = ParseBundledFrame(std::string_view(shifted).substr(1), &copy);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)->body_type(), wire::Body::Heartbeat);
  EXPECT_EQ(copy, frames[1]);
  // A truncated frame inside a valid bundle is refused on its own.
  const std::string cut =
      BundleFrame(5, {std::string_view(frames[0]).substr(0, 20)});
  auto c = ParseFrame(cut);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ParseBundledFrame(BundledFrames(*(*c)->body_as_Bundle())[0], &copy)
                .status()
                .reject_code(),
            wire::RejectCode::MalformedFrame);
}

TEST(FrameTest, ThePackerKeepsBundlesWithinTheirLimits) {
  // At most 3 frames and about 250 bytes: a lone frame is sent bare.
  BundlePacker packer(3, 250);
  std::vector<std::string> sent;
  auto add = [&](std::string frame) {
    std::string full = packer.Add(std::move(frame));
    if (!full.empty()) sent.push_back(std::move(full));
  };
  for (uint64_t i = 1; i <= 7; ++i) add(HeartbeatFrame(i, 0));
  sent.push_back(packer.Finish());
  EXPECT_TRUE(packer.empty());
  EXPECT_TRUE(packer.Finish().empty());
  std::vector<uint64_t> ids, sizes;
  for (const auto& message : sent) {
    auto f = ParseFrame(message);
    ASSERT_TRUE(f.ok());
    if ((*f)->body_type() != wire::Body::Bundle) {
      sizes.push_back(1);
      ids.push_back((*f)->request_id());
      continue;
    }
    const auto inner = BundledFrames(*(*f)->body_as_Bundle());
    sizes.push_back(inner.size());
    std::string copy;
    for (auto bytes : inner)
      ids.push_back((*ParseBundledFrame(bytes, &copy))->request_id());
  }
  EXPECT_EQ(sizes, (std::vector<uint64_t>{3, 3, 1}));
  EXPECT_EQ(ids, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7}));
  // A frame larger than the byte budget goes alone, between bundles.
  add(HeartbeatFrame(8, 0));
  add(SubmitFrame(9, std::string(400, 'x')));
  add(HeartbeatFrame(10, 0));
  sent.push_back(packer.Finish());
  ASSERT_EQ(sent.size(), 6u);
  EXPECT_EQ((*ParseFrame(sent[3]))->request_id(), 8u);
  EXPECT_EQ((*ParseFrame(sent[4]))->body_type(), wire::Body::Submit);
  EXPECT_EQ((*ParseFrame(sent[5]))->request_id(), 10u);
}

TEST(FrameTest, UnknownBodyTypeIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  auto hb = wire::CreateHeartbeat(fbb, 1);
  auto frame =
      wire::CreateFrame(fbb, 1, static_cast<wire::Body>(99), hb.Union());
  fbb.Finish(frame, kFrameIdentifier);
  EXPECT_EQ(ParseFrame(BufferBytes(fbb)).status().reject_code(),
            wire::RejectCode::MalformedFrame);
}

TEST(CasesTest, JsonRoundTripAndNames) {
  const std::string bytes = testing::SampleAddressChange();
  auto text = CaseEventToJson(bytes);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("Lyon"), std::string::npos);
  auto again = CaseEventFromJson(*text);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*CaseEventToJson(*again), *text);

  const auto* event = flatbuffers::GetRoot<wire::CaseEvent>(bytes.data());
  ASSERT_NE(PrimaryCitizen(*event), nullptr);
  EXPECT_EQ(StringView(PrimaryCitizen(*event)->nir()), "284057512345672");

  EXPECT_EQ(CaseTypeName(wire::CaseType::RsaApplication), "rsa_application");
  EXPECT_EQ(CaseTypeFromName("death_notification"),
            wire::CaseType::DeathNotification);
  EXPECT_FALSE(CaseTypeFromName("nope").has_value());
}

TEST(CasesTest, BadJsonNamesTheProblem) {
  auto r = CaseEventFromJson(
      R"({"body_type": "AddressChange", "body": {"bogus": 1}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bogus"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(CaseEventFromJson("{").ok());
  EXPECT_FALSE(CaseEventFromJson("{}").ok());
}

TEST(ClockTest, TimestampsRoundTrip) {
  EXPECT_EQ(FormatTimestamp(1795392000123), "2026-11-23T00:00:00.123Z");
  EXPECT_EQ(*ParseTimestamp("2026-11-23T00:00:00.123Z"), 1795392000123);
  EXPECT_EQ(*ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_FALSE(ParseTimestamp("2026-02-30T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2026-11-23 00:00:00").ok());
  EXPECT_TRUE(IsValidDate("2024-02-29"));
  EXPECT_FALSE(IsValidDate("2023-02-29"));
}

}  // namespace
}  // namespace relais

namespace relais {
namespace {

// Found by envelope_fuzz: control characters in strings were written raw,
// so the JSON did not read back.
TEST(CasesTest, ControlCharactersSurviveTheJsonRoundTrip) {
  wire::CaseEventT event;
  const std::string subject = "line one\nline\x01two\x7f";
  wire::AssistedCaseT body;
  body.subject = subject;
  body.description = "Séjour à l'étranger";
  event.body.Set(std::move(body));
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CaseEvent::Pack(fbb, &event), kCaseEventIdentifier);
  auto text = CaseEventToJson(BufferBytes(fbb));
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("Séjour à l'étranger"), std::string::npos) << *text;
  auto back = CaseEventFromJson(*text);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << *text;
  const auto* e = flatbuffers::GetRoot<wire::CaseEvent>(back->data());
  EXPECT_EQ(StringView(e->body_as_AssistedCase()->subject()), subject);
}

// Found by envelope_fuzz: a body without its type made libflatbuffers'
// JSON printer assert (abort) on verified input.
TEST(CasesTest, BodyWithoutTypeIsRefusedNotAborted) {
  flatbuffers::FlatBufferBuilder fbb;
  auto contact = wire::CreateContact(fbb, fbb.CreateString("x@example.org"));
  wire::CaseEventBuilder b(fbb);
  b.add_body(contact.Union());  // body_type left at NONE
  fbb.Finish(b.Finish(), kCaseEventIdentifier);
  auto text = CaseEventToJson(BufferBytes(fbb));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace relais
