// 32-bit (int $0x80) and x32 system calls. A seccomp filter written for x86_64 syscall numbers is
// bypassed by the i386 table (unshare is 310 there) unless the filter checks the architecture.
// Every 32-bit and x32 call must be refused (or kill the caller with SIGSYS). A kernel built or
// booted without 32-bit emulation (ia32_emulation=0) answers int $0x80 with SIGSEGV: no system
// call runs, so that is contained too; a call that returns a value is an escape on any kernel.
#include <sched.h>
#include <sys/syscall.h>

#include "guard.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

static long Int80(long nr, long arg1) {
  long ret;
  __asm__ volatile("int $0x80"
                   : "=a"(ret)
                   : "a"(nr), "b"(arg1), "c"(0), "d"(0)
                   : "memory", "r8", "r9", "r10", "r11");
  return ret;
}

static void ReportRaw(const char* what, long ret) {
  if (ret < 0 && ret > -4096) {
    errno = (int)-ret;
    Blocked(what, errno);
  } else {
    char detail[64];
    snprintf(detail, sizeof(detail), "(returned %ld)", ret);
    Escaped(what, detail);
  }
}

static int Int80Getpid(void) {
  ReportRaw("int $0x80 getpid", Int80(20, 0));  // __NR_getpid on i386
  return ExitStatus();
}

static int Int80Unshare(void) {
  ReportRaw("int $0x80 unshare(CLONE_NEWUSER)", Int80(310, CLONE_NEWUSER));
  return ExitStatus();
}

static int Int80Setuid(void) {
  ReportRaw("int $0x80 getuid32", Int80(199, 0));  // __NR_getuid32 on i386
  return ExitStatus();
}

static int X32Getpid(void) {
  Expect("x32 getpid", syscall(__X32_SYSCALL_BIT | SYS_getpid));
  return ExitStatus();
}

static int X32Unshare(void) {
  Expect("x32 unshare(CLONE_NEWUSER)", syscall(__X32_SYSCALL_BIT | SYS_unshare, CLONE_NEWUSER));
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  static const char kNoEmulation[] = "this kernel has no 32-bit system call entry";
  InChildAllowing("int $0x80 getpid", Int80Getpid, SIGSEGV, kNoEmulation);
  InChildAllowing("int $0x80 unshare(CLONE_NEWUSER)", Int80Unshare, SIGSEGV, kNoEmulation);
  InChildAllowing("int $0x80 getuid32", Int80Setuid, SIGSEGV, kNoEmulation);
  InChild("x32 getpid", X32Getpid);
  InChild("x32 unshare(CLONE_NEWUSER)", X32Unshare);
  return ExitStatus();
}
