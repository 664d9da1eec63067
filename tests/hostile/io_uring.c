// io_uring: io_uring_setup(2) must be refused (it bypasses seccomp for the operations it runs).
#include <linux/io_uring.h>
#include <sys/syscall.h>

#include "guard.h"

static int Setup(void) {
  struct io_uring_params params;
  memset(&params, 0, sizeof(params));
  long fd = syscall(SYS_io_uring_setup, 8, &params);
  if (fd >= 0)
    close((int)fd);
  Expect("io_uring_setup", fd);
  return ExitStatus();
}

static int Register(void) {
  Expect("io_uring_register(-1)", syscall(SYS_io_uring_register, -1, 0, NULL, 0));
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  InChild("io_uring_setup", Setup);
  // With no ring this fails with EBADF where io_uring is allowed: only EPERM/ENOSYS count.
  InChild("io_uring_register(-1)", Register);
  return ExitStatus();
}
