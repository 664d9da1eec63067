// Supervisor's internals, shared by supervisor.cc (building a run from scratch) and warm_run.cc
// (warm sandboxes). Not part of the public API.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "base/result.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/mount_plan.h"
#include "sandbox/run_monitor.h"
#include "sandbox/run_setup.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"
#include "sandbox/warm_pool.h"

namespace warden::sandbox {

// Owns what every run shares: the host layout, the seccomp program, the cgroup manager, the
// reaper and the warm pool. Thread-safe: Run() and StartWarm() only read the shared members.
class Supervisor::Impl {
 public:
  SupervisorOptions options;
  bool running_as_root = false;
  HostLayout layout;
  std::optional<SeccompProgram> seccomp;
  std::optional<CgroupManager> cgroups;
  int last_capability = 40;
  char* cmdline_begin = nullptr;  // this process's argv strings, wiped in every init
  size_t cmdline_size = 0;
  std::string workspace_root;      // resolved options.workspace_root; "" when overlays are not used
  std::string workspace_mounting;  // how workspaces are mounted, for Supervisor::workspace_mounting
  // User namespaces that idmap root's files to the sandbox user (idmap.h), by the files' group;
  // made on first use, kept for the supervisor's life.
  mutable std::mutex idmap_mutex;
  mutable std::map<gid_t, UniqueFd> idmaps;
  std::unique_ptr<CgroupReaper> reaper;  // removes finished runs' cgroups off the caller's path
  std::unique_ptr<WarmPool> warm_pool;   // last: its thread uses the members above

  Result<RunResult> Run(const Spec& spec, const CancelToken* cancel);
  // Builds a sandbox up to the point where it waits for a run (WarmPool's factory).
  Result<WarmSandbox> StartWarm();
  // Called once by Create(): checks with one run that a workspace under options.workspace_root
  // can be mounted as an overlay; sets workspace_root (or leaves it empty, logging why) and
  // workspace_mounting.
  void SetUpWorkspaceRoot();

 private:
  bool isolated() const { return !options.unsandboxed; }
  Result<Workspace> PrepareWorkspace(const Spec& spec) const;
  // The idmapping of a root-owned workspace of group `gid` to the sandbox user's host ids.
  Result<int> RootIdmap(gid_t gid, uid_t seen_uid, gid_t seen_gid) const;
  Result<std::optional<MountPlan>> PrepareMounts(const Spec& spec, const Workspace& ws) const;
  ChildPlan MakeChildPlan(const Spec& spec, const RunPipes& pipes, const std::vector<int>& keep,
                          const std::optional<MountPlan>& mounts, const CommandLine& cmd,
                          const std::vector<ChildPlan::Rlimit>& rlimits) const;
  // Clones the child into its namespaces (and, on cgroup v2, its cgroup). Returns its pid.
  Result<pid_t> Clone(const Spec& spec, const ChildPlan& plan, const Cgroup* cgroup,
                      int* pidfd) const;
  // Writes the id maps and a byte on `sync_write`, then runs `join_cgroup` (v1: put the child in
  // its cgroup) and writes a second byte. Without both, the child exits before starting anything.
  Status Release(pid_t pid, uid_t host_uid, gid_t host_gid, int sync_write,
                 const std::function<Status()>& join_cgroup) const;
  // Runs `spec` in a warm sandbox. Returns nothing when the run does not fit one (the caller
  // then runs it cold).
  std::optional<Result<RunResult>> RunWarm(const Spec& spec, const CancelToken* cancel,
                                           Workspace& ws, const MountPlan& mounts);
  // Watches a started run to its end (filling in `monitor`'s run-independent fields), then hands
  // its cgroup to the reaper.
  RunResult Watch(const Spec& spec, const CancelToken* cancel, Workspace& ws,
                  const MountPlan* mounts, std::optional<Cgroup>* cgroup, MonitorInputs monitor,
                  const Status& released);
  // Turns what the monitor saw into the RunResult the caller gets.
  RunResult Finish(const Spec& spec, const MountPlan* mounts, MonitorResult monitored,
                   const Status& released) const;
  Status WriteIdMaps(pid_t pid, uid_t uid, gid_t gid) const;
  std::pair<uid_t, gid_t> SandboxHostIds(const struct stat& workspace) const;
  // The host ids of the sandbox user for a workspace Warden creates itself.
  std::pair<uid_t, gid_t> DefaultHostIds() const;
};

}  // namespace warden::sandbox
