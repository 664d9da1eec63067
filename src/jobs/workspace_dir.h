// The directory a job or a session works in, as the service creates it before anything is
// written into it.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace warden::jobs {

// Creates the workspace `path` (and its parents) if missing: mode 0700, owned by the sandbox user
// `sandbox_uid` when Warden runs as root (the service, root, reads it all the same), so that no
// other user of the host can look into it.
Status PrepareWorkspace(const std::string& path, uid_t sandbox_uid);

}  // namespace warden::jobs
