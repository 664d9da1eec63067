// Busy loops. Usage: cpu_burn spin | cpu_burn children
//   spin:     one process spins until it has used 60 s of CPU (its own cap);
//   children: four children each spin 1.5 s of CPU and exit; the parent waits. Together they use
//             6 s, while each stays under a per-process limit of 2 s.
// Contained when the sandbox's CPU or wall limit ends the run before the work completes.
#include <time.h>

#include "guard.h"

static double CpuSeconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void Spin(double seconds) {
  volatile unsigned long sink = 0;
  while (CpuSeconds() < seconds) {
    for (int i = 0; i < 100000; ++i)
      sink += (unsigned long)i;
  }
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 2)
    return kExitUnexpected;
  if (strcmp(argv[1], "spin") == 0) {
    Spin(60.0);
    Escaped("spin", "used 60 s of CPU");
    return ExitStatus();
  }
  for (int i = 0; i < 4; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      Spin(1.5);
      _exit(0);
    }
    if (pid < 0)
      return kExitUnexpected;
  }
  int status = 0;
  while (wait(&status) > 0) {
  }
  Escaped("children", "used 6 s of CPU together");
  return ExitStatus();
}
