// Disk fill. Usage: fill_disk many|one DIR
//   many: writes 1 MiB files into DIR until a write fails (cap 2 GiB);
//   one:  grows one file in DIR until a write fails (cap 2 GiB).
// Contained when the sandbox stops it (a kill, SIGXFSZ, EFBIG or ENOSPC) before the cap.
#include "guard.h"

enum { kBlock = 1 << 20 };
static const long long kCap = 2ll << 30;
static char block[kBlock];

static int WriteAll(int fd) {
  for (size_t done = 0; done < kBlock;) {
    ssize_t n = write(fd, block + done, kBlock - done);
    if (n < 0)
      return -1;
    done += (size_t)n;
  }
  return 0;
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 3)
    return kExitUnexpected;
  const int many = strcmp(argv[1], "many") == 0;
  memset(block, 'x', sizeof(block));
  char path[4096];
  long long written = 0;
  int fd = -1;
  int err = 0;
  for (int i = 0; written < kCap; ++i) {
    if (fd < 0 || many) {
      if (fd >= 0)
        close(fd);
      snprintf(path, sizeof(path), "%s/fill-%05d", argv[2], many ? i : 0);
      fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) {
        err = errno;
        break;
      }
    }
    if (WriteAll(fd) < 0) {
      err = errno;
      break;
    }
    written += kBlock;
  }
  printf("written: %lld MiB\n", written >> 20);
  if (err == 0) {
    Escaped("write", "reached the 2 GiB cap");
  } else {
    Blocked("write", err);
  }
  return ExitStatus();
}
