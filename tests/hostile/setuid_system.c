// The host's setuid-root binaries (su, passwd, mount, chsh, gpasswd) must run without privilege.
// Each is run with LD_PRELOAD=/opt/hostile/suid_probe.so and its output captured: the probe
// prints euid and AT_SECURE and exits before the binary's main(). A secure exec (setuid took
// effect) ignores the probe, which the parent sees as a missing line.
#include "guard.h"

extern char** environ;

static void RunProbe(const char* binary) {
  if (access(binary, X_OK) != 0) {
    printf("%s: not present\n", binary);
    return;
  }
  int out[2];
  if (pipe(out) < 0) {
    Unexpected(binary, "pipe failed");
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    alarm(5);
    char* const argv[] = {(char*)binary, "--help", NULL};
    char* const envp[] = {"LD_PRELOAD=/opt/hostile/suid_probe.so", "PATH=/usr/bin:/bin", NULL};
    execve(binary, argv, envp);
    _exit(127);
  }
  close(out[1]);
  char buf[4096];
  size_t used = 0;
  for (ssize_t n;
       used + 1 < sizeof(buf) && (n = read(out[0], buf + used, sizeof(buf) - 1 - used)) > 0;) {
    used += (size_t)n;
  }
  buf[used] = '\0';
  close(out[0]);
  waitpid(pid, NULL, 0);
  int uid = -1, euid = -1;
  unsigned long secure = 1;
  const char* line = strstr(buf, "probe: ");
  if (line == NULL || sscanf(line, "probe: uid=%d euid=%d secure=%lu", &uid, &euid, &secure) != 3) {
    Escaped(binary, "(secure exec: setuid took effect, the probe was ignored)");
    return;
  }
  printf("%s: uid=%d euid=%d secure=%lu\n", binary, uid, euid, secure);
  if (euid == 0 || secure != 0)
    Escaped(binary, "(ran with privilege)");
}

int main(void) {
  RequireSandbox();
  const char* binaries[] = {"/usr/bin/su", "/usr/bin/passwd", "/usr/bin/mount", "/usr/bin/chsh",
                            "/usr/bin/gpasswd"};
  for (size_t i = 0; i < sizeof(binaries) / sizeof(binaries[0]); ++i)
    RunProbe(binaries[i]);
  return ExitStatus();
}
