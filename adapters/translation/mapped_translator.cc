#include "adapters/translation/mapped_translator.h"

#include <map>
#include <mutex>
#include <utility>

namespace relais::translation {

Result<MappingPtr> CompiledMapping(std::string_view text,
                                   const std::string& origin) {
  static std::mutex mu;
  static auto* parsed = new std::map<std::string, Result<MappingPtr>>();
  std::lock_guard lock(mu);
  auto it = parsed->find(origin);
  if (it == parsed->end()) {
    it = parsed->emplace(origin, Mapping::Parse(text, origin)).first;
  }
  return it->second;
}

MappedTranslator::MappedTranslator(Result<MappingPtr> mapping,
                                   std::vector<std::string> endings)
    : mapping_(std::move(mapping)), endings_(std::move(endings)) {}

bool MappedTranslator::Accepts(std::string_view name) const {
  for (const std::string& e : endings_) {
    if (name.ends_with(e)) return true;
  }
  return false;
}

std::string MappedTranslator::InboxFiles() const {
  std::string out;
  for (size_t i = 0; i < endings_.size(); ++i) {
    if (i > 0) out += i + 1 == endings_.size() ? " and " : ", ";
    out += "*" + endings_[i];
  }
  return out;
}

Result<std::vector<OutgoingCase>> MappedTranslator::ReadInbox(
    std::string_view name, std::string_view contents) const {
  if (!mapping_.ok()) return mapping_.status();
  RELAIS_ASSIGN_OR_RETURN(std::vector<OutgoingCase> cases,
                          ReadCases(name, contents));
  for (OutgoingCase& c : cases) {
    RELAIS_RETURN_IF_ERROR((*mapping_)->Address(c));
  }
  return cases;
}

Result<NativeFile> MappedTranslator::WriteOutbox(
    const EnvelopeView& env, const wire::CaseEvent& event) const {
  if (!mapping_.ok()) return mapping_.status();
  RELAIS_ASSIGN_OR_RETURN(native::json doc, (*mapping_)->Render(env, event));
  RELAIS_ASSIGN_OR_RETURN(std::string text, native::DumpJson(doc));
  return NativeFile{native::OutboxFileName(env, ".json"), std::move(text)};
}

}  // namespace relais::translation
