// A background child that outlives its parent. Usage: orphan MARKER detach|hold
// Forks, the child calls setsid() and forks again; the grandchild ignores every catchable signal
// and re-executes this program as "orphan MARKER --linger" (so the marker is in its command line
// for the host to find), then waits up to 60 s. The parent exits 0 once the grandchild runs.
//   detach: the grandchild redirects stdout and stderr to /dev/null;
//   hold:   the grandchild keeps the run's stdout and stderr open.
// The test checks from the host that no process with MARKER is left after the run.
#include <time.h>

#include "guard.h"

static int Linger(int ready_fd) {
  for (int sig = 1; sig < NSIG; ++sig)
    signal(sig, SIG_IGN);
  printf("linger: pid %d running\n", (int)getpid());
  if (write(ready_fd, "r", 1) != 1)
    return kExitUnexpected;
  close(ready_fd);
  const time_t deadline = time(NULL) + 60;
  while (time(NULL) < deadline) {
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
  }
  return kExitEscaped;
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc == 5 && strcmp(argv[2], "--linger") == 0) {
    if (strcmp(argv[4], "detach") == 0) {
      int null_fd = open("/dev/null", O_RDWR);
      if (null_fd < 0)
        return kExitUnexpected;
      dup2(null_fd, 1);
      dup2(null_fd, 2);
      close(null_fd);
    }
    return Linger(atoi(argv[3]));
  }
  if (argc != 3)
    return kExitUnexpected;
  int ready[2];
  if (pipe(ready) < 0)
    return kExitUnexpected;  // not close-on-exec: the grandchild keeps it
  pid_t child = fork();
  if (child == 0) {
    setsid();
    if (fork() == 0) {
      char fd_arg[16];
      snprintf(fd_arg, sizeof(fd_arg), "%d", ready[1]);
      close(ready[0]);
      execl("/proc/self/exe", "orphan", argv[1], "--linger", fd_arg, argv[2], (char*)NULL);
      _exit(kExitUnexpected);
    }
    _exit(0);
  }
  close(ready[1]);
  waitpid(child, NULL, 0);
  char c;
  if (read(ready[0], &c, 1) != 1) {
    Unexpected("orphan", "the grandchild never ran");
    return ExitStatus();
  }
  printf("parent: exiting, grandchild left running\n");
  return kExitContained;
}
