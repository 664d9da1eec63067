// Writing kernel settings. Opens sysctls and other kernel control files for writing and never
// writes a byte: an open that succeeds is already the escape, and is closed at once.
#include "guard.h"

int main(void) {
  RequireSandbox();
  const char* paths[] = {"/proc/sys/kernel/hostname",
                         "/proc/sys/vm/drop_caches",
                         "/proc/sys/kernel/core_pattern",
                         "/proc/sys/kernel/modprobe",
                         "/proc/sys/kernel/panic",
                         "/proc/sys/net/ipv4/ip_forward",
                         "/proc/sys/fs/binfmt_misc/register",
                         "/proc/sysrq-trigger",
                         "/sys/kernel/uevent_helper",
                         "/sys/fs/cgroup/memory/release_agent"};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); ++i) {
    int fd = open(paths[i], O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      Escaped(paths[i], "(opened for writing; nothing written)");
    } else {
      Blocked(paths[i], errno);
    }
  }
  return ExitStatus();
}
