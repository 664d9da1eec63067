// TIOCSTI: pushing input into a terminal the host reads. The test runs warden with a host
// pseudo-terminal as its controlling terminal (and leaks a descriptor of it). Tries TIOCSTI on
// fds 0-2, on every open fd, and on /dev/tty; lists /dev/pts (no host terminal may appear).
// Contained when no ioctl succeeds. An injected line is "echo hostile-injected", never run.
#include <dirent.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "guard.h"

static void Inject(const char* what, int fd) {
  static const char kLine[] = "echo hostile-injected\n";
  int injected = 0;
  int err = 0;
  for (const char* p = kLine; *p != '\0'; ++p) {
    if (ioctl(fd, TIOCSTI, p) < 0) {
      err = errno;
      break;
    }
    ++injected;
  }
  if (injected > 0) {
    Escaped(what, "(TIOCSTI injected input)");
  } else {
    Blocked(what, err);
  }
}

int main(void) {
  RequireSandbox();
  char what[64];
  for (int fd = 0; fd <= 1024; ++fd) {
    if (fcntl(fd, F_GETFD) < 0)
      continue;
    snprintf(what, sizeof(what), "TIOCSTI on fd %d", fd);
    Inject(what, fd);
  }
  int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) {
    Blocked("open(/dev/tty)", errno);
  } else {
    Inject("TIOCSTI on /dev/tty", tty);
    close(tty);
  }
  DIR* pts = opendir("/dev/pts");
  if (pts != NULL) {
    for (struct dirent* e; (e = readdir(pts)) != NULL;) {
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
        Escaped("/dev/pts", e->d_name);
    }
    closedir(pts);
  }
  return ExitStatus();
}
