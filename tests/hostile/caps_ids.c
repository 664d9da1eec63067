// Identity and privileges: uid/gid 1000, every capability set empty, no_new_privs, a seccomp
// filter, uid_map/gid_map that map 1000 alone to a host id and never reach host id 0, and
// setuid(0) & co refused.
#include <grp.h>
#include <sys/prctl.h>

#include "guard.h"

static void CheckStatusLine(const char* status, const char* key, const char* expected) {
  const char* line = strstr(status, key);
  if (line == NULL) {
    Unexpected(key + 1, "(missing from /proc/self/status)");
    return;
  }
  line += strlen(key);
  while (*line == '\t' || *line == ' ')
    ++line;
  const size_t len = strcspn(line, "\n");
  printf("%s %.*s\n", key + 1, (int)len, line);
  if (strlen(expected) != len || strncmp(line, expected, len) != 0) {
    char detail[128];
    snprintf(detail, sizeof(detail), "(is %.*s, want %s)", (int)len, line, expected);
    Escaped(key + 1, detail);
  }
}

// Every line of the map ("inside outside count") must keep host id 0 out, and the sandbox user
// 1000 must be mapped, alone, to a non-root host id.
static void CheckMap(const char* path) {
  char map[1024];
  if (ReadSmallFile(path, map, sizeof(map)) <= 0) {
    Unexpected(path, "(unreadable)");
    return;
  }
  int sandbox_user_mapped = 0;
  for (char* line = strtok(map, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    unsigned long inside = 0, outside = 0, count = 0;
    if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) != 3) {
      Unexpected(path, "(unparsable)");
      return;
    }
    printf("%s: %lu %lu %lu\n", path, inside, outside, count);
    if (outside == 0) {
      Escaped(path, "(maps host id 0)");
    }
    if (inside <= 1000 && 1000 < inside + count) {
      sandbox_user_mapped = inside == 1000 && count == 1;
    }
  }
  if (!sandbox_user_mapped)
    Escaped(path, "(1000 is not mapped alone to one host id)");
}

static int SetUid0(void) {
  Expect("setuid(0)", setuid(0));
  return ExitStatus();
}
static int SetResUid0(void) {
  Expect("setresuid(0, 0, 0)", setresuid(0, 0, 0));
  return ExitStatus();
}
static int SetGid0(void) {
  Expect("setgid(0)", setgid(0));
  return ExitStatus();
}
static int SetGroups0(void) {
  gid_t zero = 0;
  Expect("setgroups({0})", setgroups(1, &zero));
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  printf("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
         (int)getegid());
  if (getuid() != 1000 || geteuid() != 1000)
    Escaped("uid", "(not 1000)");
  if (getgid() != 1000 || getegid() != 1000)
    Escaped("gid", "(not 1000)");

  char status[8192];
  if (ReadSmallFile("/proc/self/status", status, sizeof(status)) <= 0)
    return kExitUnexpected;
  CheckStatusLine(status, "\nCapInh:", "0000000000000000");
  CheckStatusLine(status, "\nCapPrm:", "0000000000000000");
  CheckStatusLine(status, "\nCapEff:", "0000000000000000");
  CheckStatusLine(status, "\nCapBnd:", "0000000000000000");
  CheckStatusLine(status, "\nCapAmb:", "0000000000000000");
  CheckStatusLine(status, "\nNoNewPrivs:", "1");
  CheckStatusLine(status, "\nSeccomp:", "2");
  CheckMap("/proc/self/uid_map");
  CheckMap("/proc/self/gid_map");

  InChild("setuid(0)", SetUid0);
  InChild("setresuid(0, 0, 0)", SetResUid0);
  InChild("setgid(0)", SetGid0);
  InChild("setgroups({0})", SetGroups0);
  return ExitStatus();
}
