#include "tests/adapters/translator_fixtures.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include "adapters/translation/native.h"
#include "core/files.h"
#include "core/flatbuf.h"
#include "tests/support/fixtures.h"

namespace relais::testing {

std::string FixedMessageId() {
  return std::string(
      "\x01\x23\x45\x67\x89\xab\xcd\xef\x10\x32\x54\x76\x98\xba\xdc\xfe", 16);
}

std::string ReadSample(const std::string& relative) {
  const char* src = std::getenv("RELAIS_SOURCE_DIR");
  auto bytes = ReadFile(std::string(src ? src : ".") + "/" + relative);
  EXPECT_TRUE(bytes.ok()) << "set RELAIS_SOURCE_DIR to the source tree";
  return bytes.ok() ? *bytes : std::string();
}

const wire::CaseEvent& EventOf(const translation::OutgoingCase& c) {
  const auto* event =
      VerifiedRoot<wire::CaseEvent>(c.payload, kCaseEventIdentifier);
  EXPECT_NE(event, nullptr);
  return *event;
}

std::string ErrorOf(
    const Result<std::vector<translation::OutgoingCase>>& read) {
  if (read.ok()) return "ok";
  EXPECT_EQ(read.status().code(), Status::Code::kInvalidArgument)
      << read.status().ToString();
  return read.status().message();
}

std::string AddressChangeEvent(
    const std::function<void(wire::AddressChangeT&)>& edit) {
  const std::string sample = SampleAddressChange();
  std::unique_ptr<wire::CaseEventT> event(
      flatbuffers::GetRoot<wire::CaseEvent>(sample.data())->UnPack());
  if (edit) edit(*event->body.AsAddressChange());
  return translation::native::PackEvent(*event);
}

Delivery::Delivery(const std::string& recipient, std::string payload,
                   wire::CaseType type)
    : id_(MakeIdentity("france-services/paris-15")) {
  EnvelopeDraft d = SampleDraft(id_.participant, {recipient});
  d.case_id = kCaseId;
  d.message_id = FixedMessageId();
  d.case_type = type;
  d.payload = std::move(payload);
  sealed_ = *SealEnvelope(d, id_.signing);
  view_ = *ParseEnvelope(sealed_.bytes);
}

const wire::CaseEvent& Delivery::event() const {
  return *flatbuffers::GetRoot<wire::CaseEvent>(view_.payload.data());
}

}  // namespace relais::testing
