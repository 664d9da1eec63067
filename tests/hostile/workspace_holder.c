// Keeps a sandbox running for the other-workspace test. Writes SECRET to /workspace/secret,
// creates /workspace/ready, then waits (at most 20 s) until the test creates /workspace/stop.
// Usage: workspace_holder SECRET
#include <time.h>

#include "guard.h"

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 2)
    return kExitUnexpected;
  int fd = open("/workspace/secret", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, argv[1], strlen(argv[1])) < 0)
    return kExitUnexpected;
  close(fd);
  fd = open("/workspace/ready", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return kExitUnexpected;
  close(fd);
  const time_t deadline = time(NULL) + 20;
  while (time(NULL) < deadline) {
    if (access("/workspace/stop", F_OK) == 0) {
      printf("holder: stopped\n");
      return kExitContained;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return kExitUnexpected;
}
