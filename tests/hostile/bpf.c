// bpf(2): creating a map and loading a trivial socket filter program must be refused.
#include <linux/bpf.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "guard.h"

static int MapCreate(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
  if (fd >= 0)
    close((int)fd);
  Expect("bpf(BPF_MAP_CREATE)", fd);
  return ExitStatus();
}

static int ProgLoad(void) {
  struct bpf_insn insns[2];
  memset(insns, 0, sizeof(insns));
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = 0
  insns[1].code = BPF_JMP | BPF_EXIT;
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = 2;
  attr.license = (uint64_t)(uintptr_t) "GPL";
  long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
  if (fd >= 0)
    close((int)fd);
  Expect("bpf(BPF_PROG_LOAD)", fd);
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  InChild("bpf(BPF_MAP_CREATE)", MapCreate);
  InChild("bpf(BPF_PROG_LOAD)", ProgLoad);
  return ExitStatus();
}
