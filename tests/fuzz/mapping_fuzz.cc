// libFuzzer target: an agency's mapping file (adapters/<agency>/mapping.toml,
// adapters/translation/mapping.h), the bytes as its text: Mapping::Parse, and
// with a mapping that parses, what an adapter then does with it for each case
// event of corpus/envelope/payload_* (the eight case types): Render, the
// document as text (DumpJson), ReadEvent of that document and, for an
// [inbox] type, Read and Address. Nothing may crash or throw; each refuses only
// with the codes of its contract (InvalidArgument, and NotFound for a type the
// mapping does not name).

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/mapping.h"
#include "core/files.h"
#include "core/flatbuf.h"

using namespace relais;

namespace {

// The CaseEvent buffers of corpus/envelope/payload_*, in name order;
// aborts without any (make_seeds.cc writes them).
const std::vector<std::string>& Events() {
  static const std::vector<std::string> events = [] {
    namespace fs = std::filesystem;
    std::vector<fs::path> paths;
    std::error_code ec;
    for (const auto& e :
         fs::directory_iterator(RELAIS_FUZZ_CORPUS_DIR "/envelope", ec)) {
      if (e.path().filename().string().starts_with("payload_")) {
        paths.push_back(e.path());
      }
    }
    std::sort(paths.begin(), paths.end());
    std::vector<std::string> out;
    for (const auto& p : paths) {
      auto bytes = ReadFile(p.string());
      if (bytes.ok() &&
          VerifiedRoot<wire::CaseEvent>(*bytes, kCaseEventIdentifier)) {
        out.push_back(std::move(*bytes));
      }
    }
    if (out.empty()) std::abort();
    return out;
  }();
  return events;
}

void Exercise(const translation::Mapping& m, const std::string& payload) {
  const auto* event =
      VerifiedRoot<wire::CaseEvent>(payload, kCaseEventIdentifier);
  EnvelopeView env;
  env.payload = payload;
  env.case_id = "c-20261123-000000000001";
  env.message_id = std::string_view("0123456789abcdef", 16);
  env.sender = "france-services/paris-15";
  auto doc = m.Render(env, *event);
  if (!doc.ok()) {
    const Status::Code code = doc.status().code();
    if (code != Status::Code::kInvalidArgument &&
        code != Status::Code::kNotFound) {
      std::abort();
    }
    return;
  }
  auto text = translation::native::DumpJson(*doc);
  (void)text;
  auto back =
      m.ReadEvent(*doc, {m.case_key(), m.message_key(), m.sender_key()});
  if (back.ok() ? !VerifiedRoot<wire::CaseEvent>(*back, kCaseEventIdentifier)
                : back.status().code() != Status::Code::kInvalidArgument) {
    std::abort();
  }
  const auto type = doc->find(m.type_key());
  if (type != doc->end() && type->is_string() &&
      m.Reads(type->get<std::string>())) {
    auto read = m.Read(*doc);
    if (!read.ok() && read.status().code() != Status::Code::kInvalidArgument) {
      std::abort();
    }
    // A type the mapping reads is one it names recipients for.
    if (read.ok() && !m.Address(*read).ok()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string>& events = Events();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto mapping = translation::Mapping::Parse(text, "mapping.toml");
  if (!mapping.ok()) {
    if (mapping.status().code() != Status::Code::kInvalidArgument) {
      std::abort();
    }
    return 0;
  }
  for (const auto& payload : events) Exercise(**mapping, payload);
  return 0;
}
