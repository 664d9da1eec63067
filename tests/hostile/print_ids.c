// Prints the identity and capabilities the process got at exec. The test installs copies of it
// in the workspace as a setuid-root and a file-capability binary. Contained when exec granted
// nothing: euid and egid stay 1000 and CapEff/CapPrm stay empty.
#include "guard.h"

int main(void) {
  RequireSandbox();
  printf("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
         (int)getegid());
  if (geteuid() != 1000 || getegid() != 1000)
    Escaped("exec", "(changed the effective ids)");
  char status[8192];
  if (ReadSmallFile("/proc/self/status", status, sizeof(status)) <= 0)
    return kExitUnexpected;
  const char* keys[] = {"\nCapPrm:", "\nCapEff:"};
  for (size_t i = 0; i < 2; ++i) {
    const char* line = strstr(status, keys[i]);
    if (line == NULL)
      return kExitUnexpected;
    line += strlen(keys[i]);
    while (*line == '\t')
      ++line;
    printf("%s %.16s\n", keys[i] + 1, line);
    if (strncmp(line, "0000000000000000", 16) != 0)
      Escaped(keys[i] + 1, "(capabilities granted)");
  }
  return ExitStatus();
}
