// Huge argv and environment: prints what arrived so the test can compare with what it sent.
// Output: argc, total argv bytes, an FNV-1a hash of all arguments (each followed by a NUL), the
// number of environment entries starting with "HOSTILE_" and their total size, and whether
// WARDEN_HOSTILE_BIG (set only in warden's own environment) leaked in.
#include <stdint.h>

#include "guard.h"

extern char** environ;

int main(int argc, char** argv) {
  RequireSandbox();
  uint64_t hash = 1469598103934665603ull;
  size_t bytes = 0;
  for (int i = 1; i < argc; ++i) {
    for (const char* p = argv[i];; ++p) {
      hash = (hash ^ (unsigned char)*p) * 1099511628211ull;
      if (*p == '\0')
        break;
      ++bytes;
    }
  }
  size_t env_count = 0;
  size_t env_bytes = 0;
  for (char** e = environ; *e != NULL; ++e) {
    if (strncmp(*e, "HOSTILE_", 8) == 0) {
      ++env_count;
      env_bytes += strlen(*e);
    }
  }
  printf("argc: %d\n", argc - 1);
  printf("argv bytes: %zu\n", bytes);
  printf("argv hash: %016llx\n", (unsigned long long)hash);
  printf("env count: %zu\n", env_count);
  printf("env bytes: %zu\n", env_bytes);
  if (getenv("WARDEN_HOSTILE_BIG") != NULL) {
    Escaped("environment", "WARDEN_HOSTILE_BIG from warden's own environment leaked in");
  } else {
    printf("WARDEN_HOSTILE_BIG: absent\n");
  }
  return ExitStatus();
}
