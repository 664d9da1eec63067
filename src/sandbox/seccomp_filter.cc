#include "sandbox/seccomp_filter.h"

#include <iterator>

namespace warden::sandbox {
namespace {

// Generated at build time by seccomp_gen from seccomp_policy.cc: `kFilter`, the BPF program.
#include "sandbox/seccomp_filter.inc"

}  // namespace

SeccompProgram::SeccompProgram(SeccompProgram&& other) noexcept
    : filter_(std::move(other.filter_)) {
  fprog_.len = static_cast<unsigned short>(filter_.size());  // NOLINT(google-runtime-int)
  fprog_.filter = filter_.data();
}

Result<SeccompProgram> SeccompProgram::Build() {
  SeccompProgram program;
  program.filter_.assign(std::begin(kFilter), std::end(kFilter));
  program.fprog_.len = static_cast<unsigned short>(program.filter_.size());  // NOLINT
  program.fprog_.filter = program.filter_.data();
  return program;
}

}  // namespace warden::sandbox
