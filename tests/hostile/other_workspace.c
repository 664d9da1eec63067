// Reading another sandbox's workspace while that sandbox runs. Usage:
//   other_workspace SECRET HOST_PATH...
// Each HOST_PATH is a host path of the other run's workspace (its directory, its secret file,
// warden's temporary directories): none may be reachable. Also looks through every visible
// /proc/PID/root and /proc/PID/cwd for a "secret" file holding SECRET.
#include <dirent.h>

#include "guard.h"

static void CheckNoSecret(const char* path, const char* secret) {
  char buf[256];
  ssize_t n = ReadSmallFile(path, buf, sizeof(buf));
  if (n < 0) {
    if (access(path, F_OK) == 0) {
      Escaped(path, "(exists)");
    } else {
      Blocked(path, errno);
    }
    return;
  }
  if (strstr(buf, secret) != NULL)
    Escaped(path, "(read the other run's secret)");
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc < 3)
    return kExitUnexpected;
  const char* secret = argv[1];
  char path[4096];
  for (int i = 2; i < argc; ++i) {
    CheckNoSecret(argv[i], secret);
    snprintf(path, sizeof(path), "%s/secret", argv[i]);
    CheckNoSecret(path, secret);
  }
  int pids = 0;
  DIR* proc = opendir("/proc");
  if (proc == NULL)
    return kExitUnexpected;
  for (struct dirent* e; (e = readdir(proc)) != NULL;) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    ++pids;
    snprintf(path, sizeof(path), "/proc/%s/root/workspace/secret", e->d_name);
    char buf[256];
    if (ReadSmallFile(path, buf, sizeof(buf)) >= 0 && strstr(buf, secret) != NULL) {
      Escaped(path, "(read the other run's secret)");
    }
    snprintf(path, sizeof(path), "/proc/%s/cwd/secret", e->d_name);
    if (ReadSmallFile(path, buf, sizeof(buf)) >= 0 && strstr(buf, secret) != NULL) {
      Escaped(path, "(read the other run's secret)");
    }
  }
  closedir(proc);
  printf("visible pids: %d\n", pids);
  if (ReadSmallFile("/workspace/secret", path, sizeof(path)) >= 0) {
    Escaped("/workspace/secret", "(this run sees the other run's workspace)");
  }
  return ExitStatus();
}
