// Warden runs as root, its sandboxes never do: a workspace is only usable when the sandbox user
// can walk down to it.
#pragma once

#include <string>

#include "base/result.h"

namespace warden::cli {

// OK when every directory above `path` lets others in (o+x), or Warden is not root; otherwise
// kFailedPrecondition naming the directory that does not.
Status CheckSandboxCanReach(const std::string& path);

}  // namespace warden::cli
