// What the host allows, for `warden doctor`: user namespaces, cgroups, seccomp, Landlock,
// AppArmor; and which isolation the sandbox will therefore use.
#pragma once

#include <string>
#include <vector>

namespace warden::sandbox {

struct HostCheck {
  enum class Level { kOk, kInfo, kWarn, kFail };
  std::string name;  // "user namespaces"
  Level level;
  std::string detail;  // what was found, and what to do when it is not ok
};

struct HostReport {
  std::vector<HostCheck> checks;
  bool full_isolation = false;  // every check the sandbox needs passed
  std::string isolation;        // a sentence: what the sandbox will use
};

// Probes the host. Creates (and removes) a few short-lived test processes and cgroups.
HostReport ProbeHost();

// How `warden serve` will mount workspaces (SupervisorOptions::workspace_root): as overlays that
// keep their host paths out of the sandbox, or as bind mounts and why. Checked with a real run
// over a temporary directory in $TMPDIR (the data directory's file system may differ: the server
// checks its own at start and logs the outcome).
HostCheck CheckWorkspaceMounting();

std::string_view HostCheckLevelName(HostCheck::Level level);

}  // namespace warden::sandbox
