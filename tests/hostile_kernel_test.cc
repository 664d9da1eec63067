// Hostile programs against the kernel interface the sandbox exposes: ptrace, mounts, namespaces,
// 32-bit and x32 syscalls, io_uring, bpf, keyrings, perf, userfaultfd, file handles,
// personality, modules and other privileged calls, inherited descriptors and TIOCSTI.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hostile_harness.h"

namespace warden::hostile {
namespace {

const std::vector<std::string> kFlags = {"--timeout", "10s"};

TEST_F(HostileTest, PtraceIsRefused) {
  WardenResult result = RunHostile(kFlags, "ptrace", {std::to_string(::getpid())});
  ExpectContained(result, {"ptrace(PTRACE_ATTACH, own child): ", "ptrace(PTRACE_TRACEME): ",
                           "ptrace(PTRACE_SEIZE, parent): ", "ptrace(PTRACE_ATTACH, host pid): "});
}

TEST_F(HostileTest, MountIsRefused) {
  ExpectContained(RunHostile(kFlags, "mount_attack"),
                  {"mount(tmpfs, /tmp): ", "mount(/usr, MS_REMOUNT read-write): ",
                   "fsopen(tmpfs): ", "open_tree(/usr, OPEN_TREE_CLONE): ",
                   "mount_setattr(/usr, clear RDONLY): ", "umount2(/proc): "});
}

TEST_F(HostileTest, UnshareIsRefused) {
  ExpectContained(RunHostile(kFlags, "unshare"),
                  {"unshare(CLONE_NEWUSER): ", "unshare(CLONE_NEWNS): ", "unshare(CLONE_NEWNET): ",
                   "unshare(CLONE_NEWTIME): "});
}

TEST_F(HostileTest, SetnsIsRefused) {
  ExpectContained(RunHostile(kFlags, "setns"),
                  {"setns(/proc/1/ns/mnt): ", "setns(/proc/self/ns/user): "});
}

TEST_F(HostileTest, PivotRootAndChrootAreRefused) {
  ExpectContained(RunHostile(kFlags, "pivot_root_chroot"),
                  {"pivot_root(., .): ", "chroot(/tmp): "});
}

TEST_F(HostileTest, CloneWithNewNamespacesIsRefused) {
  ExpectContained(RunHostile(kFlags, "clone_newuser"),
                  {"clone(CLONE_NEWUSER): ", "clone3(CLONE_NEWUSER): ", "clone(CLONE_NEWNET): "});
}

TEST_F(HostileTest, ThirtyTwoBitAndX32SyscallsAreRefused) {
  ExpectContained(RunHostile(kFlags, "compat_syscalls"),
                  {"int $0x80 getpid: ", "int $0x80 unshare(CLONE_NEWUSER): ", "x32 getpid: ",
                   "x32 unshare(CLONE_NEWUSER): "});
}

TEST_F(HostileTest, IoUringIsRefused) {
  WardenResult result = RunHostile(kFlags, "io_uring");
  ExpectContained(result, {"io_uring_setup: "});
  // io_uring_register on a bad fd is EBADF when io_uring is reachable at all.
  EXPECT_THAT(result.out(), Not(::testing::HasSubstr("io_uring_register(-1): EBADF")));
}

TEST_F(HostileTest, BpfIsRefused) {
  ExpectContained(RunHostile(kFlags, "bpf"), {"bpf(BPF_MAP_CREATE): ", "bpf(BPF_PROG_LOAD): "});
}

TEST_F(HostileTest, KeyringsAreRefused) {
  ExpectContained(RunHostile(kFlags, "keyctl"), {"add_key(user): ", "request_key(user): "});
}

TEST_F(HostileTest, PerfEventOpenIsRefused) {
  ExpectContained(RunHostile(kFlags, "perf_event"),
                  {"perf_event_open(self): ", "perf_event_open(cpu 0): "});
}

TEST_F(HostileTest, UserfaultfdIsRefused) {
  ExpectContained(RunHostile(kFlags, "userfaultfd"),
                  {"userfaultfd(UFFD_USER_MODE_ONLY): ", "open(/dev/userfaultfd): "});
}

TEST_F(HostileTest, OpenByHandleAtCannotReachTheHostFileSystem) {
  ExpectContained(RunHostile(kFlags, "open_by_handle"), {"open_by_handle_at(inode 2): "});
}

TEST_F(HostileTest, PersonalityCannotWeakenMemoryProtection) {
  ExpectContained(RunHostile(kFlags, "personality"),
                  {"personality(READ_IMPLIES_EXEC): ", "personality(ADDR_NO_RANDOMIZE): ",
                   "personality(MMAP_PAGE_ZERO): ", "mmap(address 0): "});
}

TEST_F(HostileTest, KernelModulesAndKexecAreRefused) {
  ExpectContained(RunHostile(kFlags, "kernel_modules"),
                  {"init_module(NULL): ", "finit_module(-1): ", "kexec_load(foreign arch): "});
}

TEST_F(HostileTest, PrivilegedHostOperationsAreRefused) {
  char hostname[256] = {};
  ::gethostname(hostname, sizeof(hostname) - 1);
  ExpectContained(RunHostile(kFlags, "privileged_ops"),
                  {"ioperm(0x80): ", "iopl(3): ", "clock_settime(now): ", "sethostname(current): ",
                   "sched_setscheduler(SCHED_FIFO): "});
  char after[256] = {};
  ::gethostname(after, sizeof(after) - 1);
  EXPECT_STREQ(after, hostname);
}

TEST_F(HostileTest, InheritedDescriptorsAreClosed) {
  // Warden itself inherits a host secret file at fd 7, the host's /root at fd 9 (fchdir() out of
  // any chroot) and a socket at fd 1000, none close-on-exec.
  HostDir secrets("hostile-secret-");
  WriteFile(secrets / "secret", "hostile-secret", 0600);
  int secret = ::open((secrets / "secret").c_str(), O_RDONLY);
  int root = ::open("/root", O_RDONLY | O_DIRECTORY);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(secret, 0);
  ASSERT_GE(root, 0);
  ASSERT_GE(sock, 0);
  WardenOptions options;
  options.leak_fds = {{secret, 7}, {root, 9}, {sock, 1000}};
  WardenResult result =
      RunInSandbox(kFlags, {std::string(kSandboxDir) + "/inherited_fds"}, options);
  ::close(secret);
  ::close(root);
  ::close(sock);
  ExpectContained(result, {"open fds above 2: 0"});
}

TEST_F(HostileTest, TiocstiCannotInjectIntoTheHostTerminal) {
  // Warden runs with a host pseudo-terminal as its controlling terminal, and leaks a descriptor
  // of it at fd 5. Whatever the sandbox injects would be readable on the terminal's input.
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const std::string slave_path = ::ptsname(master);
  int slave = ::open(slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  termios raw{};
  ASSERT_EQ(::tcgetattr(slave, &raw), 0);
  ::cfmakeraw(&raw);
  ASSERT_EQ(::tcsetattr(slave, TCSANOW, &raw), 0);

  WardenOptions options;
  options.controlling_tty = slave;
  options.leak_fds = {{slave, 5}};
  WardenResult result = RunInSandbox(kFlags, {std::string(kSandboxDir) + "/tiocsti"}, options);
  ExpectContained(result, {"TIOCSTI on fd 0", "open(/dev/tty): "});

  ::fcntl(slave, F_SETFL, O_NONBLOCK);
  char buf[256];
  ssize_t injected = ::read(slave, buf, sizeof(buf));
  EXPECT_LE(injected, 0) << "input was injected into the host terminal: "
                         << std::string(buf, injected > 0 ? static_cast<size_t>(injected) : 0);
  ::close(slave);
  ::close(master);
}

}  // namespace
}  // namespace warden::hostile
