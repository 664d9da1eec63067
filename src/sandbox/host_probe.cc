#include "sandbox/host_probe.h"

#include <linux/landlock.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "sandbox/cgroup.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"
#include "sys/fs.h"

namespace warden::sandbox {
namespace {

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

std::string ReadSetting(const std::string& path) {
  auto text = sys::ReadFile(path);
  return text.ok() ? Trimmed(*text) : "";
}

// Tries the exact namespaces a run uses, in a child that exits at once.
HostCheck CheckNamespaces() {
  HostCheck check{"namespaces", HostCheck::Level::kOk, ""};
  struct clone_args args {};
  args.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
               CLONE_NEWCGROUP | CLONE_NEWNET;
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof(args));  // NOLINT(google-runtime-int)
  if (pid == 0) {
    ::_exit(0);
  }
  if (pid < 0) {
    int err = errno;
    check.level = HostCheck::Level::kFail;
    check.detail = fmt::format(
        "cannot create user, PID, mount, IPC, UTS, cgroup and network namespaces: {}. {}",
        ErrnoDescription(err),
        err == EPERM || err == ENOSPC
            ? "Enable unprivileged user namespaces (sysctl user.max_user_namespaces, "
              "kernel.unprivileged_userns_clone=1, kernel.apparmor_restrict_unprivileged_userns=0) "
              "or run Warden as root."
            : "The kernel may be too old (Linux 5.12 or newer is needed).");
    return check;
  }
  int status = 0;
  ::waitpid(static_cast<pid_t>(pid), &status, 0);
  check.detail = "user, PID, mount, network, IPC, UTS and cgroup namespaces: available";
  std::string max = ReadSetting("/proc/sys/user/max_user_namespaces");
  if (!max.empty()) {
    check.detail += fmt::format(" (user.max_user_namespaces = {})", max);
  }
  return check;
}

HostCheck CheckCgroups(std::string* used) {
  HostCheck check{"cgroups", HostCheck::Level::kOk, ""};
  auto mounts = FindCgroupMounts();
  std::string seen;
  if (mounts.ok()) {
    seen = fmt::format(
        "cgroup2 {}; v1 hierarchies: {}", mounts->v2.empty() ? "not mounted" : "at " + mounts->v2,
        mounts->v1_dirs.empty() ? "none" : fmt::format("{}", fmt::join(mounts->v1_dirs, " ")));
  }
  auto manager = CgroupManager::Detect();
  if (!manager.ok()) {
    check.level = HostCheck::Level::kFail;
    check.detail = fmt::format(
        "{} ({}). Warden needs the memory and pids controllers, on cgroup "
        "v2 (a delegated subtree) or v1; run as root or under a systemd "
        "unit with Delegate=yes.",
        manager.error().message(), seen);
    return check;
  }
  *used = manager->description();
  check.detail = fmt::format("using {} ({})", manager->description(), seen);
  // The files a run's cgroup has differ between kernels: a real one says which fallbacks apply.
  auto probe = manager->Create(CgroupLimits{});
  if (!probe.ok()) {
    check.level = HostCheck::Level::kFail;
    check.detail += fmt::format("; but a run's cgroup cannot be made: {}", probe.error().message());
    return check;
  }
  check.detail += "; " + probe->Mechanisms();
  return check;
}

HostCheck CheckSeccomp(size_t* instructions) {
  HostCheck check{"seccomp", HostCheck::Level::kOk, ""};
  if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
    check.level = HostCheck::Level::kFail;
    check.detail = "the kernel has no seccomp (CONFIG_SECCOMP_FILTER)";
    return check;
  }
  auto program = SeccompProgram::Build();
  if (!program.ok()) {
    check.level = HostCheck::Level::kFail;
    check.detail = program.error().message();
    return check;
  }
  *instructions = program->instruction_count();
  std::string actions = ReadSetting("/proc/sys/kernel/seccomp/actions_avail");
  check.detail = fmt::format("embedded filter of {} BPF instructions; kernel actions: {}",
                             *instructions, actions.empty() ? "unknown" : actions);
  return check;
}

HostCheck CheckLandlock() {
  HostCheck check{"landlock", HostCheck::Level::kInfo, ""};
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0,  // NOLINT(google-runtime-int)
                       LANDLOCK_CREATE_RULESET_VERSION);
  check.detail = abi > 0 ? fmt::format(
                               "available (ABI {}); not needed: the sandbox's own root "
                               "already hides the host's files",
                               abi)
                         : "not available; not needed by the sandbox";
  return check;
}

HostCheck CheckAppArmor() {
  HostCheck check{"apparmor", HostCheck::Level::kInfo, ""};
  std::string enabled = ReadSetting("/sys/module/apparmor/parameters/enabled");
  std::string restrict_userns =
      ReadSetting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  if (enabled != "Y") {
    check.detail = "not enabled";
    return check;
  }
  check.detail = "enabled";
  if (restrict_userns == "1") {
    check.detail += "; restricts unprivileged user namespaces";
    if (::geteuid() != 0) {
      check.level = HostCheck::Level::kWarn;
      check.detail += " (run as root, or add an AppArmor profile for warden with 'userns,')";
    }
  }
  return check;
}

HostCheck CheckKernel() {
  struct utsname u {};
  ::uname(&u);
  HostCheck check{"kernel", HostCheck::Level::kOk,
                  fmt::format("Linux {} {}", u.release, u.machine)};
  int major = 0;
  int minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
      (major < 5 || (major == 5 && minor < 12))) {
    check.level = HostCheck::Level::kFail;
    check.detail +=
        ": Warden needs Linux 5.12 or newer (clone3 into a cgroup, close_range, mount_setattr)";
  }
  return check;
}

}  // namespace

HostCheck CheckWorkspaceMounting() {
  HostCheck check{"workspaces", HostCheck::Level::kOk, ""};
  auto root = sys::TempDir::Create("warden-doctor-");
  SupervisorOptions options;
  if (!root.ok() || (::geteuid() == 0 && ::chown(root->path().c_str(), options.root_sandbox_uid,
                                                 options.root_sandbox_uid) != 0)) {
    check.level = HostCheck::Level::kWarn;
    check.detail = "cannot make a temporary directory to check overlays in";
    return check;
  }
  options.workspace_root = root->path();
  auto supervisor = Supervisor::Create(options);
  if (!supervisor.ok()) {
    check.level = HostCheck::Level::kFail;
    check.detail = supervisor.error().message();
    return check;
  }
  std::string where = root->path().substr(0, root->path().rfind('/'));
  if ((*supervisor)->hides_workspace_paths()) {
    check.detail = fmt::format(
        "overlays: a sandbox sees no workspace's host path (checked in {}; warden serve checks "
        "its data directory at start and logs the outcome)",
        where);
  } else {
    check.level = HostCheck::Level::kWarn;
    check.detail = fmt::format("warden serve would use {}", (*supervisor)->workspace_mounting());
  }
  return check;
}

std::string_view HostCheckLevelName(HostCheck::Level level) {
  switch (level) {
    case HostCheck::Level::kOk:
      return "ok";
    case HostCheck::Level::kInfo:
      return "info";
    case HostCheck::Level::kWarn:
      return "warn";
    case HostCheck::Level::kFail:
      return "FAIL";
  }
  return "?";
}

HostReport ProbeHost() {
  HostReport report;
  std::string cgroups_used;
  size_t seccomp_instructions = 0;
  report.checks.push_back(CheckKernel());
  report.checks.push_back(CheckNamespaces());
  report.checks.push_back(CheckCgroups(&cgroups_used));
  report.checks.push_back(CheckSeccomp(&seccomp_instructions));
  report.checks.push_back(CheckLandlock());
  report.checks.push_back(CheckAppArmor());
  report.checks.push_back(
      {"running as", HostCheck::Level::kInfo,
       ::geteuid() == 0 ? "root: the sandbox user maps to an unprivileged host uid"
                        : fmt::format("uid {}: the sandbox user maps to this uid", ::geteuid())});
  report.full_isolation = true;
  for (const HostCheck& check : report.checks) {
    if (check.level == HostCheck::Level::kFail) {
      report.full_isolation = false;
    }
  }
  if (report.full_isolation) {
    report.isolation = fmt::format(
        "full: user, PID, mount, network, IPC, UTS and cgroup namespaces; a fresh read-only root; "
        "{}; seccomp ({} instructions); no capabilities; no_new_privs; rlimits",
        cgroups_used, seccomp_instructions);
  } else {
    report.isolation =
        "none: Warden refuses to run programs on this host (fix the failures above, or pass "
        "--no-sandbox to run without isolation)";
  }
  return report;
}

}  // namespace warden::sandbox
