#pragma once

// What an agency's adapter translates, and how: the Translator interface
// an agency implements for its native formats, the cases it reads from
// its partner's inbox files and the files it writes for it. The adapter
// runtime (adapters/sdk/adapter.h) calls it; nothing here knows the
// runtime, the client or the broker.

#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/status.h"
#include "schemas/cases_generated.h"

namespace relais::translation {

// One case read from a native inbox file.
struct OutgoingCase {
  std::string case_id;  // empty: a new case id is drawn
  std::vector<std::string> recipients;
  // Recipients by subscription instead: the agencies the broker's
  // reference directory names for this case type and citizen (RouteQuery);
  // `recipients` is then ignored.
  bool by_subscription = false;
  wire::CaseType case_type = wire::CaseType::Unknown;
  std::string payload;  // CaseEvent FlatBuffer bytes
};

// One file for the partner system.
struct NativeFile {
  std::string name;  // file name only (no folder)
  std::string contents;
};

// An agency's native formats. Implementations are stateless or guard their
// own state; methods are called from the runtime's threads.
class Translator {
 public:
  virtual ~Translator() = default;
  // True for inbox file names this agency reads (e.g. "*.csv"). Any other
  // file dropped in the inbox goes to rejected/, its .error saying what
  // InboxFiles() reads.
  virtual bool Accepts(std::string_view file_name) const = 0;
  // The files Accepts takes, as the partner is told: "*.json", "*.csv and
  // *.xml".
  virtual std::string InboxFiles() const = 0;
  // The cases in one inbox file. InvalidArgument naming the line and field
  // that is wrong; the file then goes to rejected/.
  virtual Result<std::vector<OutgoingCase>> ReadInbox(
      std::string_view file_name, std::string_view contents) const = 0;
  // The native file for one delivered case event. InvalidArgument (or
  // NotFound for a case type this agency does not take) refuses the
  // delivery with that reason.
  virtual Result<NativeFile> WriteOutbox(
      const EnvelopeView& envelope, const wire::CaseEvent& event) const = 0;
};

}  // namespace relais::translation
