// /proc/self/root and /proc/*/cwd tricks. Usage: proc_escape HOST_SECRET_FILE HOST_SECRET_DIR
// For every visible process, tries to reach the host's files through /proc/PID/root and
// /proc/PID/cwd (plus ".." chains), and checks /proc/self/root is the sandbox's own "/".
#include <dirent.h>

#include "guard.h"

static void MustNotOpen(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Blocked(path, errno);
    return;
  }
  close(fd);
  Escaped(path, "(host file reachable)");
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 3)
    return kExitUnexpected;
  char link[256];
  ssize_t n = readlink("/proc/self/root", link, sizeof(link) - 1);
  if (n < 0)
    return kExitUnexpected;
  link[n] = '\0';
  printf("/proc/self/root -> %s\n", link);
  if (strcmp(link, "/") != 0)
    Escaped("/proc/self/root", "is not /");

  char path[8192];
  DIR* proc = opendir("/proc");
  if (proc == NULL)
    return kExitUnexpected;
  for (struct dirent* e; (e = readdir(proc)) != NULL;) {
    if ((e->d_name[0] < '0' || e->d_name[0] > '9') && strcmp(e->d_name, "self") != 0)
      continue;
    const char* subs[] = {"root", "cwd", "cwd/../../../../../..", "root/proc/1/root"};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); ++i) {
      snprintf(path, sizeof(path), "/proc/%s/%s%s", e->d_name, subs[i], argv[1]);
      MustNotOpen(path);
      snprintf(path, sizeof(path), "/proc/%s/%s%s", e->d_name, subs[i], argv[2]);
      MustNotOpen(path);
      snprintf(path, sizeof(path), "/proc/%s/%s/etc/shadow", e->d_name, subs[i]);
      MustNotOpen(path);
      snprintf(path, sizeof(path), "/proc/%s/%s/root", e->d_name, subs[i]);
      MustNotOpen(path);
    }
  }
  closedir(proc);
  return ExitStatus();
}
