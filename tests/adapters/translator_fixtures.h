#pragma once

// What the four translator tests share: the agencies' sample files, the
// case event of a translated inbox case, and a sealed delivery with a fixed
// case id and message id (so outbox file names can be asserted).

#include <functional>
#include <string>

#include "adapters/sdk/adapter.h"
#include "core/envelope.h"
#include "core/keys.h"
#include "schemas/cases_generated.h"

namespace relais::testing {

inline constexpr char kCaseId[] = "c-20261123-9f2c41d07ab3";
// The message id of every Delivery: 0123456789abcdef1032547698badcfe.
std::string FixedMessageId();

// The bytes of `relative` (e.g. "deploy/samples/caf/x.csv") in the source
// tree named by $RELAIS_SOURCE_DIR; a test failure if it cannot be read.
std::string ReadSample(const std::string& relative);

// The verified CaseEvent of a translated inbox case (a test failure and a
// crash if it does not verify).
const wire::CaseEvent& EventOf(const translation::OutgoingCase& c);

// "ok" if `read` succeeded, else its message (a test failure unless it is
// InvalidArgument, the code for a bad native file).
std::string ErrorOf(const Result<std::vector<translation::OutgoingCase>>& read);

// SampleAddressChange(), edited by `edit` before it is packed again.
std::string AddressChangeEvent(
    const std::function<void(wire::AddressChangeT&)>& edit = {});

// A sealed envelope from France services to `recipient`, as the adapter
// receives it: case kCaseId, message FixedMessageId().
class Delivery {
 public:
  Delivery(const std::string& recipient, std::string payload,
           wire::CaseType type = wire::CaseType::AddressChange);
  const EnvelopeView& view() const { return view_; }
  const wire::CaseEvent& event() const;

 private:
  Identity id_;
  SealedEnvelope sealed_;
  EnvelopeView view_;
};

}  // namespace relais::testing
