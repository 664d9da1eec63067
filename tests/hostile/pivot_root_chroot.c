// pivot_root(2) and chroot(2), each in its own child.
#include <sys/syscall.h>

#include "guard.h"

static int PivotRoot(void) {
  if (chdir("/tmp") < 0)
    return kExitUnexpected;
  Expect("pivot_root(., .)", syscall(SYS_pivot_root, ".", "."));
  return ExitStatus();
}

static int PivotRootSlash(void) {
  mkdir("/tmp/old", 0700);
  Expect("pivot_root(/, /tmp/old)", syscall(SYS_pivot_root, "/", "/tmp/old"));
  return ExitStatus();
}

static int Chroot(void) {
  Expect("chroot(/tmp)", chroot("/tmp"));
  return ExitStatus();
}

static int ChrootProcRoot(void) {
  Expect("chroot(/proc/1/root)", chroot("/proc/1/root"));
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  InChild("pivot_root(., .)", PivotRoot);
  InChild("pivot_root(/, /tmp/old)", PivotRootSlash);
  InChild("chroot(/tmp)", Chroot);
  InChild("chroot(/proc/1/root)", ChrootProcRoot);
  return ExitStatus();
}
