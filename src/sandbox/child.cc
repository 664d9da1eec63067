// Runs in the child processes of a sandbox: only async-signal-safe system calls from here on.
#include "sandbox/child.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sandbox/child_mounts.h"
#include "sandbox/fd_passing.h"
#include "sandbox/late_request.h"

namespace warden::sandbox {
namespace {

void Report(int fd, ChildReport::Kind kind, int32_t step, int32_t err, int32_t status) {
  ChildReport report{kind, step, err, status};
  // A failed write cannot be reported anywhere; the parent then sees the child exit unannounced.
  while (::write(fd, &report, sizeof(report)) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void Fail(const ChildPlan& plan, int32_t step) {
  Report(plan.report_fd, ChildReport::Kind::kSetupFailed, step, errno, 0);
  ::_exit(125);
}

[[noreturn]] void Fail(const ChildPlan& plan, StepId step) {
  Fail(plan, static_cast<int32_t>(step));
}

// Closes every inherited descriptor except the sorted `keep` list: the supervisor is
// multi-threaded, so the clone may have copied descriptors of other runs.
bool CloseOtherFds(const int* keep, size_t count) {
  unsigned next = 0;
  for (size_t i = 0; i < count; ++i) {
    auto fd = static_cast<unsigned>(keep[i]);
    if (fd > next && ::syscall(SYS_close_range, next, fd - 1, 0) != 0) {
      return false;
    }
    next = fd + 1;
  }
  return ::syscall(SYS_close_range, next, ~0U, 0) == 0;
}

// Handlers, ignored signals and the blocked mask of the supervisor (SIGPIPE is ignored there) must
// not reach init, which as pid 1 would accept any handled signal, nor the program.
void ResetSignals() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::sigaction(sig, &action, nullptr);  // fails harmlessly for the C library's own signals
    }
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // NOLINT(concurrency-mt-unsafe): one thread here
}

// Waits for one byte from the supervisor. Without it (the supervisor gave up on the run, or
// died) there is nobody to report to: exit.
void WaitForSupervisor(int fd) {
  char byte = 0;
  ssize_t n;
  do {
    n = ::read(fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    ::_exit(125);
  }
}

// The raw system call: glibc's setresuid() & co. believe the supervisor's other threads still
// exist in this process and wait forever for them to change their credentials too.
long SetIds(long call, unsigned id) {  // NOLINT(google-runtime-int)
  return ::syscall(call, id, id, id);
}

bool BringUpLoopback() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  struct ifreq request {};
  std::memcpy(request.ifr_name, "lo", 3);
  bool ok = ::ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  if (ok) {
    request.ifr_flags =
        static_cast<decltype(request.ifr_flags)>(request.ifr_flags | IFF_UP | IFF_RUNNING);
    ok = ::ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  }
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

// Starts a process that creates a network namespace with loopback up and, when asked, sends it
// (as a descriptor) on the socket whose other end this returns; then waits to be killed. Writes
// its pid to *helper.
int StartNetworkHelper(pid_t* helper) {
  int pair[2];
  // SEQPACKET: a helper that dies reads as end-of-file, never as a wait for ever.
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return -1;
  }
  long pid = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);  // NOLINT: fork
  if (pid == 0) {
    unsigned char err = 0;
    int ns = -1;
    if (::unshare(CLONE_NEWNET) != 0 || !BringUpLoopback()) {
      err = static_cast<unsigned char>(errno != 0 ? errno : EIO);
    }
    // Init is remaking the file system under us: open /proc/self only once it says it is done.
    unsigned char go = 0;
    while (::recv(pair[1], &go, 1, 0) < 0 && errno == EINTR) {
    }
    if (err == 0 && (ns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
      err = static_cast<unsigned char>(errno != 0 ? errno : EIO);
    }
    (void)SendByteAndFd(pair[1], err, ns);
    for (;;) {
      ::pause();
    }
  }
  ::close(pair[1]);
  if (pid < 0) {
    ::close(pair[0]);
    return -1;
  }
  *helper = static_cast<pid_t>(pid);
  return pair[0];
}

// Joins the network namespace the helper sends, and ends the helper. Called once the run's /proc
// is in place.
bool JoinNetwork(pid_t helper, int socket_fd) {
  unsigned char err = 0;
  if (::send(socket_fd, &err, 1, MSG_NOSIGNAL) != 1) {
    err = EPIPE;  // the helper is gone
  }
  int ns = -1;
  (void)ReceiveByteAndFd(socket_fd, &err, &ns);
  ::close(socket_fd);
  bool ok = err == 0 && ns >= 0 && ::setns(ns, CLONE_NEWNET) == 0;
  int saved = ok ? 0 : (err != 0 ? err : (errno != 0 ? errno : EIO));
  if (ns >= 0) {
    ::close(ns);
  }
  ::kill(helper, SIGKILL);
  ::waitpid(helper, nullptr, 0);
  errno = saved;
  return ok;
}

// Listens on 127.0.0.1:port in the network namespace init is in now, and sends the listening
// socket to the supervisor, which serves the run's egress proxy on it from outside.
bool SendProxyListener(int socket_fd, uint16_t port) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in address {};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = listener >= 0 &&
            ::bind(listener, reinterpret_cast<struct sockaddr*>(&address),  // NOLINT: the ABI
                   sizeof(address)) == 0 &&
            ::listen(listener, SOMAXCONN) == 0;
  if (ok) {
    ok = SendByteAndFd(socket_fd, 0, listener);
  }
  int saved = errno;
  if (listener >= 0) {
    ::close(listener);
  }
  ::close(socket_fd);
  errno = saved;
  return ok;
}

// Drops every capability: bounding set, ambient set, and (after the uid change) the permitted,
// effective and inheritable sets. Locks the securebits so that nothing can bring them back.
bool DropBoundingSet(const ChildPlan& plan) {
  for (int cap = 0; cap <= plan.last_capability; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return false;
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    return false;
  }
  unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |  // NOLINT(google-runtime-int)
                       SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                       SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  return ::prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) == 0;
}

bool ClearCapabilitySets() {
  struct __user_cap_header_struct header {};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  struct __user_cap_data_struct data[2] = {};
  return ::syscall(SYS_capset, &header, data) == 0;
}

// The program process: a vfork-style child of init sharing its memory until execve.
[[noreturn]] void ExecProgram(const ChildPlan& plan) {
  if (::setsid() < 0) {
    Fail(plan, StepId::kSetsid);
  }
  if (::dup2(plan.stdin_fd, 0) < 0 || ::dup2(plan.stdout_fd, 1) < 0 ||
      ::dup2(plan.stderr_fd, 2) < 0) {
    Fail(plan, StepId::kStdio);
  }
  // Only 0, 1 and 2 may cross into the program: everything else closes at execve.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    Fail(plan, StepId::kCloseFds);
  }
  if (plan.isolated) {
    if (plan.can_setgroups && ::syscall(SYS_setgroups, 0, nullptr) != 0) {
      Fail(plan, StepId::kSetGroups);
    }
    if (SetIds(SYS_setresgid, plan.gid) != 0) {
      Fail(plan, StepId::kSetGid);
    }
    if (!DropBoundingSet(plan)) {
      Fail(plan, StepId::kDropCapabilities);
    }
    if (SetIds(SYS_setresuid, plan.uid) != 0) {
      Fail(plan, StepId::kSetUid);
    }
    if (!ClearCapabilitySets()) {
      Fail(plan, StepId::kDropCapabilities);
    }
  }
  for (size_t i = 0; i < plan.rlimit_count; ++i) {
    if (::setrlimit(static_cast<__rlimit_resource>(plan.rlimits[i].resource),
                    &plan.rlimits[i].value) != 0) {
      Fail(plan, StepId::kRlimits);
    }
  }
  // What the program creates is its own and the service's, not every host user's: files in a
  // workspace outlive the run on the host.
  ::umask(077);
  if (::chdir(plan.workdir) != 0) {
    Fail(plan, StepId::kChdir);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    Fail(plan, StepId::kNoNewPrivs);
  }
  // Seccomp last: from here on only execve itself must be allowed.
  if (plan.seccomp != nullptr &&
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, plan.seccomp, 0, 0) != 0) {
    Fail(plan, StepId::kSeccomp);
  }
  int err = ENOENT;
  for (size_t i = 0; i < plan.exec_path_count; ++i) {
    ::execve(plan.exec_paths[i], const_cast<char* const*>(plan.argv),  // NOLINT
             const_cast<char* const*>(plan.envp));                     // NOLINT
    // Keep the most telling error: EACCES (found, not runnable) beats ENOENT of later entries.
    if (errno != ENOENT || err == ENOENT) {
      err = errno;
    }
  }
  Report(plan.report_fd, ChildReport::Kind::kExecFailed, 0, err, 0);
  ::_exit(err == ENOENT ? 127 : 126);
}

int ExecProgramTrampoline(void* arg) {
  ExecProgram(*static_cast<const ChildPlan*>(arg));
}

// Stack of the program process between its clone and its execve. Each init process is a separate
// copy of the supervisor's memory, so one static buffer serves every run.
alignas(64) char program_stack[64 * 1024];

}  // namespace

const char* StepIdName(StepId step) {
  switch (step) {
    case StepId::kProxyListener:
      return "listen for the egress proxy";
    case StepId::kCloseFds:
      return "close inherited descriptors";
    case StepId::kHostname:
      return "sethostname";
    case StepId::kMakePrivate:
      return "make mounts private";
    case StepId::kLoopback:
      return "bring up loopback";
    case StepId::kRemountRootReadOnly:
      return "remount / read-only";
    case StepId::kStartProgram:
      return "start the program";
    case StepId::kStdio:
      return "set up stdin/stdout/stderr";
    case StepId::kSetGroups:
      return "setgroups";
    case StepId::kSetGid:
      return "setresgid";
    case StepId::kDropCapabilities:
      return "drop capabilities";
    case StepId::kSetUid:
      return "setresuid";
    case StepId::kRlimits:
      return "setrlimit";
    case StepId::kChdir:
      return "chdir to the working directory";
    case StepId::kNoNewPrivs:
      return "set no_new_privs";
    case StepId::kSeccomp:
      return "install the seccomp filter";
    case StepId::kSetsid:
      return "setsid";
    case StepId::kParentDeathSignal:
      return "set the parent-death signal";
    case StepId::kInitIds:
      return "set init's uid and gid";
    case StepId::kReceiveRequest:
      return "receive the run from the supervisor";
    case StepId::kNetwork:
      return "create the network namespace";
    case StepId::kCgroupNamespace:
      return "create the cgroup namespace";
  }
  return "unknown step";
}

namespace {

// Init's own state before it builds anything: ids, the parent-death signal, the wiped command line.
void PrepareInit(const ChildPlan& plan) {
  // Keep the program (same uid as init when Warden is not root) out of init's memory and fds.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (!plan.isolated) {
    // Without a PID namespace, orphans of the run must still come back to init to be reaped.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  }
  if (plan.isolated) {
    // Until now init ran with the host ids it was cloned with, which its user namespace does not
    // map: become the mapped root (or the sandbox user) so that files it creates have an owner.
    if (SetIds(SYS_setresgid, plan.init_gid) != 0 || SetIds(SYS_setresuid, plan.init_uid) != 0 ||
        (plan.can_setgroups && ::syscall(SYS_setgroups, 0, nullptr) != 0)) {
      Fail(plan, StepId::kInitIds);
    }
  }
  // If the supervisor dies, so does the run: init's death takes the whole PID namespace along.
  // Set only now: any change of credentials (above) clears the parent-death signal.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    Fail(plan, StepId::kParentDeathSignal);
  }
  // The supervisor may have died before that: then nobody reads the report pipe any more.
  struct pollfd lifeline = {plan.report_fd, POLLOUT, 0};
  if (::poll(&lifeline, 1, 0) == 1 && (lifeline.revents & POLLERR) != 0) {
    ::_exit(125);
  }
  // Init is a copy of the supervisor: wipe the supervisor's command line (host paths, options)
  // from its memory, where /proc/1/cmdline would show it to the program.
  if (plan.cmdline_begin != nullptr) {
    std::memset(plan.cmdline_begin, 0, plan.cmdline_size);
    std::memcpy(plan.cmdline_begin, "warden-init", std::min<size_t>(plan.cmdline_size, 11));
  }
}

// The host-only part of the root (plan.ops), and the network namespace.
void BuildRoot(const ChildPlan& plan) {
  pid_t net_helper = -1;
  int net_ready = -1;
  if (plan.make_netns) {
    net_ready = StartNetworkHelper(&net_helper);
    if (net_ready < 0) {
      Fail(plan, StepId::kNetwork);
    }
  }
  if (::sethostname(plan.hostname, std::strlen(plan.hostname)) != 0) {
    Fail(plan, StepId::kHostname);
  }
  // Nothing mounted here may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Fail(plan, StepId::kMakePrivate);
  }
  for (size_t i = 0; i < plan.op_count; ++i) {
    if (!ExecuteMountOp(plan.ops[i]) && !plan.ops[i].optional) {
      Fail(plan, static_cast<int32_t>(i));
    }
  }
  if (plan.bring_up_loopback && !BringUpLoopback()) {
    Fail(plan, StepId::kLoopback);
  }
  if (net_ready >= 0 && !JoinNetwork(net_helper, net_ready)) {
    Fail(plan, StepId::kNetwork);
  }
  if (plan.proxy_socket_fd >= 0 && !SendProxyListener(plan.proxy_socket_fd, plan.proxy_port)) {
    Fail(plan, StepId::kProxyListener);
  }
}

// The run's own part of the root (late_ops), then the root made read-only.
void FinishRoot(const ChildPlan& run) {
  for (size_t i = 0; i < run.late_op_count; ++i) {
    if (!ExecuteMountOp(run.late_ops[i]) && !run.late_ops[i].optional) {
      Fail(run, static_cast<int32_t>(run.op_count + i));
    }
  }
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
              nullptr) != 0) {
    Fail(run, StepId::kRemountRootReadOnly);
  }
}

// Called once init is in the run's cgroup: a cgroup namespace rooted there, so that
// /proc/self/cgroup shows "/" in every hierarchy instead of the host's path to the run's cgroup
// (which names the supervisor's pid and counts its runs). The clone's own cgroup namespace was
// rooted where init was born: the supervisor's cgroup on v1, where init is moved only later.
void EnterCgroupNamespace(const ChildPlan& plan) {
  if (plan.isolated && ::unshare(CLONE_NEWCGROUP) != 0) {
    Fail(plan, StepId::kCgroupNamespace);
  }
}

// Starts the program, then reaps every process of the run until the program ends.
[[noreturn]] void StartAndReap(const ChildPlan& run) {
  // CLONE_VM | CLONE_VFORK: no copy of the address space; init sleeps until the program has
  // called execve (or failed), then resumes.
  pid_t program = ::clone(ExecProgramTrampoline, program_stack + sizeof(program_stack),
                          CLONE_VM | CLONE_VFORK | SIGCHLD,
                          const_cast<ChildPlan*>(&run));  // NOLINT
  if (program < 0) {
    Fail(run, StepId::kStartProgram);
  }
  ::close(run.stdin_fd);
  ::close(run.stdout_fd);
  ::close(run.stderr_fd);
  Report(run.report_fd, ChildReport::Kind::kReady, 0, 0, program);

  // Orphans of the run are re-parented to init. When the program itself ends, report and exit;
  // the kernel then kills whatever is left in the PID namespace.
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid == program) {
      Report(run.report_fd, ChildReport::Kind::kExited, 0, 0, status);
      ::_exit(0);
    }
    if (pid < 0 && errno != EINTR) {
      ::_exit(125);
    }
  }
}

}  // namespace

void RunInit(const ChildPlan& plan) {
  if (!CloseOtherFds(plan.keep_fds, plan.keep_fd_count)) {
    Fail(plan, StepId::kCloseFds);
  }
  ResetSignals();
  ::umask(0);                       // modes in the mount plan are meant as written
  WaitForSupervisor(plan.sync_fd);  // first byte: the id maps are written
  PrepareInit(plan);
  if (plan.isolated) {
    BuildRoot(plan);
  }
  // A warm init stops here until a run is handed to it.
  static ChildPlan warm_plan;
  const ChildPlan* run = &plan;
  if (plan.warm) {
    WaitForSupervisor(plan.sync_fd);  // second byte: in the cgroup (it comes before the request)
    EnterCgroupNamespace(plan);
    warm_plan = plan;
    if (!ReceiveLateRequest(plan.sync_fd, &warm_plan)) {
      if (errno == EPIPE) {
        ::_exit(0);  // the supervisor let this warm sandbox go unused
      }
      Fail(plan, StepId::kReceiveRequest);
    }
    run = &warm_plan;
  }
  if (run->isolated) {
    FinishRoot(*run);
  }
  if (!plan.warm) {
    // Second byte: init is in its cgroup (cgroup v1 moves it while the root was built, which can
    // take milliseconds), so the program starts inside it.
    WaitForSupervisor(plan.sync_fd);
    EnterCgroupNamespace(plan);
  }
  ::close(plan.sync_fd);
  StartAndReap(*run);
}

}  // namespace warden::sandbox
