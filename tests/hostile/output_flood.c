// Endless output: writes 64 KiB blocks alternately to stdout and stderr, up to its own cap of
// 1 GiB. Contained when the sandbox's output limit ends the run first.
#include "guard.h"

int main(void) {
  RequireSandbox();
  static char block[64 << 10];
  memset(block, 'o', sizeof(block));
  const long long kCap = 1ll << 30;
  for (long long total = 0; total < kCap; total += (long long)sizeof(block)) {
    const int fd = (total / (long long)sizeof(block)) % 2 == 0 ? 1 : 2;
    for (size_t done = 0; done < sizeof(block);) {
      ssize_t n = write(fd, block + done, sizeof(block) - done);
      if (n < 0)
        return kExitUnexpected;
      done += (size_t)n;
    }
  }
  return kExitEscaped;
}
