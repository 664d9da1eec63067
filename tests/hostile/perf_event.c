// perf_event_open(2) on the process itself (allowed to unprivileged users by
// perf_event_paranoid <= 2) and CPU-wide. Must be refused.
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include "guard.h"

static int Open(int pid, int cpu, const char* what) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, 0);
  if (fd >= 0)
    close((int)fd);
  Expect(what, fd);
  return ExitStatus();
}

static int Self(void) {
  return Open(0, -1, "perf_event_open(self)");
}
static int Cpu0(void) {
  return Open(-1, 0, "perf_event_open(cpu 0)");
}

int main(void) {
  RequireSandbox();
  InChild("perf_event_open(self)", Self);
  InChild("perf_event_open(cpu 0)", Cpu0);
  return ExitStatus();
}
