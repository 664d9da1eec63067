// Writing system directories. Usage: write_system NAME
// Tries to create NAME (and a directory NAME.d) in /, /usr, /usr/bin, /usr/lib, /etc, /bin, /lib,
// /sbin, /opt/hostile, /dev and /proc; to open existing system files for writing (never writing
// a byte); and to chmod one to its current mode. Anything created is removed at once.
#include "guard.h"

static void TryCreate(const char* dir, const char* name) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    close(fd);
    unlink(path);
    Escaped(path, "(created, then removed)");
  } else {
    Blocked(path, errno);
  }
  snprintf(path, sizeof(path), "%s/%s.d", dir, name);
  if (mkdir(path, 0700) == 0) {
    rmdir(path);
    Escaped(path, "(mkdir succeeded, then removed)");
  } else {
    Blocked(path, errno);
  }
}

static void TryOpenForWrite(const char* path) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);  // no O_TRUNC, no write: opening is the test
  if (fd >= 0) {
    close(fd);
    Escaped(path, "(opened for writing)");
  } else {
    Blocked(path, errno);
  }
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 2)
    return kExitUnexpected;
  const char* dirs[] = {"/",    "/usr",  "/usr/bin",     "/usr/lib", "/etc", "/bin",
                        "/lib", "/sbin", "/opt/hostile", "/dev",     "/proc"};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); ++i)
    TryCreate(dirs[i], argv[1]);
  TryOpenForWrite("/usr/bin/env");
  TryOpenForWrite("/etc/passwd");
  TryOpenForWrite("/etc/hosts");
  TryOpenForWrite("/opt/hostile/write_system");
  struct stat st;
  if (stat("/usr/bin/env", &st) == 0) {
    Expect("chmod(/usr/bin/env)", chmod("/usr/bin/env", st.st_mode & 07777));
  }
  return ExitStatus();
}
