// Harness of the hostile-program suite: runs the real `warden exec --json` binary, parses its
// result, and checks from the host that a run left nothing behind (processes, cgroups, temporary
// directories, mounts).
//
// Leftover checks stay exact while other Warden runs use the machine: every warden the suite
// starts gets a private $TMPDIR (where it creates temporary workspaces), which must be empty after
// each test; a new, empty cgroup directory counts as a leak when its name carries the pid of a
// warden this test started (Warden names run cgroups "run-<supervisor pid>-<n>"); and the host's
// mount table must not change.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/json.h"

namespace warden::hostile {

// Where the compiled hostile programs are visible inside the sandbox.
inline constexpr char kSandboxDir[] = "/opt/hostile";
// In an argv passed to StartWarden(): replaced by warden's own pid in the spawned process.
inline constexpr char kWardenPidToken[] = "{WARDEN_PID}";

std::string WardenBinary();
std::string HostileDir();  // host directory of the compiled programs

struct WardenOptions {
  std::vector<std::string> args;              // everything after "warden"
  std::vector<std::string> env;               // "K=V" added to warden's own environment
  std::vector<std::pair<int, int>> leak_fds;  // {host fd, fd number in warden}, inheritable
  int controlling_tty = -1;                   // a terminal fd made warden's controlling terminal
  std::chrono::seconds deadline{60};  // warden is killed after this (a hung run is a failure)
};

// What one warden process did, and its --json result.
struct WardenResult {
  int warden_exit = -1;   // warden's own exit code; -1 when a signal ended it
  int warden_signal = 0;  // the signal that ended warden itself
  bool deadline_hit = false;
  std::string raw_stdout;  // warden's stdout (the JSON object)
  std::string raw_stderr;
  bool json_ok = false;
  json::object json;

  std::string status() const;
  int64_t exit_code() const;
  int64_t signal() const;
  int64_t wall_ms() const;
  int64_t cpu_ms() const;
  int64_t peak_memory_bytes() const;
  std::string out() const;  // the program's stdout
  std::string err() const;  // the program's stderr
  bool stdout_truncated() const;
  bool stderr_truncated() const;
  int64_t setup_errno() const;
  std::string Describe() const;  // everything, for failure messages
};

// A running warden process, its output drained by Wait().
class WardenProcess {
 public:
  explicit WardenProcess(const WardenOptions& options);
  ~WardenProcess();
  WardenProcess(const WardenProcess&) = delete;
  WardenProcess& operator=(const WardenProcess&) = delete;

  pid_t pid() const { return pid_; }
  WardenResult Wait();

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::chrono::steady_clock::time_point deadline_;
};

WardenResult RunWarden(const WardenOptions& options);

// The run ended with `status` and warden's exit code is the one the CLI contract gives it
// (exited: the program's code; signaled: 128+N; timeout 124; setup_error 125; memory_limit 137;
// output_limit 141; cpu_limit 152; disk_limit 153; cancelled 130).
::testing::AssertionResult HasStatus(const WardenResult& result, const std::string& status);

// The attack was contained: the program exited 0, printed no "SUCCEEDED" or "UNEXPECTED" line,
// and printed every string of `expected` (which shows what the attempts observed).
void ExpectContained(const WardenResult& result, const std::vector<std::string>& expected);

// The $TMPDIR of every warden the suite starts (created once per test process).
const std::string& WardenTmpDir();

// Pids of the wardens started since the last ClearStartedWardens().
const std::vector<pid_t>& StartedWardens();
void ClearStartedWardens();

// What Warden may leave on the host between runs.
struct HostSnapshot {
  std::set<std::string> cgroups;  // directories under /sys/fs/cgroup/*/ with "warden" in the path
  // Entries of warden's private $TMPDIR, and of /dev/shm and /run with "warden" in the name.
  std::set<std::string> temp_entries;
  std::set<std::string> mounts;  // this mount namespace's mount points
};
HostSnapshot TakeHostSnapshot();

// Every difference between `before` and now that is a leftover of the wardens started since
// ClearStartedWardens(): anything in warden's private $TMPDIR, new empty cgroups named after one
// of those wardens, new mounts. Empty when nothing was left behind.
std::vector<std::string> LeftBehind(const HostSnapshot& before);

// Host pids whose command line or environment contains `marker`.
std::vector<pid_t> ProcessesWithMarker(const std::string& marker);

// Waits until `path` exists (inotify on its directory), at most `timeout`.
bool WaitForFile(const std::string& path, std::chrono::milliseconds timeout);

// Waits until every process of `pids` has exited (pidfd), at most `timeout`. False if one is
// still running then.
bool WaitForExit(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout);

// A host temporary directory (mode 0777 so the sandbox user can write it as a workspace),
// removed with its contents on destruction.
class HostDir {
 public:
  explicit HostDir(const std::string& prefix);
  ~HostDir();
  HostDir(const HostDir&) = delete;
  HostDir& operator=(const HostDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& data, mode_t mode = 0644);
std::string ReadFile(const std::string& path);

// A child process of the test that waits (at most 60 s) as `uid`; killed and reaped on
// destruction. Lets a test check that the sandbox could not reach a host process of its own uid.
class Canary {
 public:
  explicit Canary(uid_t uid);
  ~Canary();
  Canary(const Canary&) = delete;
  Canary& operator=(const Canary&) = delete;
  pid_t pid() const { return pid_; }
  bool Alive();

 private:
  pid_t pid_ = -1;
};

// The sandbox as the suite sees it, established once per test process by running /usr/bin/id.
struct SandboxFacts {
  bool isolated = false;
  std::string why;     // when not isolated
  uid_t host_uid = 0;  // host uid of the sandbox user (uid 1000 inside), temp workspace
};
const SandboxFacts& Facts();

// Every hostile test: checks the sandbox isolates before running anything (a fatal failure
// skips the attack), and checks after the test that nothing was left behind. With
// HOSTILE_VERBOSE=1 in the environment every run's full result is printed.
class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs `warden exec --json <flags> --ro-bind HOSTILE_DIR:/opt/hostile --env marker --
  // /opt/hostile/<program> <args>`.
  WardenResult RunHostile(const std::vector<std::string>& flags, const std::string& program,
                          const std::vector<std::string>& args = {});
  // The same for any program inside the sandbox (argv[0] an absolute sandbox path).
  WardenResult RunInSandbox(const std::vector<std::string>& flags,
                            const std::vector<std::string>& argv, WardenOptions options = {});
  WardenOptions Options(const std::vector<std::string>& flags,
                        const std::vector<std::string>& argv) const;

  std::string marker_;  // unique per test; in the environment of every sandboxed process
  HostSnapshot before_;
};

}  // namespace warden::hostile
