#include "core/status.h"

#include <string>

namespace relais {

std::string_view CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return "OK";
    case Status::Code::kInvalidArgument:
      return "InvalidArgument";
    case Status::Code::kNotFound:
      return "NotFound";
    case Status::Code::kCorruption:
      return "Corruption";
    case Status::Code::kIOError:
      return "IOError";
    case Status::Code::kRejected:
      return "Rejected";
    case Status::Code::kUnavailable:
      return "Unavailable";
    case Status::Code::kTimeout:
      return "Timeout";
    case Status::Code::kInternal:
      return "Internal";
    case Status::Code::kNoSpace:
      return "NoSpace";
  }
  return "Unknown";
}

std::string_view RejectCodeName(wire::RejectCode code) {
  const char* name = wire::EnumNameRejectCode(code);
  return (name && *name) ? std::string_view(name) : std::string_view("Unknown");
}

bool IsRetryable(wire::RejectCode code) {
  const auto n = static_cast<uint16_t>(code);
  return n >= 500 && n < 600;
}

std::string Status::ToString() const {
  std::string out(CodeName(code_));
  if (code_ == Code::kRejected) {
    out += "(" + std::to_string(static_cast<uint16_t>(reject_code_)) + " " +
           std::string(RejectCodeName(reject_code_)) + ")";
  }
  if (!message_.empty()) out += ": " + message_;
  return out;
}

}  // namespace relais
