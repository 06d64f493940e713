#pragma once

// The base of an agency's translator: a Translator driven by the agency's
// mapping file, so that the agency writes only what is its own (its
// historical inbox formats and, for the CAF, its XML outbox).
//
// What the base does for every agency:
//   - holds the compiled-in mapping file, parsed once per process
//     (CompiledMapping);
//   - Accepts and InboxFiles from the inbox file endings it is given;
//   - ReadInbox: the agency's ReadCases, then each case's recipients from
//     the mapping's [inbox.<case type>] table (Mapping::Address), the one
//     place where recipients are decided;
//   - WriteOutbox: Mapping::Render written as UTF-8 JSON.
// Immutable after construction: safe to call from any thread.

#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/mapping.h"
#include "adapters/translation/translator.h"

namespace relais::translation {

// The mapping file `text` (compiled in from `origin`, e.g.
// "adapters/cpam/mapping.toml"), parsed the first time it is asked for
// and kept for the life of the process. Thread-safe.
Result<MappingPtr> CompiledMapping(std::string_view text,
                                   const std::string& origin);

class MappedTranslator : public Translator {
 public:
  // `endings`: the inbox file names read, by their ending (".json"; the
  // CAF ".csv" and ".xml").
  MappedTranslator(Result<MappingPtr> mapping,
                   std::vector<std::string> endings);

  // True for a name with one of the endings.
  bool Accepts(std::string_view file_name) const final;
  // "*.json"; "*.csv and *.xml".
  std::string InboxFiles() const final;
  // ReadCases, then each case addressed by the mapping file. InvalidArgument
  // from ReadCases as it is; Internal if the mapping names no recipients
  // for a case type the agency reads (a mapping file out of step with its
  // reader, which the translator tests catch).
  Result<std::vector<OutgoingCase>> ReadInbox(
      std::string_view file_name, std::string_view contents) const final;
  // "<case id>-<hex of the first 8 message id bytes>.json": Mapping::Render
  // as UTF-8 JSON. InvalidArgument for a value that cannot be written (a
  // bad NIR or reference, a string that is not UTF-8); NotFound for a case
  // type the agency does not take.
  Result<NativeFile> WriteOutbox(const EnvelopeView& envelope,
                                 const wire::CaseEvent& event) const override;

  // The agency's mapping, or why it did not load.
  const Result<MappingPtr>& mapping() const { return mapping_; }

 protected:
  // The cases in one inbox file (a name Accepts), their recipients left
  // empty: ReadInbox takes them from the mapping. Called only once the
  // mapping has loaded (**mapping() is safe). InvalidArgument naming the
  // line or field that is wrong.
  virtual Result<std::vector<OutgoingCase>> ReadCases(
      std::string_view file_name, std::string_view contents) const = 0;

 private:
  Result<MappingPtr> mapping_;
  std::vector<std::string> endings_;
};

}  // namespace relais::translation
