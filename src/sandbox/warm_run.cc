// Warm sandboxes: building one ahead of time (StartWarm), and running a spec in one (RunWarm).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "sandbox/late_request.h"
#include "sandbox/supervisor_impl.h"

namespace warden::sandbox {

using Clock = std::chrono::steady_clock;

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
  plan.make_netns = false;  // cloned straight into one (no run is waiting), with loopback up
  plan.bring_up_loopback = true;

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
                                                           const CancelToken* cancel, Workspace& ws,
                                                           const MountPlan& mounts) {
  if (spec.network != NetworkMode::kNone ||
      std::make_pair(ws.host_uid, ws.host_gid) != DefaultHostIds()) {
    return std::nullopt;
  }
  const CommandLine cmd(spec);
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
  // The warm init reads the request at once; one that died (EPIPE) or does not read within a
  // second is dropped, and the run is built cold instead. A cancellation meanwhile still counts.
  ::fcntl(warm->request.get(), F_SETFL, O_NONBLOCK);
  for (std::string_view rest = *request; !rest.empty();) {
    ssize_t n = ::write(warm->request.get(), rest.data(), rest.size());
    if (n > 0) {
      rest.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    struct pollfd fds[2] = {{warm->request.get(), POLLOUT, 0},
                            {cancel != nullptr ? cancel->fd() : -1, POLLIN, 0}};
    if (n < 0 && errno == EAGAIN && ::poll(fds, 2, 1000) > 0 && fds[1].revents == 0 &&
        (fds[0].revents & POLLOUT) != 0) {
      continue;
    }
    if (cancel != nullptr && cancel->cancelled()) {
      break;  // the monitor reports the cancellation
    }
    return std::nullopt;
  }
  warm->request.reset();
  MonitorInputs monitor;
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
  monitor.start = start;
  RunResult result =
      Watch(spec, cancel, ws, &mounts, &warm->cgroup, std::move(monitor), OkStatus());
  warm->pidfd.reset();  // reaped by the monitor
  return Result<RunResult>(std::move(result));
}

}  // namespace warden::sandbox
