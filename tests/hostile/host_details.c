// Reading where the sandbox lives on the host. Usage: host_details WORD...
// Reads what the kernel tells a process about its mounts and cgroups (/proc/self/mountinfo,
// mounts, mountstats, cgroup, and the same files of every visible process) and reports each WORD
// (a host path, "warden") found in them; a WORD of digits only (the supervisor's pid) is looked
// for as "-WORD-", the way a run's cgroup name ("run-<pid>-<n>") carries it. A tenant must not
// learn the host's paths, the server's pid, or a run counter that shows other tenants' activity.
// Every /proc/self/cgroup line must end in ":/" (the run's own cgroup namespace). The line of the
// harness's own /opt/hostile bind is skipped: its host path is the test's choice, not Warden's.
#include <dirent.h>

#include "guard.h"

static char buf[1 << 20];

// Blanks the mountinfo/mounts line that mounts /opt/hostile.
static void SkipHarnessLine(char* text) {
  for (char* line = text; line != NULL && *line != '\0';) {
    char* end = strchr(line, '\n');
    size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
    if (memmem(line, len, " /opt/hostile ", 14) != NULL)
      memset(line, ' ', len);
    line = end != NULL ? end + 1 : NULL;
  }
}

static int IsNumber(const char* word) {
  for (const char* p = word; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9')
      return 0;
  }
  return word[0] != '\0';
}

static void Check(const char* path, int argc, char** argv) {
  if (ReadSmallFile(path, buf, sizeof(buf)) < 0) {
    Blocked(path, errno);
    return;
  }
  SkipHarnessLine(buf);
  int clean = 1;
  for (int i = 1; i < argc; ++i) {
    char word[300];
    snprintf(word, sizeof(word), IsNumber(argv[i]) ? "-%s-" : "%s", argv[i]);
    if (word[0] != '\0' && strstr(buf, word) != NULL) {
      char detail[512];
      snprintf(detail, sizeof(detail), "names \"%s\"", word);
      Escaped(path, detail);
      clean = 0;
    }
  }
  if (clean)
    printf("%s: clean\n", path);
}

static void CheckOwnCgroups(void) {
  if (ReadSmallFile("/proc/self/cgroup", buf, sizeof(buf)) <= 0) {
    Unexpected("/proc/self/cgroup", "unreadable");
    return;
  }
  int lines = 0;
  for (char* line = buf; line != NULL && *line != '\0';) {
    char* end = strchr(line, '\n');
    if (end != NULL)
      *end = '\0';
    ++lines;
    size_t len = strlen(line);
    if (len < 2 || strcmp(line + len - 2, ":/") != 0)
      Escaped("/proc/self/cgroup line", line);
    line = end != NULL ? end + 1 : NULL;
  }
  printf("cgroup lines: %d\n", lines);
}

int main(int argc, char** argv) {
  RequireSandbox();
  const char* own[] = {"/proc/self/mountinfo", "/proc/self/mounts",        "/proc/self/mountstats",
                       "/proc/self/cgroup",    "/proc/thread-self/cgroup", "/proc/mounts",
                       "/proc/1/cgroup",       "/proc/1/mountinfo"};
  for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); ++i)
    Check(own[i], argc, argv);
  CheckOwnCgroups();
  DIR* proc = opendir("/proc");
  if (proc == NULL)
    return kExitUnexpected;
  for (struct dirent* e; (e = readdir(proc)) != NULL;) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9')
      continue;
    char path[300];
    snprintf(path, sizeof(path), "/proc/%s/cgroup", e->d_name);
    Check(path, argc, argv);
    snprintf(path, sizeof(path), "/proc/%s/mountinfo", e->d_name);
    Check(path, argc, argv);
  }
  closedir(proc);
  return ExitStatus();
}
