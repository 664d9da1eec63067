// The cgroup v2 fallbacks for kernels without cgroup.kill (before 5.14) or memory.peak (before
// 5.19), on a real v2 hierarchy: the second kernel's guest (ctest -L uml) runs them; a cgroup v1
// host has no v2 cgroup to run them on.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "sandbox/cgroup.h"
#include "sys/fs.h"

namespace warden::sandbox {
namespace {

constexpr size_t kTouchedBytes = 48u << 20;

class CgroupFallbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto manager = CgroupManager::Detect();
    ASSERT_TRUE(manager.ok()) << manager.error().message();
    if (manager->version() != CgroupVersion::kV2) {
      GTEST_SKIP() << "cgroup v1 host: the v2 fallbacks run in the second kernel's guest "
                      "(ctest -L uml)";
    }
    manager_.emplace(std::move(manager).value());
  }

  // Forks a child, moves it into `cgroup`, and lets it fork `grandchildren` that touch `bytes`
  // each and wait forever; returns once all of them have, with the child's pid first. This
  // process is their subreaper, so that it can reap the grandchildren too.
  std::vector<pid_t> StartFamily(Cgroup& cgroup, int grandchildren, size_t bytes) {
    EXPECT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int go[2];
    int ready[2];
    EXPECT_EQ(::pipe2(go, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    pid_t child = ::fork();
    if (child == 0) {
      char byte = 0;
      if (::read(go[0], &byte, 1) != 1) {
        ::_exit(1);
      }
      for (int i = 0; i < grandchildren; ++i) {
        if (::fork() == 0) {
          // volatile: the compiler may not drop writes to memory nothing reads.
          auto* memory = static_cast<volatile char*>(::malloc(bytes));
          for (size_t at = 0; memory != nullptr && at < bytes; at += 4096) {
            memory[at] = 1;
          }
          pid_t self = ::getpid();
          (void)::write(ready[1], &self, sizeof(self));
          for (;;) {
            ::pause();
          }
        }
      }
      for (;;) {
        ::pause();
      }
    }
    UniqueFd go_write(go[1]);
    UniqueFd ready_read(ready[0]);
    ::close(go[0]);
    ::close(ready[1]);
    EXPECT_TRUE(cgroup.Attach(child).ok());
    EXPECT_EQ(::write(go_write.get(), "g", 1), 1);
    std::vector<pid_t> family = {child};
    for (int i = 0; i < grandchildren; ++i) {
      pid_t pid = 0;
      EXPECT_EQ(::read(ready_read.get(), &pid, sizeof(pid)), static_cast<ssize_t>(sizeof(pid)));
      family.push_back(pid);
    }
    return family;
  }

  std::optional<CgroupManager> manager_;
};

TEST_F(CgroupFallbackTest, WithoutCgroupKillEveryProcessOfTheRunIsKilled) {
  auto cgroup = manager_->Create(CgroupLimits{});
  ASSERT_TRUE(cgroup.ok()) << cgroup.error().message();
  cgroup->NarrowFeatures({.kill_file = false, .peak_file = true});
  EXPECT_NE(cgroup->Mechanisms().find("kill: SIGKILL to every listed process"), std::string::npos)
      << cgroup->Mechanisms();
  std::vector<pid_t> family = StartFamily(*cgroup, 4, 4096);
  std::vector<UniqueFd> pidfds;
  for (pid_t pid : family) {
    pidfds.emplace_back(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    ASSERT_TRUE(pidfds.back()) << pid;
  }

  cgroup->KillAll();
  for (size_t i = 0; i < family.size(); ++i) {
    pollfd exited = {pidfds[i].get(), POLLIN, 0};
    if (::poll(&exited, 1, 10'000) != 1) {  // a deadline, not a measurement: it ends a failure
      ADD_FAILURE() << "process " << family[i] << " survived KillAll()";
      ::kill(family[i], SIGKILL);
    }
  }
  for (pid_t pid : family) {
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << pid << ": " << status;
  }
}

TEST_F(CgroupFallbackTest, WithoutMemoryPeakThePeakIsTheHighestSample) {
  auto cgroup = manager_->Create(CgroupLimits{});
  ASSERT_TRUE(cgroup.ok()) << cgroup.error().message();
  cgroup->NarrowFeatures({.kill_file = true, .peak_file = false});
  EXPECT_NE(cgroup->Mechanisms().find("peak memory: memory.current sampled"), std::string::npos)
      << cgroup->Mechanisms();
  std::vector<pid_t> family = StartFamily(*cgroup, 1, kTouchedBytes);
  cgroup->SampleMemory();  // the run's monitor does this now and then
  cgroup->KillAll();
  for (pid_t pid : family) {
    ::waitpid(pid, nullptr, 0);
  }
  auto peak = cgroup->PeakMemoryBytes();
  ASSERT_TRUE(peak.ok()) << peak.error().message();
  EXPECT_GE(*peak, kTouchedBytes);
}

}  // namespace
}  // namespace warden::sandbox
