// The data directory of `warden serve`: the job database and every workspace, private to the
// service (and, for the workspaces, to the sandbox user that works in them).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace warden::cli {

// Creates `data_dir` and `<data_dir>/workspaces` as needed. The data directory ends up mode 0700
// (an existing one is tightened, with a log line); the workspaces directory mode 0700 and, when
// Warden runs as root, owned by `sandbox_uid`, whose sandboxes' init must search it to mount a
// workspace (SupervisorOptions::workspace_root). Returns the workspaces directory.
Result<std::string> PrepareDataDir(const std::string& data_dir, uid_t sandbox_uid);

}  // namespace warden::cli
