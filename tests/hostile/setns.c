// setns(2) into the namespaces visible in /proc (the sandbox's own, at pid 1 and self): refused
// by policy even where the kernel would allow it.
#include <sched.h>

#include "guard.h"

static const char* ns_path;
static char what[128];

static int SetNs(void) {
  int fd = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Blocked(what, errno);
    return ExitStatus();
  }
  Expect(what, setns(fd, 0));
  close(fd);
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  const char* paths[] = {"/proc/1/ns/mnt",    "/proc/1/ns/user",    "/proc/1/ns/net",
                         "/proc/1/ns/pid",    "/proc/self/ns/user", "/proc/self/ns/mnt",
                         "/proc/1/ns/cgroup", "/proc/1/ns/uts"};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); ++i) {
    ns_path = paths[i];
    snprintf(what, sizeof(what), "setns(%s)", ns_path);
    InChild(what, SetNs);
  }
  return ExitStatus();
}
