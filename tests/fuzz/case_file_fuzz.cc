// libFuzzer target: the case file of `relais case open` (cli/case_file.h),
// a person's own JSON. Nothing may crash or throw; a file is either read,
// and then its payload is a CaseEvent that converts back to JSON, or
// refused InvalidArgument with a message that is valid UTF-8 and holds no
// control character but the newlines between its problems.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cli/case_file.h"
#include "core/cases.h"
#include "core/text.h"

using namespace relais;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto file = cli::ParseCaseFile(text, "case.json", "france-services/paris-15");
  if (file.ok()) {
    if (!CaseEventToJson(file->payload).ok()) std::abort();
    if (!file->subscribers && file->recipients.empty()) std::abort();
    return 0;
  }
  if (file.status().code() != Status::Code::kInvalidArgument) std::abort();
  if (!IsCleanText(file.status().message(), /*allow_newlines=*/true)) {
    std::abort();
  }
  return 0;
}
