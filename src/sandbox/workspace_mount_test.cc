// A caller's workspace in real sandboxes: reached without a way through the host's directories,
// and, under SupervisorOptions::workspace_root, mounted without its host path showing inside.
#include "sandbox/workspace_mount.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbox/sandbox.h"
#include "sys/fs.h"

namespace warden::sandbox {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kShowMounts[] = "cat /proc/self/mountinfo; echo ---; cat /proc/self/cgroup";

// A directory tree for workspaces: `root` closed to everyone but its owner, as a service's data
// directory is; workspaces below it belong to the sandbox user.
class WorkspaceMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-wsmount-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    ASSERT_EQ(::chmod(dir_->path().c_str(), 0700), 0);
    root_ = dir_->path() + "/workspaces";
    ASSERT_EQ(::mkdir(root_.c_str(), 0700), 0);
    GiveToSandbox(root_);
  }

  void GiveToSandbox(const std::string& path) const {
    if (::geteuid() == 0) {
      ASSERT_EQ(::chown(path.c_str(), options_.root_sandbox_uid, options_.root_sandbox_uid), 0);
    }
  }

  std::string MakeWorkspace(const std::string& name) const {
    std::string path = root_ + "/" + name;
    EXPECT_EQ(::mkdir(path.c_str(), 0700), 0);
    GiveToSandbox(path);
    return path;
  }

  std::unique_ptr<Supervisor> MakeSupervisor(std::string workspace_root) {
    options_.workspace_root = std::move(workspace_root);
    auto supervisor = Supervisor::Create(options_);
    EXPECT_TRUE(supervisor.ok()) << supervisor.error().ToString();
    return supervisor.ok() ? std::move(supervisor).value() : nullptr;
  }

  RunResult Shell(Supervisor& supervisor, const std::string& workspace, const std::string& script) {
    Spec spec;
    spec.workspace = workspace;
    spec.argv = {"/bin/sh", "-c", script};
    auto result = supervisor.Run(spec);
    EXPECT_TRUE(result.ok()) << result.error().ToString();
    return result.ok() ? std::move(result).value() : RunResult{};
  }

  SupervisorOptions options_;
  std::optional<sys::TempDir> dir_;
  std::string root_;
};

TEST_F(WorkspaceMountTest, AWorkspaceBehindADirectoryClosedToOthersIsMounted) {
  // A bind mount made inside the sandbox would have to walk the host's path, which the
  // unprivileged init may not when Warden runs as root.
  auto supervisor = MakeSupervisor("");
  std::string workspace = MakeWorkspace("job");
  RunResult r = Shell(*supervisor, workspace, "echo kept > result.txt");
  ASSERT_EQ(r.outcome, Outcome::kExited) << r.message;
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(*sys::ReadFile(workspace + "/result.txt"), "kept\n");
}

TEST_F(WorkspaceMountTest, AWorkspaceUnderTheRootShowsNoHostPathInside) {
  auto supervisor = MakeSupervisor(root_);
  EXPECT_THAT(supervisor->workspace_mounting(), StartsWith("overlays under")) << root_;
  std::string workspace = MakeWorkspace("j_secretname");
  RunResult r = Shell(*supervisor, workspace,
                      std::string(kShowMounts) + "; mkdir -p a/b && echo kept > a/b/f && mv a c");
  ASSERT_EQ(r.outcome, Outcome::kExited) << r.message;
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, HasSubstr(" / /workspace ")) << r.stdout_data;
  EXPECT_THAT(r.stdout_data, Not(HasSubstr(dir_->path()))) << r.stdout_data;
  EXPECT_THAT(r.stdout_data, Not(HasSubstr("j_secretname"))) << r.stdout_data;
  EXPECT_THAT(r.stdout_data, Not(HasSubstr("overlay-work"))) << r.stdout_data;
  // The files are the host directory's, owned by the sandbox user, and nothing else is left.
  EXPECT_EQ(*sys::ReadFile(workspace + "/c/b/f"), "kept\n");
  struct stat st {};
  ASSERT_EQ(::stat((workspace + "/c/b/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid() == 0 ? options_.root_sandbox_uid : ::geteuid());
  EXPECT_EQ(st.st_mode & 0777, 0600U);  // umask 077
  struct stat work {};
  ASSERT_EQ(::stat((root_ + "/.overlay-work").c_str(), &work), 0);
  EXPECT_EQ(work.st_nlink, 2U) << "an overlay work directory was left behind";
}

TEST_F(WorkspaceMountTest, TheRunsCgroupIsTheRootOfItsCgroupNamespaceColdAndWarm) {
  for (size_t warm : {0, 1}) {
    options_.warm_sandboxes = warm;
    auto supervisor = MakeSupervisor("");
    for (int run = 0; run < 2; ++run) {  // with one warm sandbox, the second is built ahead
      RunResult r = Shell(*supervisor, "", "cat /proc/self/cgroup");
      ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
      ASSERT_FALSE(r.stdout_data.empty());
      for (size_t start = 0, end; start < r.stdout_data.size(); start = end + 1) {
        end = r.stdout_data.find('\n', start);
        std::string line = r.stdout_data.substr(start, end - start);
        EXPECT_TRUE(line.ends_with(":/")) << "warm " << warm << ": a host cgroup path: " << line;
      }
    }
  }
}

}  // namespace
}  // namespace warden::sandbox
