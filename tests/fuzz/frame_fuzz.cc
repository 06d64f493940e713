// libFuzzer target: every parser a broker or client runs on bytes from the
// network. Frames, then whatever they nest (the frames of a bundle, and an
// envelope, header, case event, case state). Nothing may crash, hang or read
// out of bounds; every refusal must be a coded Rejected status.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/frame.h"

using namespace relais;

namespace {

void CheckFrame(const wire::Frame& f);

void CheckParsed(const Result<const wire::Frame*>& frame, bool in_bundle) {
  if (!frame.ok()) {
    if (frame.status().reject_code() != wire::RejectCode::MalformedFrame)
      std::abort();
    return;
  }
  const wire::Frame& f = **frame;
  if (const auto* b = f.body_as_Bundle()) {
    if (in_bundle) return;  // refused by the broker, ignored by the SDK
    std::string copy;
    for (std::string_view inner : BundledFrames(*b)) {
      CheckParsed(ParseBundledFrame(inner, &copy), /*in_bundle=*/true);
    }
    return;
  }
  CheckFrame(f);
}

void CheckFrame(const wire::Frame& f) {
  std::string_view nested;
  if (const auto* s = f.body_as_Submit()) nested = VectorBytes(s->envelope());
  if (const auto* d = f.body_as_Deliver()) nested = VectorBytes(d->envelope());
  if (const auto* a = f.body_as_AdminReply()) {
    nested = VectorBytes(a->envelope());
    if (a->dead_letters() != nullptr) {
      for (const auto* dl : *a->dead_letters()) {
        (void)StringView(dl->recipient());
        (void)VectorBytes(dl->message_id());
      }
    }
  }
  if (!nested.empty()) {
    auto env = ParseEnvelope(nested);
    if (!env.ok() && env.status().code() != Status::Code::kRejected)
      std::abort();
    PeekMessageId(nested);
  }
  if (const auto* r = f.body_as_CaseStatusReply()) {
    if (const auto* state = ParseCaseState(VectorBytes(r->state()))) {
      (void)state->recipients();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckParsed(ParseFrame(bytes), /*in_bundle=*/false);
  return 0;
}
