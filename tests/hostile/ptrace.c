// ptrace(2). Usage: ptrace HOST_PID
// Attaches to its own child, asks to be traced by its parent, seizes its parent, and attaches to
// a host pid (which must not even exist here). Anything attached is detached at once.
#include <sys/ptrace.h>

#include "guard.h"

static pid_t target;

static int Attach(void) {
  long r = ptrace(PTRACE_ATTACH, target, NULL, NULL);
  if (r == 0)
    ptrace(PTRACE_DETACH, target, NULL, NULL);
  Expect("ptrace(PTRACE_ATTACH, host pid)", r);
  return ExitStatus();
}

static int Seize(void) {
  long r = ptrace(PTRACE_SEIZE, target, NULL, NULL);
  if (r == 0)
    ptrace(PTRACE_DETACH, target, NULL, NULL);
  Expect("ptrace(PTRACE_SEIZE, parent)", r);
  return ExitStatus();
}

static int TraceMe(void) {
  Expect("ptrace(PTRACE_TRACEME)", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
  return ExitStatus();
}

static int AttachOwnChild(void) {
  pid_t child = fork();
  if (child == 0) {
    alarm(10);
    for (;;)
      pause();
  }
  if (child < 0)
    return kExitUnexpected;
  long r = ptrace(PTRACE_ATTACH, child, NULL, NULL);
  if (r == 0)
    ptrace(PTRACE_DETACH, child, NULL, NULL);
  Expect("ptrace(PTRACE_ATTACH, own child)", r);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  return ExitStatus();
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 2)
    return kExitUnexpected;
  InChild("ptrace(PTRACE_ATTACH, own child)", AttachOwnChild);
  InChild("ptrace(PTRACE_TRACEME)", TraceMe);
  target = getpid();
  InChild("ptrace(PTRACE_SEIZE, parent)", Seize);
  target = (pid_t)atoi(argv[1]);
  InChild("ptrace(PTRACE_ATTACH, host pid)", Attach);
  return ExitStatus();
}
