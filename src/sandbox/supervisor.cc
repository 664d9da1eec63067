#include <dirent.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <functional>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "base/log.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/late_request.h"
#include "sandbox/mount_plan.h"
#include "sandbox/run_monitor.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"
#include "sandbox/warm_pool.h"
#include "sys/fs.h"

namespace warden::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uid_t kSandboxUid = 1000;
constexpr gid_t kSandboxGid = 1000;
constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return ErrnoError("pipe2");
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

bool IsSafeAbsolutePath(std::string_view path) {
  if (path.empty() || path[0] != '/') {
    return false;
  }
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      return false;
    }
    start = end + 1;
  }
  return true;
}

// The environment: defaults, then the caller's entries replacing same-named ones.
std::vector<std::string> BuildEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env = {fmt::format("PATH={}", kDefaultPath),
                                  "HOME=/tmp",
                                  "LANG=C.UTF-8",
                                  "TMPDIR=/tmp",
                                  "USER=sandbox",
                                  "LOGNAME=sandbox",
                                  "PWD=/workspace"};
  for (const std::string& entry : extra) {
    std::string_view key = std::string_view(entry).substr(0, entry.find('='));
    auto same = std::find_if(env.begin(), env.end(), [&](const std::string& e) {
      return e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=';
    });
    if (same != env.end()) {
      *same = entry;
    } else {
      env.push_back(entry);
    }
  }
  return env;
}

std::vector<std::string> ExecPaths(const std::string& program,
                                   const std::vector<std::string>& env) {
  if (program.find('/') != std::string::npos) {
    return {program};
  }
  std::string path(kDefaultPath);
  for (const std::string& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) {
      path = entry.substr(5);
    }
  }
  std::vector<std::string> paths;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find(':', start), path.size());
    std::string dir = path.substr(start, end - start);
    paths.push_back((dir.empty() ? "." : dir) + "/" + program);
    start = end + 1;
  }
  return paths;
}

// Where this process's argv strings are (fields 48 and 49 of /proc/self/stat).
std::pair<char*, size_t> FindOwnCommandLine() {
  auto stat = sys::ReadFile("/proc/self/stat");
  if (!stat.ok()) {
    return {nullptr, 0};
  }
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos) {
    return {nullptr, 0};
  }
  // Field 3 starts after ") ".
  std::vector<std::string_view> fields;
  std::string_view rest = std::string_view(*stat).substr(paren + 2);
  while (!rest.empty()) {
    size_t space = rest.find(' ');
    fields.push_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  if (fields.size() < 47) {
    return {nullptr, 0};
  }
  uint64_t begin = std::strtoull(std::string(fields[45]).c_str(), nullptr, 10);
  uint64_t end = std::strtoull(std::string(fields[46]).c_str(), nullptr, 10);
  if (begin == 0 || end <= begin) {
    return {nullptr, 0};
  }
  return {reinterpret_cast<char*>(begin), end - begin};  // NOLINT: an address the kernel gave
}

int ReadLastCapability() {
  auto text = sys::ReadFile("/proc/sys/kernel/cap_last_cap");
  return text.ok() ? std::atoi(text->c_str()) : 63;  // NOLINT: a number the kernel wrote
}

// The workspace of one run: the caller's directory (or none: the run gets a fresh one on its
// /tmp file system), and who owns it.
struct Workspace {
  std::string path;  // empty: no caller's directory
  UniqueFd fd;
  uid_t host_uid = 0;  // the sandbox user's id on the host
  gid_t host_gid = 0;
  uint64_t baseline_bytes = 0;  // what it held before the run, for the disk limit
};

// The program's command line and environment as the child's pointer arrays need them.
struct CommandLine {
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

std::vector<const char*> Pointers(const std::vector<std::string>& strings) {
  std::vector<const char*> p;
  p.reserve(strings.size() + 1);
  for (const std::string& s : strings) {
    p.push_back(s.c_str());
  }
  p.push_back(nullptr);
  return p;
}

CommandLine MakeCommandLine(const Spec& spec) {
  CommandLine cmd;
  cmd.env = BuildEnv(spec.env);
  cmd.exec_paths = ExecPaths(spec.argv[0], cmd.env);
  cmd.argv_ptrs = Pointers(spec.argv);
  cmd.env_ptrs = Pointers(cmd.env);
  cmd.exec_ptrs = Pointers(cmd.exec_paths);
  return cmd;
}

std::vector<ChildPlan::Rlimit> MakeRlimits(const Limits& limits) {
  std::vector<ChildPlan::Rlimit> rlimits = {{RLIMIT_CORE, {0, 0}}};
  if (limits.disk_bytes > 0) {
    rlimits.push_back({RLIMIT_FSIZE, {limits.disk_bytes, limits.disk_bytes}});
  }
  if (limits.open_files > 0) {
    rlimits.push_back({RLIMIT_NOFILE, {limits.open_files, limits.open_files}});
  }
  if (limits.cpu_time.count() > 0) {
    // Per process, a backstop to the cgroup's total: SIGXCPU at the limit, SIGKILL a second later.
    auto seconds =
        static_cast<rlim_t>(std::ceil(static_cast<double>(limits.cpu_time.count()) / 1000));
    rlimits.push_back({RLIMIT_CPU, {seconds, seconds + 1}});
  }
  return rlimits;
}

// `feeds_stdin`: the supervisor will write the program's input (else the program reads EOF).
Result<RunPipes> MakePipes(bool feeds_stdin) {
  RunPipes pipes;
  ASSIGN_OR_RETURN(pipes.sync, MakePipe());
  ASSIGN_OR_RETURN(pipes.report, MakePipe());
  ASSIGN_OR_RETURN(pipes.out, MakePipe());
  ASSIGN_OR_RETURN(pipes.err, MakePipe());
  ASSIGN_OR_RETURN(pipes.in, MakePipe());
  pipes.child_stdin = pipes.in->read.get();
  if (feeds_stdin) {
    ::fcntl(pipes.in->write.get(), F_SETFL, O_NONBLOCK);
  } else {
    pipes.in->write.reset();  // the program reads EOF at once
  }
  ::fcntl(pipes.out.read.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(pipes.err.read.get(), F_SETFL, O_NONBLOCK);
  return pipes;
}

bool FeedsStdin(const Spec& spec) {
  return !spec.stdin_data.empty() || spec.stdin_fd >= 0;
}

// The descriptors the child keeps (its ends of the pipes), sorted.
std::vector<int> ChildFds(const RunPipes& pipes) {
  std::vector<int> keep = {pipes.sync.read.get(), pipes.report.write.get(), pipes.child_stdin,
                           pipes.out.write.get(), pipes.err.write.get()};
  std::sort(keep.begin(), keep.end());
  return keep;
}

Status ValidateSpec(const Spec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Error(ErrorCode::kInvalidArgument, "no program to run");
  }
  if (!spec.workspace.empty() && !IsSafeAbsolutePath(spec.workspace)) {
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("workspace '{}' must be an absolute path without '..'", spec.workspace));
  }
  for (const BindMount& bind : spec.ro_binds) {
    // Targets go on the sandbox's own root, never into a directory the program (or the host)
    // can fill with symlinks before init creates the mount point.
    bool reserved = false;
    for (std::string_view dir : {"/workspace", "/tmp", "/proc", "/dev", "/.oldroot", "/.scratch"}) {
      reserved |= bind.target == dir ||
                  (bind.target.size() > dir.size() &&
                   bind.target.compare(0, dir.size(), dir) == 0 && bind.target[dir.size()] == '/');
    }
    if (reserved) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("--ro-bind target {} is inside /workspace, /tmp, /proc or /dev; "
                               "choose another path, e.g. /opt/data",
                               bind.target));
    }
    if (!IsSafeAbsolutePath(bind.source) || !IsSafeAbsolutePath(bind.target) ||
        bind.target == "/") {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("--ro-bind {}:{}: both paths must be absolute, without '..', and "
                               "the target must not be /",
                               bind.source, bind.target));
    }
  }
  return OkStatus();
}

RunResult SetupErrorResult(std::string step, int err) {
  RunResult result;
  result.outcome = Outcome::kSetupError;
  result.setup_step = std::move(step);
  result.setup_errno = err;
  result.message =
      fmt::format("sandbox setup failed at '{}': {}", result.setup_step, ErrnoDescription(err));
  return result;
}

}  // namespace

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
  std::unique_ptr<CgroupReaper> reaper;  // removes finished runs' cgroups off the caller's path
  std::unique_ptr<WarmPool> warm_pool;   // last: its thread uses the members above

  Result<RunResult> Run(const Spec& spec, const CancelToken* cancel);
  // Builds a sandbox up to the point where it waits for a run (WarmPool's factory).
  Result<WarmSandbox> StartWarm();

 private:
  bool isolated() const { return !options.unsandboxed; }
  Result<Workspace> PrepareWorkspace(const Spec& spec) const;
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
                                           const Workspace& ws, const MountPlan& mounts);
  // Turns what the monitor saw into the RunResult the caller gets.
  RunResult Finish(const Spec& spec, const MountPlan* mounts, MonitorResult monitored,
                   const Status& released) const;
  Status WriteIdMaps(pid_t pid, uid_t uid, gid_t gid) const;
  std::pair<uid_t, gid_t> SandboxHostIds(const struct stat& workspace) const;
  // The host ids of the sandbox user for a workspace Warden creates itself.
  std::pair<uid_t, gid_t> DefaultHostIds() const;
};

std::pair<uid_t, gid_t> Supervisor::Impl::DefaultHostIds() const {
  if (!running_as_root) {
    return {::geteuid(), ::getegid()};
  }
  return {options.root_sandbox_uid, static_cast<gid_t>(options.root_sandbox_uid)};
}

std::pair<uid_t, gid_t> Supervisor::Impl::SandboxHostIds(const struct stat& workspace) const {
  if (!running_as_root) {
    return {::geteuid(), ::getegid()};
  }
  // Root maps the sandbox user to the workspace's owner when that owner is an ordinary user, so
  // that files keep their owner; otherwise to Warden's own unprivileged id.
  if (workspace.st_uid != 0) {
    return {workspace.st_uid, workspace.st_gid};
  }
  return {options.root_sandbox_uid, static_cast<gid_t>(options.root_sandbox_uid)};
}

Status Supervisor::Impl::WriteIdMaps(pid_t pid, uid_t uid, gid_t gid) const {
  std::string proc = fmt::format("/proc/{}/", pid);
  if (running_as_root) {
    // Root inside (init, which builds the mounts) is another unprivileged host id, never 0.
    uid_t root_uid = uid == options.root_sandbox_uid ? uid - 1 : options.root_sandbox_uid - 1;
    RETURN_IF_ERROR(sys::WriteExistingFile(
        proc + "uid_map", fmt::format("0 {} 1\n{} {} 1\n", root_uid, kSandboxUid, uid)));
    return sys::WriteExistingFile(proc + "gid_map",
                                  fmt::format("0 {} 1\n{} {} 1\n", root_uid, kSandboxGid, gid));
  }
  RETURN_IF_ERROR(sys::WriteExistingFile(proc + "setgroups", "deny"));
  RETURN_IF_ERROR(
      sys::WriteExistingFile(proc + "uid_map", fmt::format("{} {} 1\n", kSandboxUid, uid)));
  return sys::WriteExistingFile(proc + "gid_map", fmt::format("{} {} 1\n", kSandboxGid, gid));
}

Result<Workspace> Supervisor::Impl::PrepareWorkspace(const Spec& spec) const {
  Workspace ws;
  ws.path = spec.workspace;
  if (ws.path.empty()) {
    std::tie(ws.host_uid, ws.host_gid) = DefaultHostIds();
    return ws;
  }
  ws.fd.reset(::open(ws.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!ws.fd) {
    return Error::FromErrno(fmt::format("workspace {}", ws.path), errno);
  }
  struct stat st {};
  if (::fstat(ws.fd.get(), &st) != 0) {
    return ErrnoError("fstat(" + ws.path + ")");
  }
  std::tie(ws.host_uid, ws.host_gid) = SandboxHostIds(st);
  bool writable = st.st_uid == ws.host_uid || (st.st_mode & S_IWOTH) != 0 ||
                  (st.st_gid == ws.host_gid && (st.st_mode & S_IWGRP) != 0);
  if (!writable) {
    // Root's own directory: the sandbox user is never root on the host, so it could not write.
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("workspace {} belongs to uid {}, and the sandbox user (host uid {}) "
                             "may not write there: give the directory to an ordinary user (the "
                             "sandbox then runs as that user), or use --ro-bind to read it",
                             ws.path, st.st_uid, ws.host_uid));
  }
  ASSIGN_OR_RETURN(ws.baseline_bytes, sys::DiskUsage(ws.fd.get()));
  return ws;
}

Result<std::optional<MountPlan>> Supervisor::Impl::PrepareMounts(const Spec& spec,
                                                                 const Workspace& ws) const {
  if (!isolated()) {
    return std::optional<MountPlan>();
  }
  MountInputs inputs;
  if (ws.fd) {
    // The directory already opened (and measured): the child must bind this very inode.
    ASSIGN_OR_RETURN(inputs.workspace, HostPathOf(ws.fd.get()));
  }
  for (const BindMount& bind : spec.ro_binds) {
    auto source = ResolveHostPath(bind.source);
    if (!source.ok()) {
      return std::move(source).error().WithContext("--ro-bind source");
    }
    inputs.ro_binds.push_back(std::move(source).value());
  }
  if (spec.network == NetworkMode::kHost) {
    if (auto resolv = ResolveHostPath("/etc/resolv.conf"); resolv.ok()) {
      inputs.resolv_conf = std::move(resolv).value();
    }
  }
  ASSIGN_OR_RETURN(MountPlan plan, MountPlan::Build(layout, spec, inputs));
  return std::optional<MountPlan>(std::move(plan));
}

ChildPlan Supervisor::Impl::MakeChildPlan(const Spec& spec, const RunPipes& pipes,
                                          const std::vector<int>& keep,
                                          const std::optional<MountPlan>& mounts,
                                          const CommandLine& cmd,
                                          const std::vector<ChildPlan::Rlimit>& rlimits) const {
  ChildPlan plan;
  plan.keep_fds = keep.data();
  plan.keep_fd_count = keep.size();
  plan.sync_fd = pipes.sync.read.get();
  plan.report_fd = pipes.report.write.get();
  plan.stdin_fd = pipes.child_stdin;
  plan.stdout_fd = pipes.out.write.get();
  plan.stderr_fd = pipes.err.write.get();
  plan.hostname = "sandbox";
  plan.cmdline_begin = cmdline_begin;
  plan.cmdline_size = cmdline_size;
  plan.isolated = isolated();
  plan.bring_up_loopback = isolated() && spec.network == NetworkMode::kNone;
  if (mounts) {
    plan.ops = mounts->ops().data();
    plan.op_count = mounts->ops().size();
  }
  plan.init_uid = running_as_root ? 0 : kSandboxUid;
  plan.init_gid = running_as_root ? 0 : kSandboxGid;
  plan.uid = isolated() ? kSandboxUid : ::geteuid();
  plan.gid = isolated() ? kSandboxGid : ::getegid();
  plan.can_setgroups = running_as_root;
  plan.last_capability = last_capability;
  plan.rlimits = rlimits.data();
  plan.rlimit_count = rlimits.size();
  plan.argv = cmd.argv_ptrs.data();
  plan.envp = cmd.env_ptrs.data();
  plan.exec_paths = cmd.exec_ptrs.data();
  plan.exec_path_count = cmd.exec_paths.size();
  plan.seccomp = isolated() && seccomp ? seccomp->program() : nullptr;
  return plan;
}

Result<pid_t> Supervisor::Impl::Clone(const Spec& spec, const ChildPlan& plan, const Cgroup* cgroup,
                                      int* pidfd) const {
  struct clone_args args {};
  args.flags = CLONE_PIDFD;
  if (isolated()) {
    args.flags |=
        CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    if (spec.network == NetworkMode::kNone) {
      args.flags |= CLONE_NEWNET;
    }
  }
  if (cgroup != nullptr && cgroup->version() == CgroupVersion::kV2) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup->dir_fd());
  }
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);  // NOLINT: the kernel's ABI
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof(args));  // NOLINT(google-runtime-int)
  if (pid == 0) {
    RunInit(plan);  // never returns
  }
  if (pid < 0) {
    return ErrnoError(isolated() ? "clone3 into new namespaces" : "clone3");
  }
  return static_cast<pid_t>(pid);
}

Status Supervisor::Impl::Release(pid_t pid, uid_t host_uid, gid_t host_gid, int sync_write,
                                 const std::function<Status()>& join_cgroup) const {
  char go = 1;
  if (isolated()) {
    RETURN_IF_ERROR(WriteIdMaps(pid, host_uid, host_gid));
  }
  // The child builds its root meanwhile; it starts the program only after the second byte.
  if (::write(sync_write, &go, 1) != 1) {
    return ErrnoError("write(sync pipe)");
  }
  RETURN_IF_ERROR(join_cgroup());
  if (::write(sync_write, &go, 1) != 1) {
    return ErrnoError("write(sync pipe)");
  }
  return OkStatus();
}

Result<RunResult> Supervisor::Impl::Run(const Spec& spec, const CancelToken* cancel) {
  RETURN_IF_ERROR(ValidateSpec(spec));
  if (!isolated()) {
    LOG_WARN(
        "running {} WITHOUT a sandbox (--no-sandbox): no namespaces, no seccomp, full "
        "access to this machine",
        spec.argv[0]);
  }
  // Everything the child needs is prepared here: between clone and execve it may not allocate.
  ASSIGN_OR_RETURN(Workspace ws, PrepareWorkspace(spec));
  ASSIGN_OR_RETURN(std::optional<MountPlan> mounts, PrepareMounts(spec, ws));
  if (warm_pool && mounts) {
    if (auto warm = RunWarm(spec, cancel, ws, *mounts)) {
      return std::move(*warm);
    }
  }
  CommandLine cmd = MakeCommandLine(spec);
  std::vector<ChildPlan::Rlimit> rlimits = MakeRlimits(spec.limits);
  ASSIGN_OR_RETURN(RunPipes pipes, MakePipes(FeedsStdin(spec)));
  std::vector<int> keep = ChildFds(pipes);
  ChildPlan plan = MakeChildPlan(spec, pipes, keep, mounts, cmd, rlimits);
  if (!isolated()) {
    plan.workdir = ws.path.c_str();
  }

  // cgroup v2: made before the clone, which starts the child inside it. v1: made while the
  // child builds its root (mkdir in three hierarchies and moving the child in take hundreds of
  // microseconds, and milliseconds now and then).
  std::optional<Cgroup> cgroup;
  const CgroupLimits limits{spec.limits.memory_bytes, spec.limits.max_pids, spec.limits.cpus};
  auto create_cgroup = [&]() -> Status {
    auto created = cgroups->Create(limits, spec.limits.cpus > 0);
    if (!created.ok()) {
      return std::move(created).error().WithContext("creating the run's cgroup");
    }
    cgroup.emplace(std::move(created).value());
    return OkStatus();
  };
  const bool cgroup_first = cgroups && cgroups->version() == CgroupVersion::kV2;
  if (cgroup_first) {
    RETURN_IF_ERROR(create_cgroup());
  }

  const Clock::time_point start = Clock::now();
  int pidfd = -1;
  Result<pid_t> pid = Clone(spec, plan, cgroup ? &*cgroup : nullptr, &pidfd);
  if (!pid.ok()) {
    return SetupErrorResult(isolated() ? "clone3 into new namespaces" : "clone3",
                            pid.error().sys_errno());
  }
  UniqueFd pidfd_owner(pidfd);
  pipes.sync.read.reset();
  pipes.report.write.reset();
  pipes.out.write.reset();
  pipes.err.write.reset();
  if (pipes.in) {
    pipes.in->read.reset();
  }
  Status released =
      Release(*pid, ws.host_uid, ws.host_gid, pipes.sync.write.get(), [&]() -> Status {
        if (!cgroups || cgroup_first) {
          return OkStatus();
        }
        RETURN_IF_ERROR(create_cgroup());
        return cgroup->Attach(*pid);
      });
  pipes.sync.write.reset();  // without both bytes, the child reads EOF and exits

  MonitorInputs monitor;
  monitor.spec = &spec;
  monitor.cancel = cancel;
  monitor.init_pid = *pid;
  monitor.pidfd = pidfd_owner.get();
  monitor.stdout_fd = std::move(pipes.out.read);
  monitor.stderr_fd = std::move(pipes.err.read);
  monitor.report_fd = std::move(pipes.report.read);
  if (pipes.in) {
    monitor.stdin_fd = std::move(pipes.in->write);
  }
  monitor.cgroup = cgroup ? &*cgroup : nullptr;
  monitor.workspace_fd = ws.fd.get();
  monitor.workspace_baseline_bytes = ws.baseline_bytes;
  monitor.isolated = isolated();
  monitor.start = start;
  RunResult result =
      Finish(spec, mounts ? &*mounts : nullptr, MonitorRun(std::move(monitor)), released);
  if (cgroup && reaper) {
    reaper->Dispose(std::move(*cgroup));
  }
  return result;
}

RunResult Supervisor::Impl::Finish(const Spec& spec, const MountPlan* mounts,
                                   MonitorResult monitored, const Status& released) const {
  RunResult result = std::move(monitored.result);
  if (!released.ok()) {
    RunResult failed =
        SetupErrorResult("prepare the child (id maps, cgroup)", released.error().sys_errno());
    failed.message = released.error().message();
    failed.wall_time = result.wall_time;
    return failed;
  }
  if (monitored.setup_failure) {
    int32_t step = monitored.setup_failure->step;
    RunResult failed = SetupErrorResult(step >= 0 && mounts != nullptr
                                            ? mounts->Describe(static_cast<size_t>(step))
                                            : StepIdName(static_cast<StepId>(step)),
                                        monitored.setup_failure->err);
    failed.wall_time = result.wall_time;
    return failed;
  }
  if (monitored.exec_errno != 0) {
    result.message =
        fmt::format("cannot run {}: {}", spec.argv[0],
                    monitored.exec_errno == ENOENT ? std::string("command not found in the sandbox")
                                                   : ErrnoDescription(monitored.exec_errno));
  }
  if (result.message.empty()) {
    result.message = DescribeOutcome(result, spec.limits);
  }
  return result;
}

Result<WarmSandbox> Supervisor::Impl::StartWarm() {
  Spec spec;  // the host-only part of the plan is the same for every spec
  MountInputs inputs;
  ASSIGN_OR_RETURN(MountPlan mounts, MountPlan::Build(layout, spec, inputs));
  ASSIGN_OR_RETURN(RunPipes pipes, MakePipes(/*feeds_stdin=*/true));
  std::vector<int> keep = ChildFds(pipes);
  CommandLine no_command;
  std::vector<ChildPlan::Rlimit> no_rlimits;
  ChildPlan plan = MakeChildPlan(spec, pipes, keep, std::nullopt, no_command, no_rlimits);
  plan.ops = mounts.ops().data();
  plan.op_count = mounts.late_begin();
  plan.warm = true;

  WarmSandbox warm;
  std::tie(warm.host_uid, warm.host_gid) = DefaultHostIds();
  if (cgroups) {
    ASSIGN_OR_RETURN(Cgroup cgroup, cgroups->Create({}, /*with_cpu=*/true));
    warm.cgroup.emplace(std::move(cgroup));
  }
  int pidfd = -1;
  ASSIGN_OR_RETURN(warm.pid, Clone(spec, plan, warm.cgroup ? &*warm.cgroup : nullptr, &pidfd));
  warm.pidfd.reset(pidfd);
  warm.request = std::move(pipes.sync.write);
  warm.report = std::move(pipes.report.read);
  warm.out = std::move(pipes.out.read);
  warm.err = std::move(pipes.err.read);
  warm.in = std::move(pipes.in->write);
  warm.early_op_count = mounts.late_begin();
  // The child's ends close here, when `pipes` goes out of scope.
  RETURN_IF_ERROR(Release(warm.pid, warm.host_uid, warm.host_gid, warm.request.get(), [&] {
    return warm.cgroup && warm.cgroup->version() == CgroupVersion::kV1
               ? warm.cgroup->Attach(warm.pid)
               : OkStatus();
  }));
  return warm;
}

std::optional<Result<RunResult>> Supervisor::Impl::RunWarm(const Spec& spec,
                                                           const CancelToken* cancel,
                                                           const Workspace& ws,
                                                           const MountPlan& mounts) {
  if (spec.network != NetworkMode::kNone ||
      std::make_pair(ws.host_uid, ws.host_gid) != DefaultHostIds()) {
    return std::nullopt;
  }
  CommandLine cmd = MakeCommandLine(spec);
  std::vector<ChildPlan::Rlimit> rlimits = MakeRlimits(spec.limits);
  ChildPlan late;
  late.late_ops = mounts.ops().data() + mounts.late_begin();
  late.late_op_count = mounts.ops().size() - mounts.late_begin();
  late.argv = cmd.argv_ptrs.data();
  late.envp = cmd.env_ptrs.data();
  late.exec_paths = cmd.exec_ptrs.data();
  late.exec_path_count = cmd.exec_paths.size();
  late.rlimits = rlimits.data();
  late.rlimit_count = rlimits.size();
  std::optional<std::string> request = EncodeLateRequest(late);
  if (!request) {
    return std::nullopt;  // too large for a warm init
  }
  std::optional<WarmSandbox> warm = warm_pool->Take();
  if (!warm || warm->early_op_count != mounts.late_begin()) {
    return std::nullopt;
  }
  if (warm->cgroup) {
    RETURN_IF_ERROR(warm->cgroup->SetLimits(
        {spec.limits.memory_bytes, spec.limits.max_pids, spec.limits.cpus}));
  }
  const Clock::time_point start = Clock::now();
  Status sent = OkStatus();
  for (std::string_view rest = *request; !rest.empty();) {
    ssize_t n = ::write(warm->request.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      sent = ErrnoError("write(warm sandbox request)");
      break;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  warm->request.reset();
  MonitorInputs monitor;
  monitor.spec = &spec;
  monitor.cancel = cancel;
  monitor.init_pid = warm->pid;
  monitor.pidfd = warm->pidfd.get();
  monitor.stdout_fd = std::move(warm->out);
  monitor.stderr_fd = std::move(warm->err);
  monitor.report_fd = std::move(warm->report);
  if (FeedsStdin(spec)) {
    monitor.stdin_fd = std::move(warm->in);
  } else {
    warm->in.reset();
  }
  monitor.cgroup = warm->cgroup ? &*warm->cgroup : nullptr;
  monitor.workspace_fd = ws.fd.get();
  monitor.workspace_baseline_bytes = ws.baseline_bytes;
  monitor.isolated = true;
  monitor.start = start;
  RunResult result = Finish(spec, &mounts, MonitorRun(std::move(monitor)), sent);
  warm->pidfd.reset();  // reaped by the monitor
  if (warm->cgroup && reaper) {
    reaper->Dispose(std::move(*warm->cgroup));
    warm->cgroup.reset();
  }
  return Result<RunResult>(std::move(result));
}

Supervisor::Supervisor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Supervisor::~Supervisor() = default;

Result<std::unique_ptr<Supervisor>> Supervisor::Create(const SupervisorOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->running_as_root = ::geteuid() == 0;
  impl->last_capability = ReadLastCapability();
  std::tie(impl->cmdline_begin, impl->cmdline_size) = FindOwnCommandLine();
  // A program that exits without reading its input must not kill the supervisor with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  auto cgroups = CgroupManager::Detect();
  if (cgroups.ok()) {
    impl->cgroups.emplace(std::move(cgroups).value());
  } else if (!options.unsandboxed) {
    return std::move(cgroups).error().WithContext(
        "the sandbox needs cgroups for its memory, process and CPU limits (run 'warden doctor')");
  }
  if (!options.unsandboxed) {
    ASSIGN_OR_RETURN(impl->layout, ProbeHostLayout());
    ASSIGN_OR_RETURN(SeccompProgram program, SeccompProgram::Build());
    impl->seccomp.emplace(std::move(program));
  }
  if (options.background_cleanup) {
    impl->reaper = std::make_unique<CgroupReaper>();
  }
  if (options.warm_sandboxes > 0 && !options.unsandboxed) {
    Impl* raw = impl.get();
    impl->warm_pool =
        std::make_unique<WarmPool>(options.warm_sandboxes, [raw] { return raw->StartWarm(); });
  }
  return std::unique_ptr<Supervisor>(new Supervisor(std::move(impl)));
}

Result<RunResult> Supervisor::Run(const Spec& spec, const CancelToken* cancel) {
  return impl_->Run(spec, cancel);
}

}  // namespace warden::sandbox
