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
#include <optional>

#include <fmt/format.h>

#include "base/log.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/mount_plan.h"
#include "sandbox/run_monitor.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"
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
  std::vector<std::string> env = {
      fmt::format("PATH={}", kDefaultPath), "HOME=/tmp", "LANG=C.UTF-8", "TMPDIR=/tmp",
      "USER=sandbox", "LOGNAME=sandbox", "PWD=/workspace"};
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

std::vector<std::string> ExecPaths(const std::string& program, const std::vector<std::string>& env) {
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

int ReadLastCapability() {
  auto text = sys::ReadFile("/proc/sys/kernel/cap_last_cap");
  return text.ok() ? std::atoi(text->c_str()) : 63;  // NOLINT: a number the kernel wrote
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

  Result<RunResult> Run(const Spec& spec, const CancelToken* cancel);

 private:
  // Host uid/gid of the sandbox user for a workspace owned by `owner`.
  std::pair<uid_t, gid_t> SandboxHostIds(const struct stat& workspace) const;
  Status WriteIdMaps(pid_t pid, uid_t uid, gid_t gid) const;
};

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
    return sys::WriteExistingFile(
        proc + "gid_map", fmt::format("0 {} 1\n{} {} 1\n", root_uid, kSandboxGid, gid));
  }
  RETURN_IF_ERROR(sys::WriteExistingFile(proc + "setgroups", "deny"));
  RETURN_IF_ERROR(sys::WriteExistingFile(proc + "uid_map", fmt::format("{} {} 1\n", kSandboxUid, uid)));
  return sys::WriteExistingFile(proc + "gid_map", fmt::format("{} {} 1\n", kSandboxGid, gid));
}

Result<RunResult> Supervisor::Impl::Run(const Spec& spec, const CancelToken* cancel) {
  const Clock::time_point entered = Clock::now();
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Error(ErrorCode::kInvalidArgument, "no program to run");
  }
  if (!spec.workspace.empty() && !IsSafeAbsolutePath(spec.workspace)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("workspace '{}' must be an absolute path without '..'", spec.workspace));
  }
  for (const BindMount& bind : spec.ro_binds) {
    if (!IsSafeAbsolutePath(bind.source) || !IsSafeAbsolutePath(bind.target) ||
        bind.target == "/") {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("--ro-bind {}:{}: both paths must be absolute, without '..', and "
                               "the target must not be /",
                               bind.source, bind.target));
    }
  }
  const bool isolated = !options.unsandboxed;
  if (!isolated) {
    LOG_WARN("running {} WITHOUT a sandbox (--no-sandbox): no namespaces, no seccomp, full "
             "access to this machine", spec.argv[0]);
  }

  // The workspace: the caller's directory, or a fresh one removed when the run ends.
  std::optional<sys::TempDir> temp_workspace;
  std::string workspace = spec.workspace;
  if (workspace.empty()) {
    ASSIGN_OR_RETURN(temp_workspace, sys::TempDir::Create("warden-ws-"));
    workspace = temp_workspace->path();
  }
  UniqueFd workspace_fd(::open(workspace.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!workspace_fd) {
    return Error::FromErrno(fmt::format("workspace {}", workspace), errno);
  }
  struct stat workspace_st {};
  if (::fstat(workspace_fd.get(), &workspace_st) != 0) {
    return ErrnoError("fstat(" + workspace + ")");
  }
  auto [host_uid, host_gid] = SandboxHostIds(workspace_st);
  if (temp_workspace && running_as_root &&
      ::fchown(workspace_fd.get(), host_uid, host_gid) != 0) {
    return ErrnoError("chown(" + workspace + ")");
  }
  uint64_t workspace_baseline = 0;
  if (!temp_workspace) {
    ASSIGN_OR_RETURN(workspace_baseline, sys::DiskUsage(workspace_fd.get()));
  }

  // Everything the child needs, prepared here: it may not allocate.
  MountInputs inputs;
  std::optional<MountPlan> mount_plan;
  if (isolated) {
    ASSIGN_OR_RETURN(inputs.workspace, ResolveHostPath(workspace));
    for (const BindMount& bind : spec.ro_binds) {
      auto source = ResolveHostPath(bind.source);
      if (!source.ok()) {
        return std::move(source).error().WithContext("--ro-bind source");
      }
      inputs.ro_binds.push_back(std::move(source).value());
    }
    if (spec.network == NetworkMode::kHost) {
      auto resolv = ResolveHostPath("/etc/resolv.conf");
      if (resolv.ok()) {
        inputs.resolv_conf = std::move(resolv).value();
      }
    }
    ASSIGN_OR_RETURN(mount_plan, MountPlan::Build(layout, spec, inputs));
  }

  std::vector<std::string> env = BuildEnv(spec.env);
  std::vector<std::string> exec_paths = ExecPaths(spec.argv[0], env);
  auto pointers = [](const std::vector<std::string>& strings) {
    std::vector<const char*> p;
    p.reserve(strings.size() + 1);
    for (const std::string& s : strings) {
      p.push_back(s.c_str());
    }
    p.push_back(nullptr);
    return p;
  };
  std::vector<const char*> argv_ptrs = pointers(spec.argv);
  std::vector<const char*> env_ptrs = pointers(env);
  std::vector<const char*> exec_ptrs = pointers(exec_paths);

  const Limits& limits = spec.limits;
  std::vector<ChildPlan::Rlimit> rlimits = {{RLIMIT_CORE, {0, 0}}};
  if (limits.disk_bytes > 0) {
    rlimits.push_back({RLIMIT_FSIZE, {limits.disk_bytes, limits.disk_bytes}});
  }
  if (limits.open_files > 0) {
    rlimits.push_back({RLIMIT_NOFILE, {limits.open_files, limits.open_files}});
  }
  if (limits.cpu_time.count() > 0) {
    // Per process, a backstop to the cgroup's total: SIGXCPU at the limit, SIGKILL a second later.
    auto seconds = static_cast<rlim_t>(std::ceil(static_cast<double>(limits.cpu_time.count()) / 1000));
    rlimits.push_back({RLIMIT_CPU, {seconds, seconds + 1}});
  }

  ASSIGN_OR_RETURN(Pipe sync, MakePipe());
  ASSIGN_OR_RETURN(Pipe report, MakePipe());
  ASSIGN_OR_RETURN(Pipe out, MakePipe());
  ASSIGN_OR_RETURN(Pipe err, MakePipe());
  std::optional<Pipe> in;
  int child_stdin = spec.stdin_fd;
  if (child_stdin < 0) {
    ASSIGN_OR_RETURN(in, MakePipe());
    child_stdin = in->read.get();
    if (spec.stdin_data.empty()) {
      in->write.reset();
    } else {
      ::fcntl(in->write.get(), F_SETFL, O_NONBLOCK);
    }
  }
  ::fcntl(out.read.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err.read.get(), F_SETFL, O_NONBLOCK);

  std::vector<int> keep = {sync.read.get(), report.write.get(), child_stdin, out.write.get(),
                           err.write.get()};
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());

  ChildPlan plan;
  plan.keep_fds = keep.data();
  plan.keep_fd_count = keep.size();
  plan.sync_fd = sync.read.get();
  plan.report_fd = report.write.get();
  plan.stdin_fd = child_stdin;
  plan.stdout_fd = out.write.get();
  plan.stderr_fd = err.write.get();
  plan.hostname = "sandbox";
  plan.bring_up_loopback = isolated && spec.network == NetworkMode::kNone;
  plan.isolated = isolated;
  if (mount_plan) {
    plan.ops = mount_plan->ops().data();
    plan.op_count = mount_plan->ops().size();
  }
  plan.init_uid = running_as_root ? 0 : kSandboxUid;
  plan.init_gid = running_as_root ? 0 : kSandboxGid;
  plan.uid = isolated ? kSandboxUid : ::geteuid();
  plan.gid = isolated ? kSandboxGid : ::getegid();
  plan.can_setgroups = running_as_root;
  plan.last_capability = last_capability;
  plan.rlimits = rlimits.data();
  plan.rlimit_count = rlimits.size();
  plan.workdir = isolated ? "/workspace" : workspace.c_str();
  plan.argv = argv_ptrs.data();
  plan.envp = env_ptrs.data();
  plan.exec_paths = exec_ptrs.data();
  plan.exec_path_count = exec_paths.size();
  plan.seccomp = isolated && seccomp ? seccomp->program() : nullptr;

  const Clock::time_point before_cgroup = Clock::now();
  std::optional<Cgroup> cgroup;
  if (cgroups) {
    auto created = cgroups->Create({limits.memory_bytes, limits.max_pids, limits.cpus});
    if (!created.ok()) {
      return std::move(created).error().WithContext("creating the run's cgroup");
    }
    cgroup.emplace(std::move(created).value());
  }

  struct clone_args args {};
  int pidfd = -1;
  args.flags = CLONE_PIDFD;
  if (isolated) {
    args.flags |= CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
                  CLONE_NEWCGROUP;
    if (spec.network == NetworkMode::kNone) {
      args.flags |= CLONE_NEWNET;
    }
  }
  if (cgroup && cgroup->version() == CgroupVersion::kV2) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup->dir_fd());
  }
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);  // NOLINT: the kernel's ABI
  args.exit_signal = SIGCHLD;

  Clock::time_point start = Clock::now();
  long pid = ::syscall(SYS_clone3, &args, sizeof(args));  // NOLINT(google-runtime-int)
  if (pid == 0) {
    RunInit(plan);  // never returns
  }
  if (pid < 0) {
    RunResult result;
    result.outcome = Outcome::kSetupError;
    result.setup_step = isolated ? "clone3 into new namespaces" : "clone3";
    result.setup_errno = errno;
    result.message = Error::FromErrno(result.setup_step, errno).message();
    return result;
  }
  UniqueFd pidfd_owner(pidfd);
  sync.read.reset();
  report.write.reset();
  out.write.reset();
  err.write.reset();
  if (in) {
    in->read.reset();
  }

  // The child waits on `sync` until its id maps and cgroup are in place.
  Status prepared = OkStatus();
  if (isolated) {
    prepared = WriteIdMaps(static_cast<pid_t>(pid), host_uid, host_gid);
  }
  const Clock::time_point mapped = Clock::now();
  if (prepared.ok() && cgroup && cgroup->version() == CgroupVersion::kV1) {
    prepared = cgroup->Attach(static_cast<pid_t>(pid));
  }
  const Clock::time_point attached = Clock::now();
  if (prepared.ok()) {
    char go = 1;
    if (::write(sync.write.get(), &go, 1) != 1) {
      prepared = ErrnoError("write(sync pipe)");
    }
  }
  sync.write.reset();  // without the go byte, the child sees EOF and exits

  MonitorInputs monitor;
  monitor.spec = &spec;
  monitor.cancel = cancel;
  monitor.init_pid = static_cast<pid_t>(pid);
  monitor.pidfd = pidfd_owner.get();
  monitor.stdout_fd = std::move(out.read);
  monitor.stderr_fd = std::move(err.read);
  monitor.report_fd = std::move(report.read);
  if (in) {
    monitor.stdin_fd = std::move(in->write);
  }
  monitor.cgroup = cgroup ? &*cgroup : nullptr;
  monitor.workspace_fd = workspace_fd.get();
  monitor.workspace_baseline_bytes = workspace_baseline;
  monitor.isolated = isolated;
  monitor.start = start;
  const Clock::time_point launched = Clock::now();
  MonitorResult monitored = MonitorRun(std::move(monitor));
  const Clock::time_point finished = Clock::now();
  RunResult result = std::move(monitored.result);

  if (!prepared.ok()) {
    result.outcome = Outcome::kSetupError;
    result.setup_step = "prepare the child (id maps, cgroup)";
    result.setup_errno = prepared.error().sys_errno();
    result.message = prepared.error().message();
  } else if (monitored.setup_failure) {
    int32_t step = monitored.setup_failure->step;
    result.setup_step = step >= 0 && mount_plan ? mount_plan->Describe(static_cast<size_t>(step))
                                                : StepIdName(static_cast<StepId>(step));
    result.setup_errno = monitored.setup_failure->err;
    result.message = fmt::format("sandbox setup failed at '{}': {}", result.setup_step,
                                 ErrnoDescription(result.setup_errno));
  } else if (monitored.exec_errno != 0) {
    result.message = fmt::format("cannot run {}: {}", spec.argv[0],
                                 monitored.exec_errno == ENOENT
                                     ? std::string("command not found in the sandbox")
                                     : ErrnoDescription(monitored.exec_errno));
  }
  if (result.message.empty()) {
    result.message = DescribeOutcome(result, limits);
  }
  auto us = [](auto d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); };
  LOG_DEBUG("run {}: prepare {} us (cgroup {} us), clone+maps {} us, attach {} us, run {} us "
            "(program {} us)",
            spec.argv[0], us(start - entered), us(start - before_cgroup), us(mapped - start),
            us(attached - mapped), us(finished - launched), result.wall_time.count());
  return result;
}

Supervisor::Supervisor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Supervisor::~Supervisor() = default;

Result<std::unique_ptr<Supervisor>> Supervisor::Create(const SupervisorOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->running_as_root = ::geteuid() == 0;
  impl->last_capability = ReadLastCapability();
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
  return std::unique_ptr<Supervisor>(new Supervisor(std::move(impl)));
}

Result<RunResult> Supervisor::Run(const Spec& spec, const CancelToken* cancel) {
  auto begin = Clock::now();
  auto result = impl_->Run(spec, cancel);
  LOG_DEBUG("run total {} us", std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - begin).count());
  return result;
}

}  // namespace warden::sandbox
