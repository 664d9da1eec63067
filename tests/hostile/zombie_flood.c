// Zombie flood: forks children that exit at once and are never reaped, until fork() fails.
// Contained when fork() fails with EAGAIN well before the program's own cap of 5000 zombies.
#include "guard.h"

int main(void) {
  RequireSandbox();
  const int kMaxZombies = 5000;
  int zombies = 0;
  int err = 0;
  while (zombies < kMaxZombies) {
    pid_t pid = fork();
    if (pid == 0)
      _exit(0);
    if (pid < 0) {
      err = errno;
      break;
    }
    ++zombies;
  }
  printf("zombies: %d\n", zombies);
  if (err == 0) {
    Escaped("fork", "never failed");
  } else {
    Blocked("fork", err);
  }
  return ExitStatus();
}
