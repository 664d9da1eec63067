// The pieces a run is prepared from, before its child is cloned: pipes, the workspace, the
// command line and environment, rlimits, request validation. Used by the cold and warm paths.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/child.h"
#include "sandbox/sandbox.h"
#include "sandbox/workspace_mount.h"
#include "sandbox/workspace_watch.h"
#include "sys/fs.h"

namespace warden::sandbox {

// The program's uid and gid inside every sandbox.
constexpr uid_t kSandboxUid = 1000;
constexpr gid_t kSandboxGid = 1000;

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> MakePipe();

// The workspace of one run: the caller's directory (or none: the run gets a fresh one on its
// /tmp file system), and who owns it.
struct Workspace {
  std::optional<sys::TempDir> temp;  // unsandboxed runs without one get a host temp directory
  std::string path;                  // empty: no caller's directory
  UniqueFd fd;
  uid_t host_uid = 0;  // the sandbox user's id on the host
  gid_t host_gid = 0;
  uint64_t baseline_bytes = 0;          // what it held before the run, for the disk limit
  std::optional<WorkspaceWatch> watch;  // started before the baseline; handed to the monitor
  std::optional<WorkspaceMount> mount;  // isolated runs with a caller's directory: how it goes in
};

// The program's command line and environment as the child's pointer arrays need them.
// Its pointer arrays point into its own strings: constructed in place, never moved.
struct CommandLine {
  CommandLine() = default;  // empty: a warm sandbox receives its command line later
  explicit CommandLine(const Spec& spec);
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  std::vector<std::string> env;
  std::vector<std::string> exec_paths;
  std::vector<const char*> argv_ptrs;
  std::vector<const char*> env_ptrs;
  std::vector<const char*> exec_ptrs;
};

// The pipes between supervisor and child. The child's ends are closed in the parent after clone.
struct RunPipes {
  Pipe sync;
  Pipe report;
  Pipe out;
  Pipe err;
  std::optional<Pipe> in;
  int child_stdin = -1;
};

std::vector<ChildPlan::Rlimit> MakeRlimits(const Limits& limits);
// `feeds_stdin`: the supervisor will write the program's input (else the program reads EOF).
Result<RunPipes> MakePipes(bool feeds_stdin);
bool FeedsStdin(const Spec& spec);
// The descriptors the child keeps (its ends of the pipes), sorted.
std::vector<int> ChildFds(const RunPipes& pipes);
// Refuses requests that cannot run: no program, relative or escaping paths, reserved targets,
// an egress proxy without a sandbox (`isolated` false).
Status ValidateSpec(const Spec& spec, bool isolated);
RunResult SetupErrorResult(std::string step, int err);

}  // namespace warden::sandbox
