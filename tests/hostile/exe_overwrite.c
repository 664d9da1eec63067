// Overwriting a host binary through /proc/PID/exe (CVE-2019-5736). For every visible process,
// opens /proc/PID/exe for writing, directly and by reopening an O_PATH descriptor through
// /proc/self/fd. Never writes a byte: opening is the escape. Prints where each exe points.
#include <dirent.h>

#include "guard.h"

int main(void) {
  RequireSandbox();
  char path[300];
  char what[400];
  DIR* proc = opendir("/proc");
  if (proc == NULL)
    return kExitUnexpected;
  for (struct dirent* e; (e = readdir(proc)) != NULL;) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    snprintf(path, sizeof(path), "/proc/%s/exe", e->d_name);
    char target[256];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    printf("%s -> %s\n", path, target);

    snprintf(what, sizeof(what), "open(%s, O_WRONLY)", path);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      Escaped(what, "(host binary writable)");
    } else {
      Blocked(what, errno);
    }
    int path_fd = open(path, O_PATH | O_CLOEXEC);
    if (path_fd < 0)
      continue;
    char reopen[64];
    snprintf(reopen, sizeof(reopen), "/proc/self/fd/%d", path_fd);
    snprintf(what, sizeof(what), "reopen(%s, O_WRONLY)", path);
    fd = open(reopen, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      Escaped(what, "(host binary writable)");
    } else {
      Blocked(what, errno);
    }
    close(path_fd);
  }
  closedir(proc);
  return ExitStatus();
}
