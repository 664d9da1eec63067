// Fork bomb: forks children that stay alive until fork() fails. Contained when fork() fails with
// EAGAIN long before the program's own cap of 5000 processes or 20 s.
#include <time.h>

#include "guard.h"

int main(void) {
  RequireSandbox();
  const int kMaxForks = 5000;
  const time_t deadline = time(NULL) + 20;
  int forks = 0;
  int err = 0;
  while (forks < kMaxForks && time(NULL) < deadline) {
    pid_t pid = fork();
    if (pid == 0) {
      alarm(30);  // even a sandbox that never kills them must not keep them forever
      for (;;)
        pause();
    }
    if (pid < 0) {
      err = errno;
      break;
    }
    ++forks;
  }
  printf("forks: %d\n", forks);
  if (err == 0) {
    Escaped("fork", "never failed");
  } else {
    Blocked("fork", err);
  }
  return ExitStatus();
}
