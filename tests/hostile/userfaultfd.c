// userfaultfd(2) (a classic tool to win kernel races) and /dev/userfaultfd must be unavailable.
#include <linux/userfaultfd.h>
#include <sys/syscall.h>

#include "guard.h"

static int UserMode(void) {
  long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
  if (fd >= 0)
    close((int)fd);
  Expect("userfaultfd(UFFD_USER_MODE_ONLY)", fd);
  return ExitStatus();
}

static int Plain(void) {
  long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
  if (fd >= 0)
    close((int)fd);
  Expect("userfaultfd(0)", fd);
  return ExitStatus();
}

static int DevNode(void) {
  int fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (fd >= 0)
    close(fd);
  Expect("open(/dev/userfaultfd)", fd);
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  InChild("userfaultfd(UFFD_USER_MODE_ONLY)", UserMode);
  InChild("userfaultfd(0)", Plain);
  InChild("open(/dev/userfaultfd)", DevNode);
  return ExitStatus();
}
