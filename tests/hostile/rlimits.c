// Resource limits and core dumps. Usage: rlimits DISK_LIMIT_BYTES
// RLIMIT_CORE must be 0 with hard limit 0 (raising it refused), RLIMIT_FSIZE at most the disk
// limit, RLIMIT_NOFILE finite; raising hard limits must be refused; and abort() must not dump core
// (the host's core_pattern would write it into /workspace, a host directory).
#include <sys/resource.h>

#include "guard.h"

static void Show(const char* name, int resource, struct rlimit* out) {
  getrlimit(resource, out);
  printf("%s: soft=%llu hard=%llu\n", name, (unsigned long long)out->rlim_cur,
         (unsigned long long)out->rlim_max);
}

static int RaiseCore(void) {
  struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
  Expect("setrlimit(RLIMIT_CORE, unlimited)", setrlimit(RLIMIT_CORE, &unlimited));
  return ExitStatus();
}

static int RaiseFsize(void) {
  struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
  Expect("setrlimit(RLIMIT_FSIZE, unlimited)", setrlimit(RLIMIT_FSIZE, &unlimited));
  return ExitStatus();
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 2)
    return kExitUnexpected;
  const unsigned long long disk_limit = strtoull(argv[1], NULL, 10);
  struct rlimit core, fsize, nofile;
  Show("RLIMIT_CORE", RLIMIT_CORE, &core);
  Show("RLIMIT_FSIZE", RLIMIT_FSIZE, &fsize);
  Show("RLIMIT_NOFILE", RLIMIT_NOFILE, &nofile);
  if (core.rlim_cur != 0 || core.rlim_max != 0)
    Escaped("RLIMIT_CORE", "(core dumps allowed)");
  if (fsize.rlim_max == RLIM_INFINITY || fsize.rlim_max > disk_limit) {
    Escaped("RLIMIT_FSIZE", "(above the disk limit)");
  }
  if (nofile.rlim_max == RLIM_INFINITY)
    Escaped("RLIMIT_NOFILE", "(unlimited)");
  InChild("setrlimit(RLIMIT_CORE, unlimited)", RaiseCore);
  InChild("setrlimit(RLIMIT_FSIZE, unlimited)", RaiseFsize);

  if (chdir("/workspace") < 0)
    return kExitUnexpected;
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit want = {core.rlim_max, core.rlim_max};
    setrlimit(RLIMIT_CORE, &want);
    abort();
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status) && WCOREDUMP(status)) {
    Escaped("abort()", "(dumped core)");
  } else {
    printf("abort(): no core dump\n");
  }
  return ExitStatus();
}
