// Whole-sandbox tests through the library API: real namespaces, mounts, cgroups and seccomp.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "sandbox/cgroup.h"
#include "sandbox/sandbox.h"
#include "sys/fs.h"

namespace warden::sandbox {
namespace {

using std::chrono::milliseconds;

std::set<std::string> ListDir(const std::string& path) {
  std::set<std::string> names;
  if (DIR* dir = ::opendir(path.c_str())) {
    while (struct dirent* e = ::readdir(dir)) {
      names.insert(e->d_name);
    }
    ::closedir(dir);
  }
  return names;
}

// Every test runs twice: with sandboxes built from scratch, and with warm ones (built ahead of
// time by the supervisor's background thread).
class SupervisorTest : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    SupervisorOptions options;
    options.warm_sandboxes = GetParam();
    auto created = Supervisor::Create(options);
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    supervisor_ = std::move(created).value();
  }

  void TearDown() override {
    supervisor_.reset();  // warm sandboxes go with their supervisor
    // Nothing survives a run: no cgroup of this process's runs is left, where runs go (under this
    // process's own cgroup) nor at the hierarchy's root.
    std::string ours = "run-" + std::to_string(::getpid()) + "-";
    auto self = sys::ReadFile("/proc/self/cgroup");
    ASSERT_TRUE(self.ok());
    for (const char* hierarchy : {"memory", "pids", "cpuacct", "cpu"}) {
      std::string mount = std::string("/sys/fs/cgroup/") + hierarchy;
      for (const std::string& parent :
           {NestedParent(mount, "/"),
            NestedParent(mount, OwnCgroupPath(*self, hierarchy).value_or("/"))}) {
        for (const std::string& name : ListDir(parent)) {
          EXPECT_NE(name.rfind(ours, 0), 0U) << parent << "/" << name << " was left behind";
        }
      }
    }
  }

  RunResult Run(Spec spec) {
    auto result = supervisor_->Run(spec);
    EXPECT_TRUE(result.ok()) << result.error().ToString();
    return result.ok() ? std::move(result).value() : RunResult{};
  }

  RunResult Shell(const std::string& script, Limits limits = {}) {
    Spec spec;
    spec.argv = {"/bin/sh", "-c", script};
    spec.limits = limits;
    return Run(std::move(spec));
  }

  std::unique_ptr<Supervisor> supervisor_;
};

TEST_P(SupervisorTest, RunsAProgramAndCapturesItsOutputAndExitCode) {
  RunResult r = Shell("echo out; echo err >&2; exit 3");
  EXPECT_EQ(r.outcome, Outcome::kExited) << r.message;
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.stdout_data, "out\n");
  EXPECT_EQ(r.stderr_data, "err\n");
  EXPECT_GT(r.wall_time.count(), 0);
}

TEST_P(SupervisorTest, ProgramRunsAsUnprivilegedUserInItsOwnNamespaces) {
  RunResult r = Shell(
      "id -u; id -g; hostname; pwd; echo $HOME; cat /proc/self/status | grep CapEff; "
      "ls /proc | grep -c '^[0-9]'");
  ASSERT_EQ(r.outcome, Outcome::kExited) << r.message << r.stderr_data;
  EXPECT_EQ(r.stdout_data.substr(0, r.stdout_data.find("CapEff")),
            "1000\n1000\nsandbox\n/workspace\n/tmp\n");
  EXPECT_NE(r.stdout_data.find("CapEff:\t0000000000000000"), std::string::npos) << r.stdout_data;
  // Only init, sh, grep-pipeline processes: nothing of the host is visible.
  int visible = std::stoi(r.stdout_data.substr(r.stdout_data.rfind('\t') + 18));
  EXPECT_LT(visible, 8) << r.stdout_data;
}

TEST_P(SupervisorTest, FeedsStdinAndSetsTheEnvironment) {
  Spec spec;
  spec.argv = {"/bin/sh", "-c", "read line; echo \"$line $GREETING\"; env | grep -c WARDEN_TEST_"};
  spec.env = {"GREETING=hello"};
  spec.stdin_data = "world\n";
  ASSERT_EQ(::setenv("WARDEN_TEST_SECRET", "leak", 1), 0);
  RunResult r = Run(spec);
  ::unsetenv("WARDEN_TEST_SECRET");
  EXPECT_EQ(r.stdout_data, "world hello\n0\n") << r.stderr_data;
}

TEST_P(SupervisorTest, WorkspaceFilesPersistOnTheHost) {
  auto dir = sys::TempDir::Create("warden-test-ws-");
  ASSERT_TRUE(dir.ok());
  ::chmod(dir->path().c_str(), 0777);
  Spec spec;
  spec.workspace = dir->path();
  spec.argv = {"/bin/sh", "-c", "echo data > result.txt && ls -l result.txt"};
  RunResult r = Run(spec);
  ASSERT_EQ(r.outcome, Outcome::kExited) << r.message << r.stderr_data;
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(*sys::ReadFile(dir->path() + "/result.txt"), "data\n");
}

// A run that only read its workspace is not measured after it ends (nothing changed); one that
// wrote is, however quickly it exits, and what was there before is not counted against it.
TEST_P(SupervisorTest, AWorkspaceWrittenPastItsDiskLimitIsCaughtWhenTheProgramExitsAtOnce) {
  auto dir = sys::TempDir::Create("warden-test-ws-");
  ASSERT_TRUE(dir.ok());
  ::chmod(dir->path().c_str(), 0777);
  std::string data = dir->path() + "/data";
  ASSERT_EQ(::mkdir(data.c_str(), 0777), 0);
  ::chmod(data.c_str(), 0777);
  ASSERT_TRUE(sys::WriteNewFile(data + "/old", std::string(3 << 20, 'x')).ok());
  Spec spec;
  spec.workspace = dir->path();
  spec.limits.disk_bytes = 1 << 20;
  spec.argv = {"/bin/sh", "-c", "cat data/old >/dev/null"};  // 3 MB there before: not the run's
  RunResult r = Run(spec);
  EXPECT_EQ(r.outcome, Outcome::kExited) << r.message << r.stderr_data;
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  spec.argv = {"/bin/sh", "-c", "for f in a b; do head -c 700000 /dev/zero > data/$f; done"};
  r = Run(spec);
  EXPECT_EQ(r.outcome, Outcome::kDiskLimit) << r.message << r.stderr_data;
}

TEST_P(SupervisorTest, StdinDescriptorIsCopiedNeverHandedIn) {
  // A directory descriptor as stdin would open the host's tree through /proc/self/fd/0.
  UniqueFd root(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  Spec spec;
  spec.argv = {"/bin/sh", "-c", "cat /proc/self/fd/0/etc/hostname || echo contained"};
  spec.stdin_fd = root.get();
  RunResult r = Run(spec);
  EXPECT_EQ(r.stdout_data, "contained\n") << r.stderr_data;

  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]);
  std::thread writer([fd = fds[1]] {
    std::string line = "streamed line\n";
    for (int i = 0; i < 20000; ++i) {  // 280 KB: more than a pipe holds
      (void)!::write(fd, line.data(), line.size());
    }
    ::close(fd);
  });
  spec.argv = {"/bin/sh", "-c", "wc -l"};
  spec.stdin_fd = read_end.get();
  RunResult streamed = Run(spec);
  read_end.reset();  // a run that stopped reading must not leave the writer blocked
  writer.join();
  EXPECT_EQ(streamed.stdout_data, "20000\n") << streamed.stderr_data;
}

TEST_P(SupervisorTest, NoSetuidFilesReachTheHostWorkspace) {
  // The workspace outlives the run on the host, where a setuid file would work.
  auto dir = sys::TempDir::Create("warden-test-suidws-");
  ASSERT_TRUE(dir.ok());
  ASSERT_EQ(::chmod(dir->path().c_str(), 0777), 0);
  Spec spec;
  spec.workspace = dir->path();
  spec.argv = {"/bin/sh", "-c",
               "cp /bin/true tool && chmod u+s tool; echo u=$?; chmod g+s tool; echo g=$?; "
               "chmod 755 tool; echo plain=$?"};
  RunResult r = Run(spec);
  ASSERT_EQ(r.outcome, Outcome::kExited) << r.message << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "u=1\ng=1\nplain=0\n") << r.stderr_data;
  struct stat st {};
  ASSERT_EQ(::stat((dir->path() + "/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0U);
  EXPECT_NE(st.st_uid, 0U);  // written by the sandbox user's host id, never root
}

TEST_P(SupervisorTest, CommandNotFoundExits127WithAMessage) {
  Spec spec;
  spec.argv = {"no-such-program-anywhere"};
  RunResult r = Run(spec);
  EXPECT_EQ(r.outcome, Outcome::kExited);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.message.find("not found"), std::string::npos) << r.message;
}

TEST_P(SupervisorTest, WallTimeLimitKillsTheRun) {
  Limits limits;
  limits.wall_time = milliseconds(300);
  RunResult r = Shell("sleep 30", limits);
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  EXPECT_LT(r.wall_time, std::chrono::seconds(5));
}

TEST_P(SupervisorTest, MemoryLimitEndsTheRunAsOutOfMemory) {
  Limits limits;
  limits.memory_bytes = 32ULL << 20;
  Spec spec;
  spec.argv = {"/usr/bin/python3", "-c", "x = bytearray(256 * 1024 * 1024)"};
  spec.limits = limits;
  RunResult r = Run(spec);
  EXPECT_EQ(r.outcome, Outcome::kMemoryLimit) << r.message << r.stderr_data;
}

TEST_P(SupervisorTest, OutputLimitTruncatesAndKills) {
  Limits limits;
  limits.output_bytes = 10000;
  RunResult r = Shell("yes", limits);
  EXPECT_EQ(r.outcome, Outcome::kOutputLimit);
  EXPECT_EQ(r.stdout_data.size(), 10000U);
  EXPECT_TRUE(r.stdout_truncated);
}

// A cancel ends the run, whatever its processes wait for: without it, the run would end at its
// wall-time limit (a minute), with another outcome. How fast is for bench/, not here.
TEST_P(SupervisorTest, CancelKillsTheWholeTree) {
  CancelToken cancel;
  Spec spec;
  spec.argv = {"/bin/sh", "-c", "sleep 100 & sleep 100 & echo started; wait"};
  std::promise<void> started;
  bool signalled = false;
  spec.on_output = [&](Stream, std::string_view data) {
    if (!signalled && data.find("started") != std::string_view::npos) {
      signalled = true;
      started.set_value();
    }
  };
  auto future = std::async(std::launch::async, [&] { return supervisor_->Run(spec, &cancel); });
  ASSERT_EQ(started.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  cancel.Cancel();
  auto result = future.get();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, Outcome::kCancelled);
}

TEST_P(SupervisorTest, ManyRunsAtOnceFromManyThreads) {
  constexpr int kThreads = 8;
  constexpr int kRunsEach = 10;
  std::vector<std::future<int>> futures;
  for (int t = 0; t < kThreads; ++t) {
    futures.push_back(std::async(std::launch::async, [this, t] {
      int ok = 0;
      for (int i = 0; i < kRunsEach; ++i) {
        Spec spec;
        spec.argv = {"/bin/sh", "-c", "echo $0-$1", std::to_string(t), std::to_string(i)};
        auto r = supervisor_->Run(spec);
        ok += r.ok() && r->exit_code == 0 &&
              r->stdout_data == std::to_string(t) + "-" + std::to_string(i) + "\n";
      }
      return ok;
    }));
  }
  int total = 0;
  for (auto& f : futures) {
    total += f.get();
  }
  EXPECT_EQ(total, kThreads * kRunsEach);
}

TEST_P(SupervisorTest, SetupErrorNamesTheStep) {
  Spec spec;
  spec.argv = {"/bin/true"};
  spec.ro_binds = {{"/usr/share", "/usr/cannot-create-here"}};  // /usr is read-only
  RunResult r = Run(spec);
  EXPECT_EQ(r.outcome, Outcome::kSetupError);
  EXPECT_FALSE(r.setup_step.empty());
  EXPECT_NE(r.setup_errno, 0);
}

TEST_P(SupervisorTest, InvalidRequestsAreErrorsNotRuns) {
  Spec empty;
  EXPECT_EQ(supervisor_->Run(empty).error().code(), ErrorCode::kInvalidArgument);
  Spec escaping;
  escaping.argv = {"/bin/true"};
  escaping.ro_binds = {{"/usr/../etc", "/x"}};
  EXPECT_EQ(supervisor_->Run(escaping).error().code(), ErrorCode::kInvalidArgument);
  // Mount points inside the workspace could be redirected by symlinks planted there.
  Spec into_workspace;
  into_workspace.argv = {"/bin/true"};
  into_workspace.ro_binds = {{"/etc/hostname", "/workspace/evil/planted"}};
  EXPECT_EQ(supervisor_->Run(into_workspace).error().code(), ErrorCode::kInvalidArgument);
}

// An operator's memory limit on the service (its own cgroup) must cover the sandboxes it runs:
// on cgroup v1 the runs' cgroups are made below the service's own cgroup of each hierarchy.
TEST(CgroupPlacementTest, RunCgroupsNestUnderTheServicesOwnCgroup) {
  auto mounts = FindCgroupMounts();
  auto self = sys::ReadFile("/proc/self/cgroup");
  ASSERT_TRUE(mounts.ok() && self.ok());
  auto manager = CgroupManager::Detect();
  ASSERT_TRUE(manager.ok()) << manager.error().ToString();
  if (manager->version() != CgroupVersion::kV1) {
    GTEST_SKIP() << "cgroup v2 host: covered by the CgroupV2Test unit tests";
  }
  auto cgroup = manager->Create({});
  ASSERT_TRUE(cgroup.ok()) << cgroup.error().ToString();
  for (const auto& [controller, mount] :
       {std::pair<const char*, std::string>{"memory", mounts->v1_memory},
        {"pids", mounts->v1_pids},
        {"cpuacct", mounts->v1_cpuacct}}) {
    std::string own = OwnCgroupPath(*self, controller).value_or("/");
    std::set<std::string> runs = ListDir(NestedParent(mount, own));
    EXPECT_TRUE(runs.contains("run-" + std::to_string(::getpid()) + "-0"))
        << controller << ": no run cgroup under " << NestedParent(mount, own);
  }
}

INSTANTIATE_TEST_SUITE_P(ColdAndWarm, SupervisorTest, ::testing::Values(0, 2),
                         [](const ::testing::TestParamInfo<size_t>& param_info) {
                           return param_info.param == 0 ? std::string("Cold") : std::string("Warm");
                         });

}  // namespace
}  // namespace warden::sandbox
