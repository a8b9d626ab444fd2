// Status and Result<T>: how every fallible larder call reports success or failure.
//
// No exception crosses the public API. A call that can fail returns a Status (or a Result<T>
// carrying either a value or a non-OK Status). Both are [[nodiscard]]; a caller that means to
// ignore one says so with `(void)` and a comment.
//
// Thread safety: a Status is an immutable value; copies share one message buffer (reference
// counted), so passing the same error to many waiters is cheap and safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace larder {

class [[nodiscard]] Status {
 public:
  // Frozen values: they may be persisted and compared across versions.
  enum class Code : uint8_t {
    kOk = 0,
    kInvalidArgument = 1,     // the caller passed something the contract forbids
    kNotFound = 2,            // the named thing does not exist (not an error for lookups)
    kResourceExhausted = 3,   // a bound or a queue is full
    kUnavailable = 4,         // a dependency (source, server) cannot be reached right now
    kInternal = 5,            // a broken invariant or an exception from user code
    kAborted = 6,             // the operation was cut short (shutdown)
    kDeadlineExceeded = 7,    // a timeout elapsed
    kFailedPrecondition = 8,  // the object is not in a state that allows the call
    kIOError = 9,             // a file or network call failed
    kCorruption = 10,         // persisted data failed a check
  };

  // An OK status. Costs no allocation.
  Status() noexcept = default;

  static Status OK() noexcept { return Status(); }
  static Status InvalidArgument(std::string_view msg) { return {Code::kInvalidArgument, msg}; }
  static Status NotFound(std::string_view msg) { return {Code::kNotFound, msg}; }
  static Status ResourceExhausted(std::string_view msg) { return {Code::kResourceExhausted, msg}; }
  static Status Unavailable(std::string_view msg) { return {Code::kUnavailable, msg}; }
  static Status Internal(std::string_view msg) { return {Code::kInternal, msg}; }
  static Status Aborted(std::string_view msg) { return {Code::kAborted, msg}; }
  static Status DeadlineExceeded(std::string_view msg) { return {Code::kDeadlineExceeded, msg}; }
  static Status FailedPrecondition(std::string_view msg) {
    return {Code::kFailedPrecondition, msg};
  }
  static Status IOError(std::string_view msg) { return {Code::kIOError, msg}; }
  static Status Corruption(std::string_view msg) { return {Code::kCorruption, msg}; }

  bool ok() const noexcept { return code_ == Code::kOk; }
  Code code() const noexcept { return code_; }
  bool IsInvalidArgument() const noexcept { return code_ == Code::kInvalidArgument; }
  bool IsNotFound() const noexcept { return code_ == Code::kNotFound; }
  bool IsResourceExhausted() const noexcept { return code_ == Code::kResourceExhausted; }
  bool IsUnavailable() const noexcept { return code_ == Code::kUnavailable; }
  bool IsInternal() const noexcept { return code_ == Code::kInternal; }
  bool IsAborted() const noexcept { return code_ == Code::kAborted; }

  // The message given at construction; empty for OK.
  std::string_view message() const noexcept {
    return message_ ? std::string_view(*message_) : std::string_view();
  }
  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;
  // The same code with "<context>: " before the message; OK stays OK.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) noexcept {
    return a.code_ == b.code_ && a.message() == b.message();
  }

 private:
  Status(Code code, std::string_view msg)
      : code_(code), message_(std::make_shared<const std::string>(msg)) {}

  Code code_ = Code::kOk;
  std::shared_ptr<const std::string> message_;
};

// The name of a code ("InvalidArgument").
std::string_view CodeName(Status::Code code) noexcept;

// Either a T or a non-OK Status, shaped like abseil's StatusOr.
// REQUIRES (checked): constructing from a Status requires a non-OK one.
template <typename T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<T, Status>, "Result<Status> is meaningless");

  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK Status");
  }

  bool ok() const noexcept { return value_.has_value(); }
  const Status& status() const& noexcept { return status_; }
  Status status() && noexcept { return std::move(status_); }

  // REQUIRES: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace larder
