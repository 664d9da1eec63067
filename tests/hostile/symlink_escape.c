// Symlink escapes from the workspace. Usage: symlink_escape HOST_SECRET_FILE HOST_CANARY_DIR SECRET
// Reads every entry of /workspace (some are symlinks the test planted on the host: to
// /etc/shadow, /root, the host's secret file and dir, "../../.."), and fails if any read shows
// host data. Then plants its own symlinks in /workspace for the test to check that warden itself
// never follows them (to /etc/shadow, the canary dir and file, /), and a dangling one.
#include <dirent.h>

#include "guard.h"

static void CheckRead(const char* path, const char* secret) {
  char buf[4096];
  ssize_t n = ReadSmallFile(path, buf, sizeof(buf));
  if (n < 0) {
    DIR* dir = opendir(path);
    if (dir == NULL) {
      Blocked(path, errno);
      return;
    }
    int entries = 0;
    for (struct dirent* e; (e = readdir(dir)) != NULL;) {
      if (strstr(e->d_name, "hostile-canary") != NULL || strcmp(e->d_name, ".bashrc") == 0) {
        Escaped(path, "(host directory listed)");
      }
      ++entries;
    }
    closedir(dir);
    printf("%s: directory with %d entries\n", path, entries);
    return;
  }
  if (strstr(buf, secret) != NULL || strstr(buf, "root:") != NULL) {
    Escaped(path, "(host data read)");
  } else {
    printf("%s: %zd bytes of sandbox data\n", path, n);
  }
}

static void Plant(const char* target, const char* name) {
  char path[4096];
  snprintf(path, sizeof(path), "/workspace/%s", name);
  if (symlink(target, path) < 0)
    Unexpected(path, ErrName(errno));
}

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 4)
    return kExitUnexpected;
  char path[4096];
  DIR* ws = opendir("/workspace");
  if (ws == NULL)
    return kExitUnexpected;
  for (struct dirent* e; (e = readdir(ws)) != NULL;) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "/workspace/%s", e->d_name);
    CheckRead(path, argv[3]);
  }
  closedir(ws);
  snprintf(path, sizeof(path), "/workspace/up%s", argv[1]);
  CheckRead(path, argv[3]);

  char canary_file[4096];
  snprintf(canary_file, sizeof(canary_file), "%s/canary", argv[2]);
  Plant("/etc/shadow", "planted-shadow");
  Plant(argv[2], "planted-dir");
  Plant(canary_file, "planted-file");
  Plant("/", "planted-root");
  Plant("/nonexistent/dangling", "planted-dangling");
  printf("planted 5 symlinks\n");
  return ExitStatus();
}
