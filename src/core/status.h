// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Status and Result<T>: how library code reports failure. A Status is a
// code from a small fixed set plus a human message; Result<T> holds either
// a value or a non-OK Status. Library code never throws across module
// boundaries; the CLI and the HTTP server turn codes into exit codes and
// HTTP statuses at the edge.

#ifndef LOCKSTEP_CORE_STATUS_H_
#define LOCKSTEP_CORE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lockstep {

enum class StatusCode {
  kOk = 0,
  kNotFound,            // A named thing (blob, run, snapshot) does not exist.
  kAlreadyExists,       // An immutable name is already taken.
  kInvalidArgument,     // Bad input from the user: file, flag or request.
  kFailedPrecondition,  // The system is not in a state to do this.
  kAborted,             // A conflict that may succeed when retried.
  kDataLoss,            // Stored bytes no longer match their digest.
  kInternal,            // A bug or an unexpected library failure.
  kUnavailable,         // An I/O or network failure, possibly transient.
};

// Returns the code's name as written in messages, e.g. "NotFound".
std::string_view StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) {
    return {StatusCode::kNotFound, std::move(m)};
  }
  static Status AlreadyExists(std::string m) {
    return {StatusCode::kAlreadyExists, std::move(m)};
  }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status Aborted(std::string m) {
    return {StatusCode::kAborted, std::move(m)};
  }
  static Status DataLoss(std::string m) {
    return {StatusCode::kDataLoss, std::move(m)};
  }
  static Status Internal(std::string m) {
    return {StatusCode::kInternal, std::move(m)};
  }
  static Status Unavailable(std::string m) {
    return {StatusCode::kUnavailable, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsInvalidArgument() const {
    return code_ == StatusCode::kInvalidArgument;
  }
  bool IsDataLoss() const { return code_ == StatusCode::kDataLoss; }
  bool IsAborted() const { return code_ == StatusCode::kAborted; }

  // Returns a copy whose message starts with `context`: "context: message".
  Status WithContext(std::string_view context) const;

  // "NotFound: message", or "OK".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a T or a non-OK Status. Accessing the value of an error Result is
// a programming error (asserted).
template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }

  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(state_);
  }

  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace lockstep

#define LOCKSTEP_CONCAT_INNER(a, b) a##b
#define LOCKSTEP_CONCAT(a, b) LOCKSTEP_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` is a non-OK Status.
#define RETURN_IF_ERROR(expr)                                        \
  do {                                                               \
    ::lockstep::Status LOCKSTEP_CONCAT(status_, __LINE__) = (expr);  \
    if (!LOCKSTEP_CONCAT(status_, __LINE__).ok()) {                  \
      return LOCKSTEP_CONCAT(status_, __LINE__);                     \
    }                                                                \
  } while (0)

// `lhs = value of expr`, or return its Status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr)                                      \
  auto LOCKSTEP_CONCAT(lockstep_result_, __LINE__) = (expr);             \
  if (!LOCKSTEP_CONCAT(lockstep_result_, __LINE__).ok())                 \
    return LOCKSTEP_CONCAT(lockstep_result_, __LINE__).status();         \
  lhs = std::move(LOCKSTEP_CONCAT(lockstep_result_, __LINE__)).value()

#endif  // LOCKSTEP_CORE_STATUS_H_
