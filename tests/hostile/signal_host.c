// Signals to processes outside the sandbox. Usage: signal_host HOST_PID...
// Each HOST_PID is a host process (the warden supervisor, the test, a canary running as the
// sandbox's host uid). Each must be unreachable: kill(pid, 0) and pidfd_open() fail with ESRCH.
// A real signal (SIGKILL) is only sent after the probe showed the pid does not exist here.
// Also kills the parent (getppid()), which inside the sandbox can only be the sandbox's own init.
#include <sys/syscall.h>

#include "guard.h"

int main(int argc, char** argv) {
  RequireSandbox();
  char what[96];
  for (int i = 1; i < argc; ++i) {
    const pid_t pid = (pid_t)atoi(argv[i]);
    if (pid <= 1)
      return kExitUnexpected;
    snprintf(what, sizeof(what), "kill(%d, 0)", (int)pid);
    if (kill(pid, 0) == 0) {
      Escaped(what, "host process is visible");
      continue;
    }
    Blocked(what, errno);
    snprintf(what, sizeof(what), "pidfd_open(%d)", (int)pid);
    Expect(what, syscall(SYS_pidfd_open, pid, 0));
    snprintf(what, sizeof(what), "kill(%d, SIGKILL)", (int)pid);
    Expect(what, kill(pid, SIGKILL));
  }
  const pid_t parent = getppid();
  if (parent == 0) {
    printf("getppid: 0 (the program is the namespace's init)\n");
  } else {
    int r = kill(parent, SIGKILL);
    printf("kill(getppid()=%d, SIGKILL): %s\n", (int)parent, r == 0 ? "0" : ErrName(errno));
  }
  printf("still alive\n");
  return ExitStatus();
}
