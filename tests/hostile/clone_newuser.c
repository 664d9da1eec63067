// clone(2) and clone3(2) with namespace flags (CLONE_NEWUSER first of all). A clone that
// succeeds creates a child that exits at once; the parent reports the escape.
#include <linux/sched.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "guard.h"

static unsigned long flags;

static char what[128];

static int Clone(void) {
  long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (r == 0)
    _exit(0);
  if (r > 0)
    waitpid((pid_t)r, NULL, 0);
  Expect(what, r);
  return ExitStatus();
}

static int Clone3(void) {
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  long r = syscall(SYS_clone3, &args, sizeof(args));
  if (r == 0)
    _exit(0);
  if (r > 0)
    waitpid((pid_t)r, NULL, 0);
  Expect(what, r);
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  const struct {
    unsigned long flags;
    const char* name;
  } kinds[] = {
      {CLONE_NEWUSER, "CLONE_NEWUSER"},
      {CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID, "CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID"},
      {CLONE_NEWNET, "CLONE_NEWNET"},
      {CLONE_NEWNS, "CLONE_NEWNS"}};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); ++i) {
    flags = kinds[i].flags;
    snprintf(what, sizeof(what), "clone(%s)", kinds[i].name);
    InChild(what, Clone);
    snprintf(what, sizeof(what), "clone3(%s)", kinds[i].name);
    InChild(what, Clone3);
  }
  return ExitStatus();
}
