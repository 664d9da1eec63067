// unshare(2) of every namespace type, each in its own child (a new namespace dies with it).
#include <sched.h>

#include "guard.h"

static int flag;

static char what[64];

static int Unshare(void) {
  Expect(what, unshare(flag));
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  const struct {
    int flag;
    const char* name;
  } kinds[] = {{CLONE_NEWUSER, "CLONE_NEWUSER"},
               {CLONE_NEWNS, "CLONE_NEWNS"},
               {CLONE_NEWNET, "CLONE_NEWNET"},
               {CLONE_NEWPID, "CLONE_NEWPID"},
               {CLONE_NEWUTS, "CLONE_NEWUTS"},
               {CLONE_NEWIPC, "CLONE_NEWIPC"},
               {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
               {0x00000080 /* CLONE_NEWTIME */, "CLONE_NEWTIME"},
               {CLONE_NEWUSER | CLONE_NEWNS, "CLONE_NEWUSER|CLONE_NEWNS"}};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); ++i) {
    flag = kinds[i].flag;
    snprintf(what, sizeof(what), "unshare(%s)", kinds[i].name);
    InChild(what, Unshare);
  }
  return ExitStatus();
}
