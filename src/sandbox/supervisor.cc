#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "base/log.h"
#include "sandbox/egress_run.h"
#include "sandbox/supervisor_impl.h"
#include "sys/fs.h"

namespace warden::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

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
  std::string_view rest = std::string_view{*stat}.substr(paren + 2);
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

}  // namespace

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
  plan.make_netns = isolated() && spec.network != NetworkMode::kHost;
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
    // A warm sandbox makes its network namespace here (off any run's path); a cold one on a
    // helper, in parallel with building its root.
    if (spec.network == NetworkMode::kNone && plan.warm) {
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
  RETURN_IF_ERROR(ValidateSpec(spec, isolated()));
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
  const CommandLine cmd(spec);
  std::vector<ChildPlan::Rlimit> rlimits = MakeRlimits(spec.limits);
  ASSIGN_OR_RETURN(RunPipes pipes, MakePipes(FeedsStdin(spec)));
  std::vector<int> keep = ChildFds(pipes);
  if (ws.mount && ws.mount->tree) {
    keep.push_back(ws.mount->tree.get());  // attached by init (MountOp::Kind::kAttach)
    std::sort(keep.begin(), keep.end());
  }
  std::unique_ptr<RunEgress> egress;
  if (spec.network == NetworkMode::kProxy) {
    ASSIGN_OR_RETURN(egress, RunEgress::Prepare());
    keep.push_back(egress->child_fd());
    std::sort(keep.begin(), keep.end());
  }
  ChildPlan plan = MakeChildPlan(spec, pipes, keep, mounts, cmd, rlimits);
  if (!isolated()) {
    plan.workdir = ws.path.c_str();
  }
  if (egress) {
    plan.proxy_socket_fd = egress->child_fd();
    plan.proxy_port = kEgressProxyPort;
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
  if (egress) {
    egress->CloseChildEnd();
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
  if (egress && released.ok()) {
    // Init sends the listener before it waits for the second byte; an init that failed sends
    // none and reports why on its own.
    if (Status started = egress->Start(spec); !started.ok()) {
      LOG_DEBUG("egress proxy not started: {}", started.error().ToString());
    }
  }

  MonitorInputs monitor;
  monitor.init_pid = *pid;
  monitor.pidfd = pidfd_owner.get();
  monitor.stdout_fd = std::move(pipes.out.read);
  monitor.stderr_fd = std::move(pipes.err.read);
  monitor.report_fd = std::move(pipes.report.read);
  if (pipes.in) {
    monitor.stdin_fd = std::move(pipes.in->write);
  }
  monitor.start = start;
  RunResult result =
      Watch(spec, cancel, ws, mounts ? &*mounts : nullptr, &cgroup, std::move(monitor), released);
  if (egress) {
    egress->Finish(result.stderr_data, spec.on_output);
  }
  return result;
}

RunResult Supervisor::Impl::Watch(const Spec& spec, const CancelToken* cancel, Workspace& ws,
                                  const MountPlan* mounts, std::optional<Cgroup>* cgroup,
                                  MonitorInputs monitor, const Status& released) {
  monitor.spec = &spec;
  monitor.cancel = cancel;
  monitor.cgroup = cgroup->has_value() ? &**cgroup : nullptr;
  monitor.workspace_fd = ws.fd.get();
  monitor.workspace_baseline_bytes = ws.baseline_bytes;
  monitor.workspace_watch = std::move(ws.watch);
  monitor.isolated = isolated();
  RunResult result = Finish(spec, mounts, MonitorRun(std::move(monitor)), released);
  if (cgroup->has_value() && reaper) {
    reaper->Dispose(std::move(**cgroup));
    cgroup->reset();
  }
  return result;
}

RunResult Supervisor::Impl::Finish(const Spec& spec, const MountPlan* mounts,
                                   MonitorResult monitored, const Status& released) const {
  RunResult result = std::move(monitored.result);
  // The child's own report first: when its setup failed it exits, and the supervisor's next write
  // to the sync pipe fails with EPIPE, which says nothing about the cause.
  if (monitored.setup_failure) {
    int32_t step = monitored.setup_failure->step;
    RunResult failed = SetupErrorResult(step >= 0 && mounts != nullptr
                                            ? mounts->Describe(static_cast<size_t>(step))
                                            : StepIdName(static_cast<StepId>(step)),
                                        monitored.setup_failure->err);
    failed.wall_time = result.wall_time;
    return failed;
  }
  if (!released.ok()) {
    RunResult failed =
        SetupErrorResult("prepare the child (id maps, cgroup)", released.error().sys_errno());
    failed.message = released.error().message();
    failed.wall_time = result.wall_time;
    return failed;
  }
  if (monitored.exec_errno != 0) {
    result.exec_errno = monitored.exec_errno;
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

Supervisor::Supervisor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Supervisor::~Supervisor() = default;

Result<std::unique_ptr<Supervisor>> Supervisor::Create(const SupervisorOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->running_as_root = ::geteuid() == 0;
  impl->last_capability = ReadLastCapability();
  std::tie(impl->cmdline_begin, impl->cmdline_size) = FindOwnCommandLine();
  // A program that exits without reading its input must not kill the supervisor with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);  // NOLINT(cert-err33-c): fails only for an invalid signal
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
  impl->SetUpWorkspaceRoot();
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

const std::string& Supervisor::workspace_mounting() const {
  return impl_->workspace_mounting;
}

bool Supervisor::hides_workspace_paths() const {
  return !impl_->workspace_root.empty();
}

}  // namespace warden::sandbox
