// LD_PRELOAD probe for setuid_system: runs before the main() of the binary it is preloaded
// into, prints the ids the exec gave it, and exits before that binary does anything. The dynamic
// loader ignores LD_PRELOAD for a secure (setuid) exec, so a missing line is itself telling.
#include <stdio.h>
#include <sys/auxv.h>
#include <unistd.h>

__attribute__((constructor)) static void Probe(void) {
  printf("probe: uid=%d euid=%d secure=%lu\n", (int)getuid(), (int)geteuid(), getauxval(AT_SECURE));
  fflush(stdout);
  _exit(0);
}
