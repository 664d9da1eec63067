#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/unique_fd.h"

namespace warden::bench {
namespace {

// Owns a posix_spawn_file_actions_t.
class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;

  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

// posix_spawn takes char* arrays; it does not write through them.
std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) {
    pointers.push_back(const_cast<char*>(s.c_str()));
  }
  pointers.push_back(nullptr);
  return pointers;
}

// Spawns `argv` with the given descriptor plumbing and waits for it, retrying on EINTR.
Result<int> SpawnAndWait(const std::vector<std::string>& argv, FileActions& actions) {
  static const std::vector<char*> env = CStrings(CommandEnvironment());
  std::vector<char*> args = CStrings(argv);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], actions.get(), nullptr, args.data(), env.data());
  if (rc != 0) {
    return Error::FromErrno("posix_spawn(" + argv[0] + ")", rc);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return ErrnoError("waitpid(" + argv[0] + ")");
    }
  }
  return status;
}

}  // namespace

const std::vector<std::string>& CommandEnvironment() {
  static const std::vector<std::string> env = [] {
    const char* home = getenv("HOME");
    return std::vector<std::string>{
        "PATH=/usr/local/bin:/usr/bin:/bin",
        std::string("HOME=") + (home != nullptr ? home : "/"),
        "LANG=C.UTF-8",
    };
  }();
  return env;
}

Result<int> RunQuietly(const std::vector<std::string>& argv) {
  FileActions actions;
  posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(actions.get(), STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(actions.get(), STDOUT_FILENO, STDERR_FILENO);
  return SpawnAndWait(argv, actions);
}

Result<CapturedRun> RunCapturing(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return ErrnoError("pipe2");
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  FileActions actions;
  posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(actions.get(), write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(actions.get(), write_end.get(), STDERR_FILENO);

  // The command's output is read only after it exits: these are a few short lines, far below the
  // pipe's 64 KiB, and anything beyond would be a broken command anyway.
  Result<int> status = SpawnAndWait(argv, actions);
  write_end.reset();
  if (!status.ok()) {
    return std::move(status).error();
  }
  CapturedRun run;
  run.wait_status = *status;
  char buffer[4096];
  ssize_t n;
  while ((n = read(read_end.get(), buffer, sizeof(buffer))) != 0) {
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("read(output of " + argv[0] + ")");
    }
    run.output.append(buffer, static_cast<size_t>(n));
  }
  return run;
}

std::string DescribeFailure(int wait_status) {
  if (WIFEXITED(wait_status)) {
    int code = WEXITSTATUS(wait_status);
    return code == 0 ? "" : "exit status " + std::to_string(code);
  }
  if (WIFSIGNALED(wait_status)) {
    const char* name = sigabbrev_np(WTERMSIG(wait_status));
    return "killed by SIG" + std::string(name != nullptr ? name : "?");
  }
  return "wait status " + std::to_string(wait_status);
}

std::string FindOnPath(std::string_view name) {
  const char* path = getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/bin:/bin";
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
    if (dir.empty()) {
      continue;
    }
    std::string candidate = std::string(dir) + "/" + std::string(name);
    if (access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

std::string JoinArgs(const std::vector<std::string>& argv) {
  std::string joined;
  for (const std::string& arg : argv) {
    if (!joined.empty()) {
      joined += ' ';
    }
    bool plain = !arg.empty() && arg.find_first_of(" '\"$;&|*?") == std::string::npos;
    joined += plain ? arg : "'" + arg + "'";
  }
  return joined;
}

}  // namespace warden::bench
