// Hardlink escapes. Tries to hardlink host files (a setuid binary, system files) into
// /workspace, which is a host directory that outlives the run: directly, through an O_PATH fd
// and /proc/self/fd, and with AT_EMPTY_PATH. Also tries to read /workspace/hl-secret, a hardlink
// the test planted to a host file only root may read. Anything created is removed at once.
#include "guard.h"

static void Created(const char* what, const char* path, int r) {
  if (r == 0) {
    unlink(path);
    Escaped(what, "(hardlink created in the workspace, then removed)");
  } else {
    Blocked(what, errno);
  }
}

int main(void) {
  RequireSandbox();
  const char* targets[] = {"/usr/bin/passwd", "/usr/bin/su", "/etc/passwd", "/usr/bin/env"};
  char what[256];
  for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); ++i) {
    snprintf(what, sizeof(what), "link(%s)", targets[i]);
    Created(what, "/workspace/hl-link", link(targets[i], "/workspace/hl-link"));

    int fd = open(targets[i], O_PATH | O_CLOEXEC);
    if (fd < 0)
      continue;
    char proc_path[64];
    snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
    snprintf(what, sizeof(what), "linkat(/proc/self/fd -> %s)", targets[i]);
    Created(what, "/workspace/hl-proc",
            linkat(AT_FDCWD, proc_path, AT_FDCWD, "/workspace/hl-proc", AT_SYMLINK_FOLLOW));
    snprintf(what, sizeof(what), "linkat(AT_EMPTY_PATH %s)", targets[i]);
    Created(what, "/workspace/hl-empty",
            linkat(fd, "", AT_FDCWD, "/workspace/hl-empty", AT_EMPTY_PATH));
    close(fd);
  }
  int fd = open("/workspace/hl-secret", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    Escaped("open(/workspace/hl-secret)", "(root-only host file readable)");
  } else {
    Blocked("open(/workspace/hl-secret)", errno);
  }
  return ExitStatus();
}
