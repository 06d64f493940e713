#pragma once

// Status and Result<T>: how every relais function reports failure
// (leveldb/rocksdb style; std::expected is not in GCC 12's C++20).
//
// Bad input from a partner is a normal outcome, reported as
// Status::Rejected(code, reason) with a stable wire code (schemas/codes.fbs);
// it is never an exception or an assert.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "schemas/codes_generated.h"

namespace relais {

class [[nodiscard]] Status {
 public:
  enum class Code : uint8_t {
    kOk = 0,
    kInvalidArgument,  // bad input from a caller or a config file
    kNotFound,
    kCorruption,   // stored data fails its checks
    kIOError,      // disk or OS error
    kRejected,     // a partner's input refused with a wire RejectCode
    kUnavailable,  // transient: retry later
    kTimeout,
    kInternal,  // a bug or an unexpected library failure
    kNoSpace,   // the disk is full (or over quota): retry once space returns
  };

  // An OK status.
  Status() = default;

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) {
    return Status(Code::kNotFound, std::move(msg));
  }
  static Status Corruption(std::string msg) {
    return Status(Code::kCorruption, std::move(msg));
  }
  static Status IOError(std::string msg) {
    return Status(Code::kIOError, std::move(msg));
  }
  static Status Unavailable(std::string msg) {
    return Status(Code::kUnavailable, std::move(msg));
  }
  static Status Timeout(std::string msg) {
    return Status(Code::kTimeout, std::move(msg));
  }
  static Status NoSpace(std::string msg) {
    return Status(Code::kNoSpace, std::move(msg));
  }
  static Status Internal(std::string msg) {
    return Status(Code::kInternal, std::move(msg));
  }
  // A refusal to send back to a partner: `code` is the stable wire code,
  // `reason` the human-readable text that goes with it.
  static Status Rejected(wire::RejectCode code, std::string reason) {
    Status s(Code::kRejected, std::move(reason));
    s.reject_code_ = code;
    return s;
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // The wire code for kRejected; None for every other status.
  wire::RejectCode reject_code() const { return reject_code_; }
  const std::string& message() const { return message_; }
  // E.g. "Rejected(203 BadSignature): signature does not verify".
  std::string ToString() const;

  // The same status with `prefix` before its message (what was being done).
  Status Annotated(std::string_view prefix) const {
    Status s = *this;
    s.message_ = std::string(prefix) + message_;
    return s;
  }

  // Marks a status that is deliberately ignored, so that it is searchable.
  void PermitUnchecked() const {}

  bool operator==(const Status&) const = default;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  wire::RejectCode reject_code_ = wire::RejectCode::None;
  std::string message_;
};

std::string_view CodeName(Status::Code code);
// "BadSignature" for 203, "Unknown" for numbers not in codes.fbs.
std::string_view RejectCodeName(wire::RejectCode code);
// True for the 5xx codes: the same frame may be sent again later.
bool IsRetryable(wire::RejectCode code);

// A value or the Status saying why there is none. Constructing a Result from
// an OK Status is a bug and yields an Internal error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) {
      v_ = Status::Internal("Result constructed from an OK status");
    }
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  // Precondition: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace relais

#define RELAIS_CONCAT_INNER_(a, b) a##b
#define RELAIS_CONCAT_(a, b) RELAIS_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define RELAIS_RETURN_IF_ERROR(expr)         \
  do {                                       \
    ::relais::Status relais_st_ = (expr);    \
    if (!relais_st_.ok()) return relais_st_; \
  } while (0)

// `lhs = value of expr`, or returns its Status from the enclosing function.
#define RELAIS_ASSIGN_OR_RETURN(lhs, expr)               \
  auto RELAIS_CONCAT_(relais_r_, __LINE__) = (expr);     \
  if (!RELAIS_CONCAT_(relais_r_, __LINE__).ok())         \
    return RELAIS_CONCAT_(relais_r_, __LINE__).status(); \
  lhs = std::move(RELAIS_CONCAT_(relais_r_, __LINE__)).value()
