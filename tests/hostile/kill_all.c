// kill(-1, SIGKILL): signals every process the caller may signal. The guard has established that
// this runs inside its own PID namespace, where that reaches only the sandbox's own processes.
// The test checks from the host that its canary process (running as the sandbox's host uid)
// survives.
#include "guard.h"

int main(void) {
  RequireSandbox();
  int r = kill(-1, SIGKILL);
  printf("kill(-1, SIGKILL): %s\n", r == 0 ? "0" : ErrName(errno));
  printf("still alive\n");
  return kExitContained;
}
