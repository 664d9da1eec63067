// The sandbox's public API: run a program fully isolated (namespaces, a fresh root, cgroups,
// rlimits, no capabilities, seccomp) and learn exactly why the run ended.
//
//   ASSIGN_OR_RETURN(auto supervisor, sandbox::Supervisor::Create({}));
//   sandbox::Spec spec;
//   spec.argv = {"/usr/bin/python3", "-c", "print(6 * 7)"};
//   spec.limits.wall_time = std::chrono::seconds(5);
//   ASSIGN_OR_RETURN(sandbox::RunResult result, supervisor->Run(spec));
//   // result.outcome == Outcome::kExited, result.exit_code == 0, result.stdout_data == "42\n"
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/egress_policy.h"

namespace warden::sandbox {

using std::chrono::milliseconds;

enum class NetworkMode {
  kNone,  // a private network namespace with only loopback (the default)
  kHost,  // the host's network, and its /etc/resolv.conf
  // A private network namespace with only loopback, where Warden's egress proxy listens on
  // 127.0.0.1:kEgressProxyPort (HTTP_PROXY and HTTPS_PROXY say so). Through it, and only through
  // it, the run reaches the hosts of Spec::egress. No DNS: the proxy resolves names itself.
  kProxy,
};

// The egress proxy's port inside the run's own network namespace (NetworkMode::kProxy).
inline constexpr uint16_t kEgressProxyPort = 3128;

// Limits of one run. Zero means "no limit" only where a field says so.
struct Limits {
  uint64_t memory_bytes = 512ULL << 20;  // cgroup memory limit; OOM ends the run
  uint32_t max_pids = 128;               // processes and threads at once (cgroup pids)
  milliseconds wall_time{60'000};        // real time from start to end
  milliseconds cpu_time{30'000};         // CPU time of all processes together
  uint64_t output_bytes = 1ULL << 20;    // stdout + stderr together; more ends the run
  uint64_t disk_bytes = 256ULL << 20;    // what the run may write to /workspace and /tmp
  uint32_t open_files = 256;             // RLIMIT_NOFILE of each process
  double cpus = 0;                       // CPU bandwidth in cores (cgroup cpu); 0: no cap
};

// A host path made visible read-only inside the sandbox.
struct BindMount {
  std::string source;  // absolute host path
  std::string target;  // absolute path inside the sandbox
};

enum class Stream { kStdout, kStderr };

// Called from the thread that runs the sandbox, as output arrives (chunks, not lines).
using OutputCallback = std::function<void(Stream stream, std::string_view data)>;

// What to run and how.
struct Spec {
  // argv[0] without a '/' is looked up in the sandbox's PATH.
  std::vector<std::string> argv;
  // "KEY=VALUE" entries added to (or replacing entries of) a minimal environment: PATH, HOME=/tmp,
  // LANG=C.UTF-8, TMPDIR=/tmp, USER=sandbox, caches under /tmp (XDG_CACHE_HOME, MPLCONFIGDIR) and
  // MPLBACKEND=Agg. Nothing of the caller's environment leaks in.
  std::vector<std::string> env;
  // Host directory mounted read-write at /workspace, the working directory. Empty: a fresh
  // directory on the run's tmpfs (with /tmp, under the disk limit), gone when the run ends.
  std::string workspace;
  std::vector<BindMount> ro_binds;
  NetworkMode network = NetworkMode::kNone;
  // NetworkMode::kProxy: what the proxy lets through. Each refusal is also a line on the run's
  // stderr (RunResult::stderr_data, after the program's output).
  EgressPolicy egress;
  // NetworkMode::kProxy: told of each refusal, on a proxy thread (several may call at once).
  EgressDenialCallback on_egress_denied;
  Limits limits;
  // Written to the program's standard input, which is then closed. Without it stdin is empty.
  std::string stdin_data;
  // Instead of stdin_data: a descriptor (pipe, file, socket) whose data the supervisor copies to
  // the program's standard input until EOF. The descriptor itself never enters the sandbox (a
  // directory or O_PATH descriptor there would open the host's tree). The caller keeps ownership.
  int stdin_fd = -1;
  // Live output. Output is also collected into RunResult (up to the output limit).
  OutputCallback on_output;
};

// Why a run ended.
enum class Outcome {
  kExited,       // the program exited; see exit_code
  kSignaled,     // the program was killed by a signal; see signal
  kTimeout,      // wall time limit
  kCpuLimit,     // CPU time limit
  kMemoryLimit,  // killed by the out-of-memory killer of its cgroup
  kOutputLimit,  // wrote more than the output limit
  kDiskLimit,    // wrote more than the disk limit
  kCancelled,    // CancelToken::Cancel()
  kSetupError,   // the sandbox could not be set up; see setup_step and setup_errno
};

std::string_view OutcomeName(Outcome outcome);

struct RunResult {
  Outcome outcome = Outcome::kSetupError;
  int exit_code = -1;  // kExited: the program's exit code
  int signal = 0;      // kSignaled (and the limits that end in a kill): the signal number
  std::chrono::microseconds wall_time{0};
  std::chrono::microseconds cpu_time{0};  // user + system of every process of the run
  uint64_t peak_memory_bytes = 0;
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  int exec_errno = 0;      // the program could not be started (127: not found; 126: other)
  std::string setup_step;  // kSetupError: the step that failed, e.g. "mount /proc"
  int setup_errno = 0;     // kSetupError: its errno
  std::string message;     // a sentence on why the run ended, for humans
};

// A sentence on why a run ended: "exceeded the memory limit of 256M".
std::string DescribeOutcome(const RunResult& result, const Limits& limits);

// Lets another thread stop a run: Cancel() kills the run's whole process tree. Thread-safe; one
// token can serve several runs and stays cancelled once cancelled.
class CancelToken {
 public:
  CancelToken();
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  void Cancel();
  bool cancelled() const;
  int fd() const { return fd_.get(); }  // readable once cancelled
  // The flag itself, for code that polls (an HTTP transfer, a retry wait).
  const std::atomic<bool>& flag() const { return cancelled_; }

 private:
  UniqueFd fd_;  // eventfd
  std::atomic<bool> cancelled_{false};
};

struct SupervisorOptions {
  // Run programs without any isolation (only rlimits and the limits the supervisor enforces
  // itself). Never chosen implicitly; every run logs a warning.
  bool unsandboxed = false;
  // Host uid and gid that the sandbox's user (uid 1000 inside) maps to when Warden runs as root.
  // Warden running as another user maps the sandbox user to itself.
  uid_t root_sandbox_uid = 2'100'001'000;
  // Sandboxes built ahead of time by a background thread, so that a run skips most of its setup
  // (namespaces, cgroup, the host part of the root). Each costs one idle process and a cgroup.
  // Used by runs with NetworkMode::kNone and either no workspace or one that maps to the default
  // sandbox user (see SupervisorOptions::root_sandbox_uid). 0: every run is built from scratch.
  size_t warm_sandboxes = 0;
  // Remove a finished run's cgroup on a background thread, so that Run() returns without waiting
  // for the kernel to let go of it (milliseconds, now and then, on cgroup v1). A one-run program
  // (warden exec) removes it inline instead: it would wait at exit anyway.
  bool background_cleanup = true;
  // The directory every workspace of a service lies under (warden serve: <data>/workspaces), or
  // "". A workspace under it is mounted as an overlay whose only writable layer is the directory:
  // a bind mount would show, in the sandbox's /proc/self/mountinfo, the directory's path on the
  // host. The overlays' work directories come and go in <workspace_root>/.overlay-work. The
  // sandbox's init must be able to search workspace_root: as root, give it to root_sandbox_uid.
  // Create() checks with one run that overlays work there; if not, it logs why and binds.
  std::string workspace_root;
};

// Starts sandboxes. Owns the cgroup subtree of its runs and the precompiled seccomp program.
// Thread-safe: Run() may be called from many threads at once.
class Supervisor {
 public:
  // Probes the host (user namespaces, cgroups, seccomp) and prepares what every run shares. Fails
  // with a message that says what the host lacks when full isolation is impossible.
  static Result<std::unique_ptr<Supervisor>> Create(const SupervisorOptions& options);
  ~Supervisor();

  // Runs `spec` to completion (or cancellation). An error means the request itself was invalid
  // (no argv, a relative path); a sandbox that could not be set up is a RunResult with
  // Outcome::kSetupError.
  Result<RunResult> Run(const Spec& spec, const CancelToken* cancel = nullptr);

  // How a caller's workspace is mounted, in words: overlays under workspace_root (the sandbox
  // sees no host path), or bind mounts and why.
  const std::string& workspace_mounting() const;
  // True when workspaces under SupervisorOptions::workspace_root are mounted as overlays.
  bool hides_workspace_paths() const;

  class Impl;

 private:
  explicit Supervisor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::sandbox
