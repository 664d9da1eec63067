// Loading kernel code: init_module, finit_module, delete_module and kexec_load. The arguments
// are invalid on purpose (no image, fd -1, a module that does not exist, a foreign kexec
// architecture), so even a privileged caller loads nothing; only a refusal before those checks
// (EPERM/ENOSYS) counts as contained.
#include <linux/kexec.h>
#include <sys/syscall.h>

#include "guard.h"

static int InitModule(void) {
  ExpectRefused("init_module(NULL)", syscall(SYS_init_module, NULL, 0, ""));
  return ExitStatus();
}
static int FinitModule(void) {
  ExpectRefused("finit_module(-1)", syscall(SYS_finit_module, -1, "", 0));
  return ExitStatus();
}
static int DeleteModule(void) {
  ExpectRefused("delete_module(warden_hostile_none)",
                syscall(SYS_delete_module, "warden_hostile_none", O_NONBLOCK));
  return ExitStatus();
}
static int KexecLoad(void) {
  ExpectRefused("kexec_load(foreign arch)", syscall(SYS_kexec_load, 0, 0, NULL, KEXEC_ARCH_ARM));
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  InChild("init_module(NULL)", InitModule);
  InChild("finit_module(-1)", FinitModule);
  InChild("delete_module(warden_hostile_none)", DeleteModule);
  InChild("kexec_load(foreign arch)", KexecLoad);
  return ExitStatus();
}
