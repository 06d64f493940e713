// libFuzzer target: the agencies' native readers, the parsers of what a
// partner system drops in an inbox (adapters/README.md): the CAF's CSV and
// XML (expat and the mapping file), the CPAM's, DGFiP's and France
// Travail's JSON (hand-written readers and the mapping file). The first
// byte picks the reader, the rest is the file. Nothing may crash; a file is
// either read, every case a verified CaseEvent, or refused InvalidArgument
// with a reason that is valid UTF-8 (the intake keeps it in its JSON
// manifest and writes it to rejected/<file>.error).

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "adapters/caf/translator.h"
#include "adapters/cpam/translator.h"
#include "adapters/dgfip/translator.h"
#include "adapters/france_travail/translator.h"
#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/text.h"

using namespace relais;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const adapters::caf::CafTranslator caf;
  static const adapters::cpam::CpamTranslator cpam;
  static const adapters::dgfip::DgfipTranslator dgfip;
  static const adapters::france_travail::FranceTravailTranslator ft;
  const translation::Translator* readers[] = {&caf, &caf, &cpam, &dgfip, &ft};
  const char* names[] = {"f.csv", "f.xml", "f.json", "f.json", "f.json"};
  const size_t pick = data[0] % 5;
  const std::string_view file(reinterpret_cast<const char*>(data + 1),
                              size - 1);
  auto read = readers[pick]->ReadInbox(names[pick], file);
  if (!read.ok()) {
    const Status why = read.status();
    if (why.code() != Status::Code::kInvalidArgument ||
        InvalidUtf8At(why.message()) != why.message().size()) {
      std::abort();
    }
    return 0;
  }
  for (const auto& c : *read) {
    const auto* event =
        VerifiedRoot<wire::CaseEvent>(c.payload, kCaseEventIdentifier);
    if (event == nullptr ||
        static_cast<wire::CaseType>(event->body_type()) != c.case_type) {
      std::abort();
    }
  }
  return 0;
}
