// The seccomp deny policy of sandboxed programs, written with libseccomp. It is compiled at build
// time (seccomp_gen.cc) into the BPF program the supervisor embeds, so neither libseccomp nor the
// compilation is paid at run time.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "base/result.h"

namespace warden::sandbox {

// Compiles the policy for the architecture this code is built for.
Result<std::vector<struct sock_filter>> CompileSeccompPolicy();

}  // namespace warden::sandbox
