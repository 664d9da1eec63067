// Watches one running sandbox from the supervisor's side: drains stdout and stderr, reads the
// child's reports, enforces the wall, CPU, output and disk limits, honours cancellation, and
// decides why the run ended.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "base/unique_fd.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/sandbox.h"
#include "sandbox/workspace_watch.h"

namespace warden::sandbox {

struct MonitorInputs {
  const Spec* spec = nullptr;
  const CancelToken* cancel = nullptr;
  pid_t init_pid = -1;
  int pidfd = -1;
  UniqueFd stdout_fd;
  UniqueFd stderr_fd;
  UniqueFd report_fd;
  UniqueFd stdin_fd;         // write end of the program's stdin, fed from stdin_data/stdin_fd
  Cgroup* cgroup = nullptr;  // may be null (unsandboxed without cgroups)
  int workspace_fd = -1;     // for the disk watcher
  uint64_t workspace_baseline_bytes = 0;
  // Started before the baseline was measured (PrepareWorkspace); without one the monitor starts
  // its own. While it says the tree is unchanged, the tree is not measured again.
  std::optional<WorkspaceWatch> workspace_watch;
  bool isolated = true;
  std::chrono::steady_clock::time_point start;
};

// What the monitor saw. The supervisor turns it into a RunResult.
struct MonitorResult {
  RunResult result;  // outputs, times, outcome
  std::optional<ChildReport> setup_failure;
  int exec_errno = 0;
};

// Runs the loop until the init process has exited and the output is drained. Not thread-safe;
// one monitor per run, on the thread that called Supervisor::Run.
MonitorResult MonitorRun(MonitorInputs inputs);

}  // namespace warden::sandbox
