#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string_view>

#include <fmt/format.h>
#include <seccomp.h>

#include "base/unique_fd.h"

namespace warden::sandbox {
namespace {

// Denied with EPERM: they reach kernel surface a sandboxed program never needs (namespaces and
// mounts, tracing other processes, kernel keyrings, BPF, perf, io_uring, userfaultfd, modules,
// kexec, clocks, swap, accounting, raw I/O ports, handles that bypass path checks).
constexpr std::array<std::string_view, 52> kDenied = {
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "modify_ldt",
    "lookup_dcookie",
    "open_by_handle_at",
    "name_to_handle_at",
    "uselib",
    "vhangup",
    "fanotify_init",
};

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

Status Add(scmp_filter_ctx ctx, uint32_t action, int syscall, std::string_view name,
           std::initializer_list<scmp_arg_cmp> args = {}) {
  int rc = seccomp_rule_add_array(ctx, action, syscall, static_cast<unsigned>(args.size()),
                                  args.size() == 0 ? nullptr : args.begin());
  if (rc != 0) {
    return Error::FromErrno(fmt::format("seccomp rule for {}", name), -rc);
  }
  return OkStatus();
}

Status AddRules(scmp_filter_ctx ctx) {
  const uint32_t deny = SCMP_ACT_ERRNO(EPERM);
  for (std::string_view name : kDenied) {
    int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
    if (nr == __NR_SCMP_ERROR) {
      continue;  // not on this architecture
    }
    RETURN_IF_ERROR(Add(ctx, deny, nr, name));
  }
  // clone() creating namespaces; clone3() passes flags in memory that seccomp cannot inspect, so
  // it reports ENOSYS and the C library falls back to clone().
  for (uint64_t flag = 1; flag != 0; flag <<= 1) {
    if (kNamespaceFlags & flag) {
      RETURN_IF_ERROR(
          Add(ctx, deny, SCMP_SYS(clone), "clone", {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)}));
    }
  }
  RETURN_IF_ERROR(Add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), "clone3"));
  // Only local and IP sockets: no AF_VSOCK (the VM host agent), netlink, packet, bluetooth, ...
  const uint32_t no_family = SCMP_ACT_ERRNO(EAFNOSUPPORT);
  for (int syscall : {SCMP_SYS(socket), SCMP_SYS(socketpair)}) {
    std::string_view name = syscall == SCMP_SYS(socket) ? "socket" : "socketpair";
    RETURN_IF_ERROR(Add(ctx, no_family, syscall, name, {SCMP_A0(SCMP_CMP_GT, AF_INET6)}));
    for (int family = AF_UNSPEC; family < AF_INET6; ++family) {
      if (family != AF_UNIX && family != AF_INET) {
        RETURN_IF_ERROR(Add(ctx, no_family, syscall, name,
                            {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(family))}));
      }
    }
  }
  // Faking terminal input (TIOCSTI) and console tricks (TIOCLINUX). ioctl's request is an int:
  // compare the low 32 bits only.
  for (uint64_t request : {static_cast<uint64_t>(TIOCSTI), static_cast<uint64_t>(TIOCLINUX)}) {
    RETURN_IF_ERROR(Add(ctx, deny, SCMP_SYS(ioctl), "ioctl",
                        {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, request)}));
  }
  // personality(): no persona that disables ASLR, maps page 0 or makes data executable, whatever
  // the upper 32 bits hold (the kernel truncates them). The 0xffffffff query sets every bit, so
  // it is refused too; programs rarely ask.
  constexpr uint64_t kUnsafePersona =
      ADDR_NO_RANDOMIZE | MMAP_PAGE_ZERO | READ_IMPLIES_EXEC | ADDR_COMPAT_LAYOUT | ADDR_LIMIT_3GB;
  for (uint64_t bit = 1; bit <= kUnsafePersona; bit <<= 1) {
    if (kUnsafePersona & bit) {
      RETURN_IF_ERROR(Add(ctx, deny, SCMP_SYS(personality), "personality",
                          {SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit)}));
    }
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<struct sock_filter>> CompileSeccompPolicy() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) {
    return Error(ErrorCode::kInternal, "seccomp_init failed");
  }
  struct Release {
    scmp_filter_ctx ctx;
    ~Release() { seccomp_release(ctx); }
  } release{ctx};
  // Any other architecture (32-bit int 0x80, x32) kills the process: the rules above are written
  // for the native syscall table only.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc != 0) {
    return Error::FromErrno("seccomp_attr_set(ACT_BADARCH)", -rc);
  }
  RETURN_IF_ERROR(AddRules(ctx));

  // libseccomp 2.5 exports BPF only to a descriptor: go through a memfd.
  UniqueFd memfd(::memfd_create("warden-seccomp", MFD_CLOEXEC));
  if (!memfd) {
    return ErrnoError("memfd_create(seccomp)");
  }
  if (int rc = seccomp_export_bpf(ctx, memfd.get()); rc != 0) {
    return Error::FromErrno("seccomp_export_bpf", -rc);
  }
  off_t size = ::lseek(memfd.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) {
    return Error(ErrorCode::kInternal, fmt::format("seccomp program of {} bytes", size));
  }
  std::vector<struct sock_filter> filter(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(memfd.get(), filter.data(), static_cast<size_t>(size), 0) != size) {
    return ErrnoError("pread(seccomp)");
  }
  return filter;
}

}  // namespace warden::sandbox
