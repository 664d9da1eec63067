// What runs between clone() and execve(): the sandbox's init process (pid 1 of the run's PID
// namespace), which builds the root and reaps, and the program process it starts. The parent
// prepares everything in a ChildPlan; the child code only makes async-signal-safe system calls on
// it: no allocation, no locks, no logging, no exceptions (STYLE.md principle 4).
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace warden::sandbox {

// One step of building the sandbox's file system, executed in order by the init process.
// Its fields follow mount(2)'s arguments, the order the plan's designated initializers use: the few
// bytes of padding per step that another order would save do not matter.
struct MountOp {  // NOLINT(clang-analyzer-optin.performance.Padding)
  static constexpr uint32_t kNoOwner = 0xffffffff;
  enum class Kind : uint8_t {
    kMkdir,          // mkdir(target, mode); an existing directory is fine
    kTouch,          // create an empty file at target (a mount point for a file bind)
    kSymlink,        // symlink(source, target)
    kWriteFile,      // create target with mode and write data[0..size)
    kMount,          // mount(source, target, fstype, flags, data); then, if verify, target must be
                     // the inode (expect_dev, expect_ino): a path swapped meanwhile fails the run
    kPivotRoot,      // make target the root; the old root stays reachable at /.oldroot
    kDetachOldRoot,  // detach and remove /.oldroot
    kDetach,         // detach target (its bind mounts elsewhere stay) and remove the directory
    kLockDown,       // mount_setattr(target, AT_RECURSIVE): set the MOUNT_ATTR_* bits in flags on
                     // the mount and every mount below it
    kAttach,         // move_mount the detached tree `fd` (open_tree(OPEN_TREE_CLONE) in the
                     // parent) onto target, then close fd: a host directory bound without a path
    kOverlay,        // an overlay on target (flags: MS_* of the mount) whose only writable layer is
                     // the directory `source` and whose work directory is `data` (both on one
                     // mount), over an empty lower layer; if verify, source must be the inode
                     // (expect_dev, expect_ino). The layers are named through /proc/self/fd, so
                     // the mount's options in /proc/self/mountinfo carry no host path
  };
  Kind kind;
  const char* source = nullptr;
  const char* target = nullptr;
  const char* fstype = nullptr;
  unsigned long flags = 0;  // NOLINT(google-runtime-int): mount(2)'s type
  const char* data = nullptr;
  size_t size = 0;
  unsigned mode = 0;
  bool optional = false;      // failure is ignored (e.g. a host file that may be missing)
  uint32_t owner = kNoOwner;  // kMkdir: uid and gid (inside the sandbox) of the new directory
  int fd = -1;                // kAttach: the detached mount; one of ChildPlan::keep_fds
  bool verify = false;
  dev_t expect_dev = 0;
  ino_t expect_ino = 0;
};

// Messages from the child side to the supervisor on the report pipe. Fixed size, written with one
// write(2) each, so they never interleave.
struct ChildReport {
  enum class Kind : int32_t {
    kSetupFailed = 1,  // step = index into ChildPlan steps (or a negative StepId), err = errno
    kExecFailed = 2,   // execve of the program failed; err = errno
    kReady = 3,        // the root is built and the program started; pid = its pid (in the run's ns)
    kExited = 4,       // the program ended; status = its wait status
  };
  Kind kind;
  int32_t step;
  int32_t err;
  int32_t status;
};

// Setup steps outside the MountOp list, reported as negative step numbers.
enum class StepId : int32_t {
  kCloseFds = -2,
  kHostname = -3,
  kMakePrivate = -4,
  kLoopback = -5,
  kRemountRootReadOnly = -6,
  kStartProgram = -7,
  kStdio = -8,
  kSetGroups = -9,
  kSetGid = -10,
  kDropCapabilities = -11,
  kSetUid = -12,
  kRlimits = -13,
  kChdir = -14,
  kNoNewPrivs = -15,
  kSeccomp = -16,
  kSetsid = -17,
  kParentDeathSignal = -18,
  kInitIds = -19,
  kReceiveRequest = -20,
  kNetwork = -21,
  kCgroupNamespace = -22,
  kProxyListener = -23,
};

const char* StepIdName(StepId step);

// Everything the child needs, prepared by the parent. All pointers stay valid until the run ends.
struct ChildPlan {
  // Descriptors the init process keeps; every other inherited descriptor is closed. Sorted.
  const int* keep_fds = nullptr;
  size_t keep_fd_count = 0;

  int sync_fd = -1;    // read end: one byte when the id maps are written, one when init is in its
                       // cgroup, then (warm) the run's request
  int report_fd = -1;  // write end of the report pipe (close-on-exec)
  int stdin_fd = -1;   // become the program's fds 0, 1, 2
  int stdout_fd = -1;
  int stderr_fd = -1;

  // The supervisor's argv strings ([begin, begin + size) of its memory), wiped in init.
  char* cmdline_begin = nullptr;
  size_t cmdline_size = 0;

  const char* hostname = nullptr;
  bool bring_up_loopback = false;  // init was cloned into its own network namespace
  // Make the network namespace (loopback only) on a helper process while init builds the root,
  // then join it: creating one takes as long as all the mounts together.
  bool make_netns = false;
  bool isolated = true;  // false: --no-sandbox, skip namespaces and mounts
  // NetworkMode::kProxy: once in its network namespace, init listens on 127.0.0.1:proxy_port
  // there and sends the listening socket (SCM_RIGHTS) on this unix socket, then closes both.
  int proxy_socket_fd = -1;
  uint16_t proxy_port = 0;

  // Mount steps: `ops` depend only on the host; `late_ops` on the run. A warm init executes `ops`,
  // then receives `late_ops` and the command line over sync_fd (late_request.h).
  const MountOp* ops = nullptr;
  size_t op_count = 0;
  const MountOp* late_ops = nullptr;
  size_t late_op_count = 0;
  bool warm = false;

  // Init's credentials inside the user namespace: it must own what it creates on its tmpfs.
  uid_t init_uid = 0;
  gid_t init_gid = 0;
  // The program's credentials inside the user namespace.
  uid_t uid = 1000;
  gid_t gid = 1000;
  bool can_setgroups = false;  // setgroups(2) is allowed (Warden runs as root)
  int last_capability = 40;    // /proc/sys/kernel/cap_last_cap

  struct Rlimit {
    int resource;
    struct rlimit value;
  };
  const Rlimit* rlimits = nullptr;
  size_t rlimit_count = 0;

  const char* workdir = "/workspace";
  const char* const* argv = nullptr;
  const char* const* envp = nullptr;
  // Candidate paths for argv[0] (PATH resolved by the parent); tried in order.
  const char* const* exec_paths = nullptr;
  size_t exec_path_count = 0;

  const struct sock_fprog* seccomp = nullptr;  // null: no filter (only with isolated == false)
};

// The init process: builds the sandbox from `plan`, starts the program, reaps every process of
// the run and reports the program's status. Never returns.
[[noreturn]] void RunInit(const ChildPlan& plan);

}  // namespace warden::sandbox
