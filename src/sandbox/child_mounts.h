// The child side of the mount plan: one MountOp executed with async-signal-safe system calls
// only (see child.h). Internal to sandbox/.
#pragma once

#include "sandbox/child.h"

namespace warden::sandbox {

// Executes `op`. Returns false with errno set when it failed.
bool ExecuteMountOp(const MountOp& op);

}  // namespace warden::sandbox
