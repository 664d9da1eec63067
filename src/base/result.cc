#include "base/result.h"

#include <string.h>

#include <array>

namespace warden {

std::string_view ErrorCodeName(ErrorCode code) {
  static constexpr std::array<std::string_view, 17> kNames = {"ok",
                                                              "cancelled",
                                                              "unknown",
                                                              "invalid_argument",
                                                              "deadline_exceeded",
                                                              "not_found",
                                                              "already_exists",
                                                              "permission_denied",
                                                              "resource_exhausted",
                                                              "failed_precondition",
                                                              "aborted",
                                                              "out_of_range",
                                                              "unimplemented",
                                                              "internal",
                                                              "unavailable",
                                                              "data_loss",
                                                              "unauthenticated"};
  auto index = static_cast<size_t>(code);
  return index < kNames.size() ? kNames[index] : "unknown";
}

std::string ErrnoName(int sys_errno) {
  // strerrorname_np is GNU (glibc 2.32+) and async-signal-safe; it returns null for unknown values.
  const char* name = strerrorname_np(sys_errno);
  return name != nullptr ? name : "errno " + std::to_string(sys_errno);
}

std::string ErrnoDescription(int sys_errno) {
  const char* text = strerrordesc_np(sys_errno);
  return ErrnoName(sys_errno) + " (" + (text != nullptr ? text : "unknown error") + ")";
}

Error Error::FromErrno(std::string_view what, int sys_errno) {
  ErrorCode code = ErrorCode::kInternal;
  switch (sys_errno) {
    case ENOENT:
      code = ErrorCode::kNotFound;
      break;
    case EEXIST:
      code = ErrorCode::kAlreadyExists;
      break;
    case EPERM:
    case EACCES:
      code = ErrorCode::kPermissionDenied;
      break;
    case EINVAL:
      code = ErrorCode::kInvalidArgument;
      break;
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EAGAIN:
      code = ErrorCode::kResourceExhausted;
      break;
    case ENOSYS:
    case EOPNOTSUPP:
      code = ErrorCode::kUnimplemented;
      break;
    default:
      break;
  }
  std::string message(what);
  message += ": ";
  message += ErrnoDescription(sys_errno);
  return Error(code, std::move(message), sys_errno);
}

Error Error::WithContext(std::string_view context) const {
  std::string message(context);
  message += ": ";
  message += message_;
  return Error(code_, std::move(message), errno_);
}

std::string Error::ToString() const {
  std::string s(ErrorCodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

}  // namespace warden
