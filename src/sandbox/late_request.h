// The run-specific half of a ChildPlan (the late mount steps, the command line, rlimits), packed
// into one buffer so that a warm init process, cloned before the run was known, can receive it
// over a pipe and use it without allocating.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/child.h"

namespace warden::sandbox {

// The most a warm init accepts; larger runs take the cold path.
inline constexpr size_t kMaxLateRequestBytes = 1 << 20;
inline constexpr size_t kMaxLateOps = 256;
inline constexpr size_t kMaxLateArgs = 8192;
inline constexpr size_t kMaxLateEnv = 2048;
inline constexpr size_t kMaxLateExecPaths = 64;
inline constexpr size_t kMaxLateRlimits = 16;

// Packs `plan`'s late ops, argv, envp, exec paths and rlimits. Empty when they exceed the limits
// above, or an op carries a descriptor (kAttach).
std::optional<std::string> EncodeLateRequest(const ChildPlan& plan);

// Child side (async-signal-safe, no allocation): reads one request from `fd` into static storage
// and points `plan`'s late fields at it. Returns false (errno set) on a short read or a malformed
// request.
bool ReceiveLateRequest(int fd, ChildPlan* plan);

}  // namespace warden::sandbox
