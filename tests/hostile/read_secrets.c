// Reading host secrets. Usage: read_secrets HOST_SECRET_FILE
// Tries host-only paths (/etc/shadow, /root, /home, /var, /boot, /sys, the host's secret file),
// and looks for WARDEN_HOSTILE_SECRET= (set in warden's own environment) in every visible
// /proc/*/environ and cmdline. Any of them readable is an escape.
#include <dirent.h>

#include "guard.h"

static void MustNotOpen(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Blocked(path, errno);
    return;
  }
  char buf[64];
  ssize_t n = read(fd, buf, sizeof(buf));
  close(fd);
  char detail[64];
  snprintf(detail, sizeof(detail), "(opened, read returned %zd)", n);
  Escaped(path, detail);
}

// Scans one /proc/PID/FILE for warden's own secret environment variable.
static void ScanProcFile(const char* pid, const char* file) {
  char path[300];
  snprintf(path, sizeof(path), "/proc/%s/%s", pid, file);
  static char buf[1 << 20];
  ssize_t n = ReadSmallFile(path, buf, sizeof(buf));
  if (n < 0)
    return;
  for (ssize_t i = 0; i < n; ++i) {
    if (buf[i] == '\0')
      buf[i] = '\n';
  }
  if (strstr(buf, "WARDEN_HOSTILE_SECRET=") != NULL) {
    Escaped(path, "contains the host's secret");
  }
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 2)
    return kExitUnexpected;
  const char* files[] = {"/etc/shadow",
                         "/etc/gshadow",
                         "/etc/ssh/ssh_host_ed25519_key",
                         "/root/.bashrc",
                         "/root/.profile",
                         "/var/log/dpkg.log",
                         "/sys/kernel/notes",
                         "/sys/class/net/lo/address",
                         "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                         "/proc/kcore",
                         argv[1]};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); ++i)
    MustNotOpen(files[i]);

  const char* dirs[] = {"/root", "/home", "/var", "/boot", "/run", "/sys/fs", "/sys/kernel"};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); ++i) {
    DIR* dir = opendir(dirs[i]);
    if (dir == NULL) {
      Blocked(dirs[i], errno);
      continue;
    }
    closedir(dir);
    Escaped(dirs[i], "(directory exists)");
  }
  // /sys must be absent or empty.
  DIR* sys = opendir("/sys");
  if (sys == NULL) {
    Blocked("/sys", errno);
  } else {
    int entries = 0;
    for (struct dirent* e; (e = readdir(sys)) != NULL;) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
        ++entries;
    }
    closedir(sys);
    if (entries > 0)
      Escaped("/sys", "(has entries)");
    else
      printf("/sys: empty\n");
  }

  if (getenv("WARDEN_HOSTILE_SECRET") != NULL)
    Escaped("getenv", "WARDEN_HOSTILE_SECRET leaked");
  int pids = 0;
  DIR* proc = opendir("/proc");
  if (proc == NULL)
    return kExitUnexpected;
  for (struct dirent* e; (e = readdir(proc)) != NULL;) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    ++pids;
    ScanProcFile(e->d_name, "environ");
    ScanProcFile(e->d_name, "cmdline");
  }
  closedir(proc);
  printf("visible pids: %d\n", pids);
  char init_cmdline[256];
  ssize_t n = ReadSmallFile("/proc/1/cmdline", init_cmdline, sizeof(init_cmdline));
  printf("pid 1: %s\n", n > 0 ? init_cmdline : "(unreadable)");
  return ExitStatus();
}
