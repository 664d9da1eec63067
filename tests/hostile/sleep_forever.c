// Waits forever (its own cap: 120 s) with every catchable signal ignored, so only SIGKILL ends it.
// Contained when the wall-time limit still ends the run.
#include <time.h>

#include "guard.h"

int main(void) {
  RequireSandbox();
  for (int sig = 1; sig < NSIG; ++sig)
    signal(sig, SIG_IGN);
  const time_t deadline = time(NULL) + 120;
  while (time(NULL) < deadline) {
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
  }
  Escaped("sleep", "slept 120 s");
  return ExitStatus();
}
