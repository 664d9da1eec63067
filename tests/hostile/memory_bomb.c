// Memory bomb: allocates and touches 8 MiB chunks up to its own cap of 4 GiB. Contained when the
// sandbox's memory limit kills it; reaching the cap means the limit did nothing.
#include "guard.h"

int main(void) {
  RequireSandbox();
  const size_t kChunk = 8u << 20;
  const size_t kCap = 4ull << 30;
  size_t total = 0;
  while (total < kCap) {
    char* p = malloc(kChunk);
    if (p == NULL) {
      printf("malloc: NULL after %zu MiB\n", total >> 20);
      return kExitUnexpected;
    }
    memset(p, 0x5a, kChunk);
    total += kChunk;
    if (total % (64u << 20) == 0)
      printf("allocated %zu MiB\n", total >> 20);
  }
  Escaped("memory", "allocated 4 GiB without being stopped");
  return ExitStatus();
}
