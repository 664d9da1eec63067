// Privileged operations that would touch the host: hardware I/O ports, the clock, the host name,
// real-time scheduling and negative nice values, swap. Arguments are chosen so that a call that
// does succeed changes nothing (the current time, the current host name) or is undone at once.
#include <sched.h>
#include <sys/io.h>
#include <sys/resource.h>
#include <sys/swap.h>
#include <time.h>

#include "guard.h"

static int Ioperm(void) {
  int r = ioperm(0x80, 1, 1);
  if (r == 0)
    ioperm(0x80, 1, 0);
  ExpectRefused("ioperm(0x80)", r);
  return ExitStatus();
}
static int Iopl(void) {
  int r = iopl(3);
  if (r == 0)
    iopl(0);
  ExpectRefused("iopl(3)", r);
  return ExitStatus();
}
static int SetClock(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  ExpectRefused("clock_settime(now)", clock_settime(CLOCK_REALTIME, &now));
  return ExitStatus();
}
static int SetHostname(void) {
  char name[256];
  if (gethostname(name, sizeof(name)) < 0)
    return kExitUnexpected;
  ExpectRefused("sethostname(current)", sethostname(name, strlen(name)));
  return ExitStatus();
}
static int RealTime(void) {
  struct sched_param param = {.sched_priority = 1};
  int r = sched_setscheduler(0, SCHED_FIFO, &param);
  if (r == 0) {
    param.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &param);
  }
  ExpectRefused("sched_setscheduler(SCHED_FIFO)", r);
  return ExitStatus();
}
static int NegativeNice(void) {
  ExpectRefused("setpriority(-10)", setpriority(PRIO_PROCESS, 0, -10));
  return ExitStatus();
}
static int Swapoff(void) {
  ExpectRefused("swapoff(/nonexistent)", swapoff("/nonexistent-warden-hostile"));
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  InChild("ioperm(0x80)", Ioperm);
  InChild("iopl(3)", Iopl);
  InChild("clock_settime(now)", SetClock);
  InChild("sethostname(current)", SetHostname);
  InChild("sched_setscheduler(SCHED_FIFO)", RealTime);
  InChild("setpriority(-10)", NegativeNice);
  InChild("swapoff(/nonexistent)", Swapoff);
  return ExitStatus();
}
