// The seccomp program of sandboxed programs (the policy in seccomp_policy.cc, compiled at build
// time), which the child installs with one prctl() just before execve.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "base/result.h"

namespace warden::sandbox {

// A compiled filter. Thread-safe to share: the child only reads it.
class SeccompProgram {
 public:
  static Result<SeccompProgram> Build();

  const struct sock_fprog* program() const { return &fprog_; }
  size_t instruction_count() const { return filter_.size(); }

  SeccompProgram(SeccompProgram&& other) noexcept;
  SeccompProgram& operator=(SeccompProgram&&) = delete;
  SeccompProgram(const SeccompProgram&) = delete;
  SeccompProgram& operator=(const SeccompProgram&) = delete;

 private:
  SeccompProgram() = default;
  std::vector<struct sock_filter> filter_;
  struct sock_fprog fprog_ {};
};

}  // namespace warden::sandbox
