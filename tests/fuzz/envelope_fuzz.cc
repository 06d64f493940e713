// libFuzzer target: envelope opening as the broker's ingress and a
// recipient run it (structure, payload, key lookup, signature or batch
// seal, with and without the cache of verified roots, time), the
// JSON rendering of a case event, and a recipient's checks of its
// attachments and assistance. Nothing may crash; every refusal must
// be a coded Rejected status.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/case_extras.h"
#include "core/cases.h"
#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/ids.h"
#include "core/keys.h"

using namespace relais;

namespace {
const KeyDirectory& Keys() {
  static const KeyDirectory keys = [] {
    KeyDirectory k;
    // A fixed identity: the seeds are signed with it (make_seeds.cc).
    auto seed = crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x07'));
    PublicIdentity id;
    id.participant = "france-services/paris-15";
    id.curve_public_z85 = std::string(40, '0');
    id.signing_keys.push_back({KeyIdOf(seed->public_key().raw()),
                               seed->public_key(), 0, INT64_MAX, false});
    k.Add(std::move(id)).PermitUnchecked();
    return k;
  }();
  return keys;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto opened = OpenEnvelope(bytes, Keys(), 1795392000000, TimePolicy());
  if (!opened.ok() && opened.status().code() != Status::Code::kRejected)
    std::abort();
  // Again through a cache of verified batch roots, as the broker and the
  // SDK open them: the same answer.
  static VerifiedRoots roots(64);
  auto cached =
      OpenEnvelope(bytes, Keys(), 1795392000000, TimePolicy(), true, &roots);
  if (cached.ok() != opened.ok()) std::abort();
  if (opened.ok()) RecipientsOf(*opened);
  if (const auto* event = VerifiedRoot<wire::CaseEvent>(bytes, "RLC1")) {
    const Status attachments = CheckAttachments(*event);
    if (!attachments.ok() &&
        attachments.code() != Status::Code::kInvalidArgument) {
      std::abort();
    }
    if (event->assistance() != nullptr) {
      CheckAssistance(*event->assistance()).PermitUnchecked();
      (void)AssistanceTrailDetail(*event->assistance());
    }
  }
  auto json = CaseEventToJson(bytes);
  if (json.ok()) {
    auto back = CaseEventFromJson(*json);
    if (!back.ok()) std::abort();  // what we print we must read back
  }
  return 0;
}
