// Result<T>: a value or an Error, the way Warden reports anything that can fail for reasons
// outside the program. Shaped like C++23 std::expected; error codes numbered like gRPC's.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace warden {

// Numbered like gRPC status codes so rpc/ can map them one to one.
enum class ErrorCode {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

std::string_view ErrorCodeName(ErrorCode code);

// An error: a code, a message for humans and, for failed system calls, the errno.
class Error {
 public:
  Error(ErrorCode code, std::string message, int sys_errno = 0)
      : code_(code), message_(std::move(message)), errno_(sys_errno) {}

  // An error from a failed system call: "mount(/workspace): EPERM (Operation not permitted)".
  // `what` names the call and the object it was applied to.
  static Error FromErrno(std::string_view what, int sys_errno);

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  int sys_errno() const { return errno_; }

  // Prepends context: "creating cgroup: mkdir(...): EACCES".
  Error WithContext(std::string_view context) const;

  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
  int errno_;
};

// Convenience: an error from the current errno.
inline Error ErrnoError(std::string_view what) {
  return Error::FromErrno(what, errno);
}

// Name of an errno value ("ENOENT"), or its number when it has no known name.
std::string ErrnoName(int sys_errno);
// "ENOENT (No such file or directory)".
std::string ErrnoDescription(int sys_errno);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): `return Error(...)` is how a function fails.
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_{ErrorCode::kOk, ""};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status OkStatus() {
  return {};
}

}  // namespace warden

#define WARDEN_CONCAT_INNER(a, b) a##b
#define WARDEN_CONCAT(a, b) WARDEN_CONCAT_INNER(a, b)

// Returns the error of a failed Result/Status from the enclosing function.
#define RETURN_IF_ERROR(expr)                   \
  do {                                          \
    auto warden_status_ = (expr);               \
    if (!warden_status_.ok()) {                 \
      return std::move(warden_status_).error(); \
    }                                           \
  } while (0)

// ASSIGN_OR_RETURN(auto fd, OpenFile(path)); declares `fd` or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(WARDEN_CONCAT(warden_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) {                            \
    return std::move(tmp).error();            \
  }                                           \
  lhs = std::move(tmp).value()
