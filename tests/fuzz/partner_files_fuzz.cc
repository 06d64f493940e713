// libFuzzer target: the files a partner system drops in an adapter's
// status/ and subjects/ folders (adapters/sdk/adapter.h), read as the
// runtime reads them: native::ParseJsonObject, then ParseStatusFile and
// ParseSubjectsFile (adapters/sdk/partner_files.h), both on every input.
// Nothing may crash or throw; a file is either read, with what the broker
// needs, or refused InvalidArgument with a reason that is valid UTF-8 (it
// is written to rejected/<file>.error and echoed as JSON by the HTTP
// endpoint).

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/sdk/partner_files.h"
#include "adapters/translation/native.h"
#include "core/text.h"

using namespace relais;

namespace {

void ExpectRefused(const Status& st) {
  if (st.code() != Status::Code::kInvalidArgument ||
      InvalidUtf8At(st.message()) != st.message().size()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = translation::native::ParseJsonObject(text);
  if (!doc.ok()) {
    ExpectRefused(doc.status());
    return 0;
  }
  auto status = sdk::ParseStatusFile(*doc);
  if (!status.ok()) {
    ExpectRefused(status.status());
  } else if ((status->message_id.size() == 16) == !status->case_id.empty() ||
             (!status->message_id.empty() && status->message_id.size() != 16) ||
             (status->state == wire::RecipientState::Rejected &&
              status->reason.empty())) {
    std::abort();
  }
  static const std::string kSubjectKey(32, '\x05');
  auto refs = sdk::ParseSubjectsFile(*doc, kSubjectKey);
  if (!refs.ok()) {
    ExpectRefused(refs.status());
    return 0;
  }
  for (const auto& [list, items] : *refs) {
    if (list != "register" && list != "unregister") std::abort();
    for (const auto& ref : items) {
      if (ref.size() != 32) std::abort();
    }
  }
  return 0;
}
