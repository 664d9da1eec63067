// The flags with which `warden exec` and `warden run` hand a user's files to sandboxes:
// --workspace DIR, --ro-bind SRC[:DST] and (run) --input FILE. Both commands treat them alike.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "sandbox/sandbox.h"

namespace warden::cli {

// Makes sure the workspace `path` exists and the sandbox user can reach it; returns its real path.
// A missing directory is created (as root, given to `sandbox_uid`); an existing one is never
// changed. Whose it may be is the sandbox's to say (an ordinary user's: the sandbox runs as that
// user; root's: mounted idmapped, where the file system allows it), the same for exec and run.
Result<std::string> PrepareWorkspace(const std::string& path, uid_t sandbox_uid);

// "SRC" or "SRC:DST" (DST absolute; default SRC) for each --ro-bind, with SRC resolved.
Result<std::vector<sandbox::BindMount>> ParseRoBinds(const std::vector<std::string>& binds);

// Copies each of `files` (a file, or a directory with what it holds) into `workspace` under its
// own name, readable and writable by `sandbox_uid` when Warden runs as root. Refuses two inputs
// with one name, and a name already in the workspace.
Status CopyInputs(const std::vector<std::string>& files, const std::string& workspace,
                  uid_t sandbox_uid);

}  // namespace warden::cli
