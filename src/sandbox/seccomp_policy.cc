#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
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
  // No set-user-ID or set-group-ID bits, by chmod or at creation: inside, every mount is nosuid,
  // but the workspace is a host directory, and a setuid file written there (owned by the
  // workspace's owner) would give that owner's rights to whoever runs it on the host.
  for (uint64_t bit : {static_cast<uint64_t>(S_ISUID), static_cast<uint64_t>(S_ISGID)}) {
    RETURN_IF_ERROR(
        Add(ctx, deny, SCMP_SYS(chmod), "chmod", {SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit)}));
    RETURN_IF_ERROR(
        Add(ctx, deny, SCMP_SYS(fchmod), "fchmod", {SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit)}));
    RETURN_IF_ERROR(
        Add(ctx, deny, SCMP_SYS(fchmodat), "fchmodat", {SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit)}));
    RETURN_IF_ERROR(
        Add(ctx, deny, SCMP_SYS(creat), "creat", {SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit)}));
    RETURN_IF_ERROR(
        Add(ctx, deny, SCMP_SYS(mknod), "mknod", {SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit)}));
    RETURN_IF_ERROR(
        Add(ctx, deny, SCMP_SYS(mknodat), "mknodat", {SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit)}));
    RETURN_IF_ERROR(Add(
        ctx, deny, SCMP_SYS(open), "open",
        {SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT), SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit)}));
    RETURN_IF_ERROR(Add(
        ctx, deny, SCMP_SYS(openat), "openat",
        {SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT), SCMP_A3(SCMP_CMP_MASKED_EQ, bit, bit)}));
  }
  int fchmodat2 = seccomp_syscall_resolve_name("fchmodat2");
  for (uint64_t bit : {static_cast<uint64_t>(S_ISUID), static_cast<uint64_t>(S_ISGID)}) {
    if (fchmodat2 != __NR_SCMP_ERROR) {
      RETURN_IF_ERROR(
          Add(ctx, deny, fchmodat2, "fchmodat2", {SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit)}));
    }
  }
  // openat2() passes its mode in memory that seccomp cannot read: ENOSYS, and the C library
  // falls back to openat().
  int openat2 = seccomp_syscall_resolve_name("openat2");
  if (openat2 != __NR_SCMP_ERROR) {
    RETURN_IF_ERROR(Add(ctx, SCMP_ACT_ERRNO(ENOSYS), openat2, "openat2"));
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

// Adds "number above the highest this libseccomp knows -> ENOSYS" right after libseccomp's
// architecture and x32 checks: system calls newer than the policy (fchmodat2, ...) are refused,
// not allowed by default. The prologue's shape is checked; an unexpected one fails the build.
Status GuardUnknownSyscalls(std::vector<struct sock_filter>* filter) {
  int highest = 0;
  for (int nr = 0; nr < 1024; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name != nullptr) {
      highest = nr;
      std::free(name);  // NOLINT: libseccomp's allocation
    }
  }
  // Expected prologue: ld arch; jeq ARCH else kill; ld nr; jge X32 bit; jeq -1 else kill.
  std::vector<struct sock_filter>& f = *filter;
  constexpr size_t kPrologue = 5;
  if (f.size() < kPrologue + 1 || f[0].code != (BPF_LD | BPF_W | BPF_ABS) ||
      f[1].code != (BPF_JMP | BPF_JEQ | BPF_K) || f[2].code != (BPF_LD | BPF_W | BPF_ABS) ||
      f[2].k != 0 || f[3].code != (BPF_JMP | BPF_JGE | BPF_K) || f[3].k != 0x40000000 ||
      f[4].code != (BPF_JMP | BPF_JEQ | BPF_K)) {
    return Error(ErrorCode::kInternal, "unexpected seccomp program prologue from libseccomp");
  }
  // The prologue's jumps past the insertion point move by two; those to it now reach the guard.
  for (size_t i = 0; i < kPrologue; ++i) {
    if (BPF_CLASS(f[i].code) == BPF_JMP) {
      if (i + 1 + f[i].jt > kPrologue) {
        f[i].jt = static_cast<uint8_t>(f[i].jt + 2);
      }
      if (i + 1 + f[i].jf > kPrologue) {
        f[i].jf = static_cast<uint8_t>(f[i].jf + 2);
      }
    }
  }
  struct sock_filter above =
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(highest), 0, 1);
  struct sock_filter refuse = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
  f.insert(f.begin() + kPrologue, {above, refuse});
  return OkStatus();
}

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
  // A binary tree of system call numbers instead of a linear chain: every system call of the
  // program is checked in a few comparisons, not a hundred.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); rc != 0) {
    return Error::FromErrno("seccomp_attr_set(CTL_OPTIMIZE)", -rc);
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
  RETURN_IF_ERROR(GuardUnknownSyscalls(&filter));
  return filter;
}

}  // namespace warden::sandbox
