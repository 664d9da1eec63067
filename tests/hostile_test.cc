// Hostile programs against the sandbox's limits and process isolation: fork and memory bombs,
// output floods, busy loops, signals to the host, processes that try to outlive the run, huge
// argv, and the identity the program runs with. See hostile_harness.h for what every test
// checks after the run (no process, cgroup, temporary directory or mount left behind).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hostile_harness.h"

namespace warden::hostile {
namespace {

using ::testing::HasSubstr;

// The number printed after `key` in the program's output, or -1.
long long NumberAfter(const std::string& out, const std::string& key) {
  size_t at = out.find(key);
  if (at == std::string::npos)
    return -1;
  return std::stoll(out.substr(at + key.size()));
}

TEST_F(HostileTest, SandboxIsolatesBeforeAnyAttack) {
  WardenResult result = RunInSandbox({"--timeout", "10s"}, {"/usr/bin/id", "-u"});
  ASSERT_TRUE(HasStatus(result, "exited"));
  EXPECT_EQ(result.out(), "1000\n");
  EXPECT_NE(Facts().host_uid, 0u);
}

TEST_F(HostileTest, ForkBombIsContainedByPidsLimit) {
  WardenResult result = RunHostile({"--pids", "32", "--timeout", "30s"}, "fork_bomb");
  ExpectContained(result, {"fork: EAGAIN"});
  const long long forks = NumberAfter(result.out(), "forks: ");
  EXPECT_GE(forks, 1);
  EXPECT_LE(forks, 32) << result.out();
}

TEST_F(HostileTest, BashForkBombEndsAtWallLimitAndLeavesNothing) {
  // Guarded like the C programs: refuses unless in a user namespace that does not map host root
  // and in a PID namespace. Capped by RLIMIT_NPROC of its host uid as well.
  const std::string script =
      ": " + marker_ +
      "\n"
      "while read -r inside outside count; do [ \"$outside\" != 0 ] || exit 99; done "
      "< /proc/self/uid_map\n"
      "[ \"$(id -u)\" != 0 ] || exit 99\n"
      "[ \"$(readlink /proc/self/ns/pid)\" != 'pid:[4026531836]' ] || exit 99\n"
      "ulimit -u 1000\n"
      "f() { while :; do f & done; }\n"
      "f\n";
  WardenResult result = RunInSandbox({"--pids", "32", "--timeout", "3s", "--cpu-time", "60s"},
                                     {"/bin/bash", "-c", script});
  EXPECT_NE(result.exit_code(), 99) << "the guard refused: " << result.Describe();
  EXPECT_TRUE(result.status() == "timeout" || result.status() == "exited") << result.Describe();
  EXPECT_TRUE(HasStatus(result, result.status()));
  EXPECT_LT(result.wall_ms(), 6000) << result.Describe();
}

TEST_F(HostileTest, ZombieFloodIsContainedByPidsLimit) {
  WardenResult result = RunHostile({"--pids", "32", "--timeout", "30s"}, "zombie_flood");
  ExpectContained(result, {"fork: EAGAIN"});
  const long long zombies = NumberAfter(result.out(), "zombies: ");
  EXPECT_GE(zombies, 1);
  EXPECT_LE(zombies, 32) << result.out();
}

TEST_F(HostileTest, MemoryBombIsKilledAtMemoryLimit) {
  WardenResult result = RunHostile({"--memory", "64M", "--timeout", "30s"}, "memory_bomb");
  EXPECT_TRUE(HasStatus(result, "memory_limit"));
  EXPECT_THAT(result.out(), Not(HasSubstr("SUCCEEDED")));
  EXPECT_GT(result.peak_memory_bytes(), 32ll << 20) << result.Describe();
  EXPECT_LE(result.peak_memory_bytes(), 68ll << 20) << result.Describe();
}

TEST_F(HostileTest, PythonMemoryBombIsKilledAtMemoryLimit) {
  const std::string code =
      "import os, sys\n"
      "if os.getuid() == 0 or any(l.split()[1] == '0' for l in open('/proc/self/uid_map')):\n"
      "    sys.exit(99)\n"
      "chunks = []\n"
      "while len(chunks) < 256:  # its own cap: 4 GiB\n"
      "    chunks.append(bytearray(16 << 20))\n"
      "print('SUCCEEDED: allocated 4 GiB')\n"
      "sys.exit(3)\n";
  WardenResult result =
      RunInSandbox({"--memory", "96M", "--timeout", "30s"}, {"/usr/bin/python3", "-c", code});
  EXPECT_TRUE(HasStatus(result, "memory_limit"));
  EXPECT_LE(result.peak_memory_bytes(), 100ll << 20) << result.Describe();
}

TEST_F(HostileTest, EndlessOutputIsCutAtOutputLimit) {
  WardenResult result = RunHostile({"--output-limit", "256K", "--timeout", "30s"}, "output_flood");
  EXPECT_TRUE(HasStatus(result, "output_limit"));
  EXPECT_LE(result.out().size() + result.err().size(), 256u << 10);
  EXPECT_GT(result.out().size() + result.err().size(), 64u << 10) << result.Describe();
  EXPECT_TRUE(result.stdout_truncated() || result.stderr_truncated()) << result.Describe();
}

TEST_F(HostileTest, YesFloodIsCutAtOutputLimit) {
  WardenResult result =
      RunInSandbox({"--output-limit", "64K", "--timeout", "30s"}, {"/usr/bin/yes"});
  EXPECT_TRUE(HasStatus(result, "output_limit"));
  EXPECT_LE(result.out().size(), 64u << 10);
  EXPECT_GT(result.out().size(), 1000u);
  EXPECT_EQ(result.out().substr(0, 4), "y\ny\n");
  EXPECT_TRUE(result.stdout_truncated());
}

TEST_F(HostileTest, BusyLoopIsKilledAtCpuLimit) {
  WardenResult result = RunHostile({"--cpu-time", "1s", "--timeout", "20s"}, "cpu_burn", {"spin"});
  EXPECT_TRUE(HasStatus(result, "cpu_limit"));
  EXPECT_GE(result.cpu_ms(), 900) << result.Describe();
  EXPECT_LT(result.cpu_ms(), 4000) << result.Describe();
  EXPECT_LT(result.wall_ms(), 10000) << result.Describe();
}

TEST_F(HostileTest, CpuLimitCountsEveryProcessTogether) {
  // Four children use 1.5 s each: under a per-process limit of 2 s, over the run's limit.
  WardenResult result =
      RunHostile({"--cpu-time", "2s", "--timeout", "20s"}, "cpu_burn", {"children"});
  EXPECT_TRUE(HasStatus(result, "cpu_limit"));
  EXPECT_LT(result.cpu_ms(), 5000) << result.Describe();
}

TEST_F(HostileTest, BusyLoopIsKilledAtWallLimit) {
  WardenResult result = RunHostile({"--timeout", "1s", "--cpu-time", "60s"}, "cpu_burn", {"spin"});
  EXPECT_TRUE(HasStatus(result, "timeout"));
  EXPECT_GE(result.wall_ms(), 1000);
  EXPECT_LT(result.wall_ms(), 5000) << result.Describe();
}

TEST_F(HostileTest, SleeperIgnoringSignalsIsKilledAtWallLimit) {
  WardenResult result = RunHostile({"--timeout", "1s"}, "sleep_forever");
  EXPECT_TRUE(HasStatus(result, "timeout"));
  EXPECT_GE(result.wall_ms(), 1000);
  EXPECT_LT(result.wall_ms(), 5000) << result.Describe();
}

TEST_F(HostileTest, KillMinusOneReachesOnlyTheSandbox) {
  // The canary runs as the sandbox user's host uid: without a PID namespace kill(-1) reaches it.
  Canary canary(Facts().host_uid);
  ASSERT_TRUE(canary.Alive());
  WardenResult result = RunHostile({"--timeout", "10s"}, "kill_all");
  ExpectContained(result, {"kill(-1, SIGKILL): ", "still alive"});
  EXPECT_TRUE(canary.Alive()) << "kill(-1) inside the sandbox killed a host process";
}

TEST_F(HostileTest, SignalsCannotReachHostProcesses) {
  Canary canary(Facts().host_uid);
  ASSERT_TRUE(canary.Alive());
  const std::string canary_pid = std::to_string(canary.pid());
  const std::string test_pid = std::to_string(::getpid());
  // kWardenPidToken: warden's own pid, the supervisor of the run.
  WardenResult result = RunInSandbox(
      {"--timeout", "10s"},
      {std::string(kSandboxDir) + "/signal_host", kWardenPidToken, test_pid, canary_pid});
  ExpectContained(result, {"kill(" + canary_pid + ", 0): ESRCH", "kill(" + test_pid + ", 0): ESRCH",
                           "pidfd_open(" + canary_pid + "): ESRCH", "still alive"});
  EXPECT_TRUE(canary.Alive()) << "the sandbox killed a host process";
}

TEST_F(HostileTest, BackgroundChildDoesNotOutliveTheRun) {
  WardenResult result = RunHostile({"--timeout", "10s"}, "orphan", {marker_, "detach"});
  ExpectContained(result, {"parent: exiting, grandchild left running"});
  EXPECT_THAT(ProcessesWithMarker(marker_), ::testing::IsEmpty());
}

TEST_F(HostileTest, BackgroundChildHoldingOutputDoesNotHangTheRun) {
  WardenResult result = RunHostile({"--timeout", "10s"}, "orphan", {marker_, "hold"});
  ExpectContained(result, {"parent: exiting, grandchild left running", "linger: pid"});
  EXPECT_LT(result.wall_ms(), 5000) << "the run waited for a background process";
  EXPECT_THAT(ProcessesWithMarker(marker_), ::testing::IsEmpty());
}

// Starts a run that waits in /workspace until told to stop, and waits until it runs.
std::unique_ptr<WardenProcess> StartHolder(const HostDir& workspace, const WardenOptions& options) {
  auto holder = std::make_unique<WardenProcess>(options);
  EXPECT_TRUE(WaitForFile(workspace / "ready", std::chrono::seconds(15)))
      << "the holder sandbox never started";
  return holder;
}

TEST_F(HostileTest, InterruptedWardenCancelsTheRunAndLeavesNothing) {
  // Ctrl-C on `warden exec`: the run ends "cancelled" (exit 130) with its result, and takes every
  // sandboxed process with it.
  HostDir workspace("hostile-ws-");
  auto holder =
      StartHolder(workspace, Options({"--timeout", "20s", "--workspace", workspace.path()},
                                     {std::string(kSandboxDir) + "/workspace_holder", "secret"}));
  ASSERT_FALSE(ProcessesWithMarker(marker_).empty());
  ASSERT_EQ(::kill(holder->pid(), SIGINT), 0);
  WardenResult result = holder->Wait();
  EXPECT_TRUE(HasStatus(result, "cancelled"));
  EXPECT_LT(result.wall_ms(), 10000);
  EXPECT_THAT(ProcessesWithMarker(marker_), ::testing::IsEmpty())
      << "the sandbox kept running after warden exited";
}

TEST_F(HostileTest, TerminatedWardenLeavesNoSandboxRunning) {
  HostDir workspace("hostile-ws-");
  auto holder =
      StartHolder(workspace, Options({"--timeout", "20s", "--workspace", workspace.path()},
                                     {std::string(kSandboxDir) + "/workspace_holder", "secret"}));
  const std::vector<pid_t> sandbox = ProcessesWithMarker(marker_);
  ASSERT_FALSE(sandbox.empty());
  ASSERT_EQ(::kill(holder->pid(), SIGTERM), 0);
  WardenResult result = holder->Wait();
  EXPECT_TRUE(WaitForExit(sandbox, std::chrono::seconds(5)))
      << "the sandbox kept running after warden was terminated: " << result.Describe();
}

TEST_F(HostileTest, KilledWardenTakesItsSandboxWithIt) {
  // SIGKILL gives warden no chance to clean up: the kernel must end the sandbox (the supervisor's
  // death has to reach the sandbox's init).
  HostDir workspace("hostile-ws-");
  auto holder =
      StartHolder(workspace, Options({"--timeout", "20s", "--workspace", workspace.path()},
                                     {std::string(kSandboxDir) + "/workspace_holder", "secret"}));
  const std::vector<pid_t> sandbox = ProcessesWithMarker(marker_);
  ASSERT_FALSE(sandbox.empty());
  ASSERT_EQ(::kill(holder->pid(), SIGKILL), 0);
  holder->Wait();
  EXPECT_TRUE(WaitForExit(sandbox, std::chrono::seconds(5)))
      << "the sandbox kept running after warden was killed";
  // A killed warden cannot remove its run's cgroup itself; that is not what this test checks.
  ClearStartedWardens();
}

// FNV-1a over each argument followed by a NUL, as argv_env computes it.
std::string ArgvHash(const std::vector<std::string>& args) {
  unsigned long long hash = 1469598103934665603ull;
  for (const std::string& arg : args) {
    for (char c : arg)
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    hash = (hash ^ 0u) * 1099511628211ull;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%016llx", hash);
  return text;
}

TEST_F(HostileTest, HugeArgvAndEnvironmentArriveIntact) {
  std::vector<std::string> args;
  for (int i = 0; i < 3000; ++i)
    args.push_back(std::to_string(i) + std::string(96, 'a' + i % 26));
  std::vector<std::string> flags = {"--timeout", "10s"};
  size_t env_bytes = 0;
  for (int i = 0; i < 50; ++i) {
    std::string entry = "HOSTILE_" + std::to_string(i) + "=" + std::string(1000, 'e');
    env_bytes += entry.size();
    flags.insert(flags.end(), {"--env", entry});
  }
  std::vector<std::string> argv = {std::string(kSandboxDir) + "/argv_env"};
  argv.insert(argv.end(), args.begin(), args.end());
  WardenOptions options;
  options.env = {"WARDEN_HOSTILE_BIG=" + std::string(100000, 'b')};  // warden's own environment
  WardenResult result = RunInSandbox(flags, argv, options);
  ExpectContained(result,
                  {"argc: 3000\n", "argv hash: " + ArgvHash(args) + "\n", "env count: 50\n",
                   "env bytes: " + std::to_string(env_bytes) + "\n", "WARDEN_HOSTILE_BIG: absent"});
}

TEST_F(HostileTest, ArgvNearTheKernelLimitRunsOrFailsCleanly) {
  // 10 arguments of 120 KiB: each under the kernel's 128 KiB per string, 1.2 MiB together. The
  // sandbox's stack limit may make execve() refuse them (E2BIG): that must be a clean setup error.
  std::vector<std::string> args;
  for (int i = 0; i < 10; ++i)
    args.push_back(std::string(120 << 10, 'a' + i));
  std::vector<std::string> argv = {std::string(kSandboxDir) + "/argv_env"};
  argv.insert(argv.end(), args.begin(), args.end());
  WardenResult result = RunInSandbox({"--timeout", "10s"}, argv);
  if (result.status() == "setup_error") {
    EXPECT_TRUE(HasStatus(result, "setup_error"));
    EXPECT_EQ(result.setup_errno(), E2BIG) << result.Describe();
  } else {
    ExpectContained(result, {"argc: 10\n", "argv hash: " + ArgvHash(args) + "\n"});
  }
}

TEST_F(HostileTest, ProgramRunsAsUnprivilegedUserWithoutCapabilities) {
  WardenResult result = RunHostile({"--timeout", "10s"}, "caps_ids");
  ExpectContained(result, {"uid=1000 euid=1000 gid=1000 egid=1000", "CapEff: 0000000000000000",
                           "NoNewPrivs: 1", "Seccomp: 2", "setuid(0): ", "setgroups({0}): "});
}

TEST_F(HostileTest, RlimitsForbidCoreDumpsAndBigFiles) {
  HostDir workspace("hostile-ws-");
  WardenResult result =
      RunHostile({"--timeout", "10s", "--disk-limit", "64M", "--workspace", workspace.path()},
                 "rlimits", {std::to_string(64ll << 20)});
  ExpectContained(result, {"abort(): no core dump", "setrlimit(RLIMIT_CORE, unlimited): "});
  struct stat st;
  EXPECT_NE(::stat((workspace / "core").c_str(), &st), 0) << "a core file reached the host";
}

}  // namespace
}  // namespace warden::hostile
