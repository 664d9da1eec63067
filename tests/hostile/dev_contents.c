// /dev contents. Every entry of /dev must be one of the minimal set (null, zero, full, random,
// urandom, tty, pts, ptmx, shm, fd, stdin, stdout, stderr, core, mqueue); the basic devices must
// be the real ones and work; host devices must be absent by path; /dev/pts must hold no host
// terminal.
#include <dirent.h>
#include <sys/sysmacros.h>

#include "guard.h"

static int Allowed(const char* name) {
  const char* allowed[] = {"null", "zero", "full",  "random", "urandom", "tty",  "pts",   "ptmx",
                           "shm",  "fd",   "stdin", "stdout", "stderr",  "core", "mqueue"};
  for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); ++i) {
    if (strcmp(name, allowed[i]) == 0)
      return 1;
  }
  return 0;
}

static void CheckCharDevice(const char* path, unsigned major_number, unsigned minor_number) {
  struct stat st;
  if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != major_number ||
      minor(st.st_rdev) != minor_number) {
    Unexpected(path, "(missing or not the expected device)");
  }
}

int main(void) {
  RequireSandbox();
  DIR* dev = opendir("/dev");
  if (dev == NULL)
    return kExitUnexpected;
  for (struct dirent* e; (e = readdir(dev)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    printf("/dev/%s\n", e->d_name);
    if (!Allowed(e->d_name))
      Escaped(e->d_name, "(unexpected entry in /dev)");
  }
  closedir(dev);

  CheckCharDevice("/dev/null", 1, 3);
  CheckCharDevice("/dev/zero", 1, 5);
  CheckCharDevice("/dev/full", 1, 7);
  CheckCharDevice("/dev/random", 1, 8);
  CheckCharDevice("/dev/urandom", 1, 9);
  char buf[16];
  int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "x", 1) != -1 || errno != ENOSPC)
    Unexpected("/dev/full", "broken");
  if (fd >= 0)
    close(fd);
  fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
    Unexpected("/dev/urandom", "broken");
  }
  if (fd >= 0)
    close(fd);

  const char* host_devices[] = {"/dev/vsock",   "/dev/vda",          "/dev/sda",
                                "/dev/mem",     "/dev/kmem",         "/dev/port",
                                "/dev/kmsg",    "/dev/kvm",          "/dev/fuse",
                                "/dev/loop0",   "/dev/loop-control", "/dev/userfaultfd",
                                "/dev/net/tun", "/dev/console",      "/dev/tty0",
                                "/dev/ttyS0",   "/dev/zram0",        "/dev/btrfs-control",
                                "/dev/hwrng",   "/dev/cpu/0/msr",    "/dev/vga_arbiter"};
  for (size_t i = 0; i < sizeof(host_devices) / sizeof(host_devices[0]); ++i) {
    int dfd = open(host_devices[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (dfd >= 0) {
      close(dfd);
      Escaped(host_devices[i], "(opened)");
    } else if (errno == ENOENT) {
      Blocked(host_devices[i], errno);
    } else {
      Escaped(host_devices[i], ErrName(errno));  // the node exists
    }
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
