// personality(2): flags that weaken memory protection (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE,
// MMAP_PAGE_ZERO) must not take effect, and page zero must not be mappable.
#include <sys/mman.h>
#include <sys/personality.h>

#include "guard.h"

static unsigned long persona;

static char what[96];

static int SetPersona(void) {
  int r = personality(persona);
  int now = personality(0xffffffff);
  if (r != -1 && now != -1 && ((unsigned long)now & persona) == persona) {
    Escaped(what, "(took effect)");
  } else {
    Blocked(what, r == -1 ? errno : EPERM);
  }
  return ExitStatus();
}

static int MapPageZero(void) {
  void* p =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p != MAP_FAILED) {
    munmap(p, 4096);
    Escaped("mmap(address 0)", "(page zero mapped)");
  } else {
    Blocked("mmap(address 0)", errno);
  }
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  printf("personality: 0x%x\n", (unsigned)personality(0xffffffff));
  const struct {
    unsigned long persona;
    const char* name;
  } kinds[] = {{READ_IMPLIES_EXEC, "READ_IMPLIES_EXEC"},
               {ADDR_NO_RANDOMIZE, "ADDR_NO_RANDOMIZE"},
               {MMAP_PAGE_ZERO, "MMAP_PAGE_ZERO"}};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); ++i) {
    persona = kinds[i].persona;
    snprintf(what, sizeof(what), "personality(%s)", kinds[i].name);
    InChild(what, SetPersona);
  }
  InChild("mmap(address 0)", MapPageZero);
  return ExitStatus();
}
