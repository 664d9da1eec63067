// Inherited descriptors: only 0, 1 and 2 may be open. Checks every fd from 3 to 1024 with fcntl,
// and every entry of /proc/self/fd (which also covers fds above 1024), printing what each open
// one points to.
#include <dirent.h>

#include "guard.h"

int main(void) {
  RequireSandbox();
  char path[64];
  char target[512];
  int found = 0;
  for (int fd = 3; fd <= 1024; ++fd) {
    if (fcntl(fd, F_GETFD) < 0)
      continue;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    printf("fd %d -> %s\n", fd, target);
    Escaped("inherited fd", target);
    ++found;
  }
  DIR* dir = opendir("/proc/self/fd");
  if (dir == NULL)
    return kExitUnexpected;
  for (struct dirent* e; (e = readdir(dir)) != NULL;) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd <= 1024 || fd == dirfd(dir))
      continue;
    printf("fd %d open\n", fd);
    Escaped("inherited fd above 1024", e->d_name);
    ++found;
  }
  closedir(dir);
  for (int fd = 0; fd <= 2; ++fd) {
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    printf("fd %d -> %s\n", fd, target);
  }
  printf("open fds above 2: %d\n", found);
  return ExitStatus();
}
