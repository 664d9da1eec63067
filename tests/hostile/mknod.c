// Device nodes. Tries to create block and character device nodes for host devices (disk,
// /dev/mem, /dev/kmsg) in /workspace and /tmp. Any node created is removed at once, never opened.
#include <sys/sysmacros.h>

#include "guard.h"

static void TryNode(const char* path, mode_t type, unsigned major_number, unsigned minor_number) {
  if (mknod(path, type | 0600, makedev(major_number, minor_number)) == 0) {
    unlink(path);
    Escaped(path, "(device node created, then removed)");
  } else {
    Blocked(path, errno);
  }
}

int main(void) {
  RequireSandbox();
  TryNode("/workspace/sda", S_IFBLK, 8, 0);
  TryNode("/workspace/vda", S_IFBLK, 253, 0);
  TryNode("/tmp/vda", S_IFBLK, 253, 0);
  TryNode("/tmp/mem", S_IFCHR, 1, 1);
  TryNode("/tmp/kmsg", S_IFCHR, 1, 11);
  TryNode("/workspace/null", S_IFCHR, 1, 3);
  return ExitStatus();
}
