// Shared by every hostile program: the safety guard that refuses to run outside a sandbox, and
// the helpers that print what an attack observed.
//
// Contract of every hostile program: RequireSandbox() first; then print one line per attempt,
// "<attempt>: <ERRNO>" when it was refused and "<attempt>: SUCCEEDED <detail>" when it was not;
// exit 0 when every attempt was contained, 3 when one succeeded, 2 when something unexpected
// happened, 99 when the guard refused to run at all.
#pragma once

// Built with -D_GNU_SOURCE (tests/CMakeLists.txt): it must be seen before any system header.
#ifndef _GNU_SOURCE
#error "hostile programs are compiled with -D_GNU_SOURCE"
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
  kExitContained = 0,
  kExitUnexpected = 2,
  kExitEscaped = 3,
  kExitRefused = 99,
};

// Inode numbers the kernel gives the initial namespaces (PROC_USER_INIT_INO, PROC_PID_INIT_INO).
#define HOSTILE_INIT_USER_NS "user:[4026531837]"
#define HOSTILE_INIT_PID_NS "pid:[4026531836]"

static int hostile_escaped __attribute__((unused));
static int hostile_unexpected __attribute__((unused));

static inline void Refuse(const char* why) {
  fprintf(stderr, "guard: refusing to run outside a sandbox: %s\n", why);
  _exit(kExitRefused);
}

// Reads a small file into buf (NUL-terminated). Returns the length, or -1.
static inline ssize_t ReadSmallFile(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t used = 0;
  while (used + 1 < size) {
    ssize_t n = read(fd, buf + used, size - 1 - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    used += (size_t)n;
  }
  close(fd);
  buf[used] = '\0';
  return (ssize_t)used;
}

static inline int NamespaceIs(const char* link, const char* initial) {
  char target[64];
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  if (n < 0)
    return -1;
  target[n] = '\0';
  return strcmp(target, initial) == 0;
}

// Exits 99 at once, having done nothing, unless this process is unprivileged and inside both a
// user namespace that does not map host root and a PID namespace. Never weaken: a hostile program
// run by mistake on the host (as root, on a test machine) must not do anything.
static inline void RequireSandbox(void) {
  if (getuid() == 0)
    Refuse("uid is 0");

  char map[4096];
  if (ReadSmallFile("/proc/self/uid_map", map, sizeof(map)) <= 0)
    Refuse("no /proc/self/uid_map");
  // Every line is "inside outside count"; the host's own is "0 0 4294967295". Refuse any mapping
  // that reaches host uid 0.
  for (char* line = map; line != NULL && *line != '\0';) {
    unsigned long inside = 0, outside = 0, count = 0;
    if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) != 3)
      Refuse("bad uid_map");
    if (outside == 0)
      Refuse("uid_map maps host root");
    char* next = strchr(line, '\n');
    line = next != NULL ? next + 1 : NULL;
  }
  if (NamespaceIs("/proc/self/ns/user", HOSTILE_INIT_USER_NS) != 0) {
    Refuse("in the initial user namespace");
  }

  // PID namespace: NSpid lists one pid per namespace level as seen from the /proc mount. With a
  // fresh /proc mounted inside the sandbox it has a single field, so a single field is only
  // accepted when the namespace itself is not the initial one.
  char status[8192];
  if (ReadSmallFile("/proc/self/status", status, sizeof(status)) <= 0)
    Refuse("no /proc/self/status");
  const char* nspid = strstr(status, "\nNSpid:");
  if (nspid == NULL)
    Refuse("no NSpid line");
  int fields = 0;
  for (const char* p = nspid + 7; *p != '\n' && *p != '\0'; ++p) {
    if ((*p >= '0' && *p <= '9') && (p[-1] == '\t' || p[-1] == ' ' || p[-1] == ':'))
      ++fields;
  }
  if (fields < 2 && NamespaceIs("/proc/self/ns/pid", HOSTILE_INIT_PID_NS) != 0) {
    Refuse("in the initial PID namespace");
  }

  // Unbuffered output: lines are never lost to a kill and never duplicated by fork().
  setvbuf(stdout, NULL, _IONBF, 0);
  setvbuf(stderr, NULL, _IONBF, 0);
}

static inline const char* ErrName(int err) {
  const char* name = strerrorname_np(err);
  return name != NULL ? name : "E?";
}

// An attempt was refused with errno `err`.
static inline void Blocked(const char* what, int err) {
  printf("%s: %s\n", what, ErrName(err));
}

// An attempt succeeded: the attack was not contained.
static inline void Escaped(const char* what, const char* detail) {
  printf("%s: SUCCEEDED %s\n", what, detail);
  hostile_escaped = 1;
}

// Something neither contained nor escaped (a broken test setup); fails the run.
static inline void Unexpected(const char* what, const char* detail) {
  printf("%s: UNEXPECTED %s\n", what, detail);
  hostile_unexpected = 1;
}

// Reports a syscall result: r < 0 is contained (errno names why), anything else escaped.
static inline void Expect(const char* what, long r) {
  if (r < 0) {
    Blocked(what, errno);
  } else {
    char detail[64];
    snprintf(detail, sizeof(detail), "(returned %ld)", r);
    Escaped(what, detail);
  }
}

// Like Expect(), for calls whose permission check comes first: only a refusal (EPERM, EACCES,
// ENOSYS) is contained; any other error means the kernel got past the check.
static inline void ExpectRefused(const char* what, long r) {
  if (r < 0 && errno != EPERM && errno != EACCES && errno != ENOSYS) {
    char detail[96];
    snprintf(detail, sizeof(detail), "(got past the permission check: %s)", ErrName(errno));
    Escaped(what, detail);
    return;
  }
  Expect(what, r);
}

static inline int ExitStatus(void) {
  if (hostile_escaped)
    return kExitEscaped;
  if (hostile_unexpected)
    return kExitUnexpected;
  return kExitContained;
}

// Runs attempt() in a child process, so that a seccomp policy that kills (SIGSYS) is observed as
// "contained" instead of ending the whole program. attempt() prints its own line and returns
// ExitStatus()-style codes. A child ended by `allowed_signal` (0: none) is contained too: the
// kernel itself refused the attempt, and `meaning` says why.
static inline void InChildAllowing(const char* what, int (*attempt)(void), int allowed_signal,
                                   const char* meaning) {
  pid_t pid = fork();
  if (pid < 0) {
    Unexpected(what, "fork failed");
    return;
  }
  if (pid == 0) {
    alarm(10);  // a stuck attempt must not hang the run
    _exit(attempt());
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      Unexpected(what, "waitpid failed");
      return;
    }
  }
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == kExitEscaped)
      hostile_escaped = 1;
    if (WEXITSTATUS(status) != kExitContained && WEXITSTATUS(status) != kExitEscaped) {
      hostile_unexpected = 1;
    }
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
    printf("%s: killed by SIGSYS\n", what);
  } else if (WIFSIGNALED(status) && allowed_signal != 0 && WTERMSIG(status) == allowed_signal) {
    printf("%s: killed by signal %d (%s)\n", what, allowed_signal, meaning);
  } else {
    char detail[64];
    snprintf(detail, sizeof(detail), "(child ended by signal %d)", WTERMSIG(status));
    Unexpected(what, detail);
  }
}

static inline void InChild(const char* what, int (*attempt)(void)) {
  InChildAllowing(what, attempt, 0, "");
}
