#include "sandbox/cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "sys/fs.h"

namespace warden::sandbox {
namespace {

TEST(CgroupTest, ParsesHybridMountinfo) {
  constexpr std::string_view kMountinfo =
      "25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
      "26 25 0:24 / /sys/fs/cgroup rw,relatime shared:8 - tmpfs tmpfs rw,mode=755\n"
      "27 26 0:25 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
      "28 26 0:26 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory\n"
      "29 26 0:27 / /sys/fs/cgroup/pids rw,relatime shared:11 - cgroup cgroup rw,pids\n"
      "30 26 0:28 / /sys/fs/cgroup/cpu,cpuacct rw shared:12 - cgroup cgroup rw,cpu,cpuacct\n";
  CgroupMounts m = ParseCgroupMounts(kMountinfo);
  EXPECT_EQ(m.v2, "/sys/fs/cgroup/unified");
  EXPECT_EQ(m.v1_memory, "/sys/fs/cgroup/memory");
  EXPECT_EQ(m.v1_pids, "/sys/fs/cgroup/pids");
  EXPECT_EQ(m.v1_cpu, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(m.v1_cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(m.v1_dirs.size(), 3U);
}

TEST(CgroupTest, ParsesPureV2Mountinfo) {
  CgroupMounts m = ParseCgroupMounts(
      "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n");
  EXPECT_EQ(m.v2, "/sys/fs/cgroup");
  EXPECT_TRUE(m.v1_memory.empty());
  EXPECT_TRUE(m.v1_dirs.empty());
}

TEST(CgroupTest, IgnoresGarbageLines) {
  CgroupMounts m = ParseCgroupMounts("garbage\n - \n\n1 2 3\n");
  EXPECT_TRUE(m.v2.empty());
  EXPECT_TRUE(m.v1_dirs.empty());
}

TEST(CgroupTest, OwnCgroupPathReadsTheLineOfEachHierarchy) {
  constexpr std::string_view kSelf =
      "9:name=systemd:/system.slice/warden.service\n"
      "4:memory:/system.slice/warden.service\n"
      "2:cpu,cpuacct:/\n"
      "0::/system.slice/warden.service\n";
  EXPECT_EQ(OwnCgroupPath(kSelf, "memory"), "/system.slice/warden.service");
  EXPECT_EQ(OwnCgroupPath(kSelf, "cpuacct"), "/");
  EXPECT_EQ(OwnCgroupPath(kSelf, "cpu"), "/");
  EXPECT_EQ(OwnCgroupPath(kSelf, ""), "/system.slice/warden.service");
  EXPECT_EQ(OwnCgroupPath(kSelf, "pids"), std::nullopt);
  EXPECT_EQ(OwnCgroupPath("4:memory:/a\n", ""), std::nullopt);  // v1 only: no "0::" line
}

TEST(CgroupTest, NestedParentIsWardenUnderTheOwnCgroup) {
  EXPECT_EQ(NestedParent("/sys/fs/cgroup/memory", "/system.slice/x.service"),
            "/sys/fs/cgroup/memory/system.slice/x.service/warden");
  EXPECT_EQ(NestedParent("/sys/fs/cgroup/pids", "/"), "/sys/fs/cgroup/pids/warden");
}

// Cgroup hierarchies imitated with plain files: the delegation logic runs against it exactly
// as against /sys/fs/cgroup (this project's machines have only cgroup v1).
class FakeHierarchyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-cgv2-");
    ASSERT_TRUE(dir.ok());
    root_ = std::move(dir).value();
  }

  std::string Path(const std::string& relative) const { return root_->path() + relative; }
  void Dir(const std::string& relative) const {
    ASSERT_EQ(::mkdir(Path(relative).c_str(), 0755), 0) << relative;
  }
  void File(const std::string& relative, const std::string& text) const {
    ASSERT_TRUE(sys::WriteNewFile(Path(relative), text).ok()) << relative;
  }
  std::string Read(const std::string& relative) const {
    auto text = sys::ReadFile(Path(relative));
    return text.ok() ? *text : "<missing>";
  }

  std::optional<sys::TempDir> root_;
};

class CgroupV2Test : public FakeHierarchyTest {};

TEST_F(CgroupV2Test, TrueRootGetsAWardenSubtreeWithControllers) {
  File("/cgroup.controllers", "cpuset cpu io memory pids\n");
  File("/cgroup.subtree_control", "");
  auto manager = CgroupManager::DetectV2(Path(""), "0::/\n");
  ASSERT_TRUE(manager.ok()) << manager.error().ToString();
  EXPECT_EQ(manager->version(), CgroupVersion::kV2);
  EXPECT_NE(manager->description().find(Path("/warden")), std::string::npos);
  struct stat st {};
  EXPECT_EQ(::stat(Path("/warden").c_str(), &st), 0);
  // The last controller written (one at a time, each "+name").
  EXPECT_EQ(Read("/cgroup.subtree_control").substr(0, 4), "+cpu");
}

TEST_F(CgroupV2Test, DelegatedCgroupMovesOnlyWardenIntoALeaf) {
  Dir("/system.slice");
  Dir("/system.slice/warden.service");
  Dir("/system.slice/warden.service/supervisor");
  File("/system.slice/warden.service/cgroup.controllers", "memory pids\n");
  File("/system.slice/warden.service/cgroup.subtree_control", "");
  File("/system.slice/warden.service/cgroup.procs", "");  // the kernel would have moved us out
  File("/system.slice/warden.service/supervisor/cgroup.procs", "");
  auto manager = CgroupManager::DetectV2(Path(""), "0::/system.slice/warden.service\n");
  ASSERT_TRUE(manager.ok()) << manager.error().ToString();
  EXPECT_EQ(Read("/system.slice/warden.service/supervisor/cgroup.procs"),
            std::to_string(::getpid()));
  // Written one controller at a time; the file (unlike the kernel's) keeps the bytes of the last.
  EXPECT_EQ(Read("/system.slice/warden.service/cgroup.subtree_control").substr(0, 5), "+pids");
  EXPECT_NE(manager->description().find("warden.service"), std::string::npos);
}

TEST_F(CgroupV2Test, SharedCgroupIsRefusedWithWhatToDo) {
  Dir("/user.slice");
  Dir("/user.slice/session-1.scope");
  Dir("/user.slice/session-1.scope/supervisor");
  File("/user.slice/session-1.scope/cgroup.controllers", "memory pids\n");
  File("/user.slice/session-1.scope/cgroup.procs", "4242\n");  // a login shell
  File("/user.slice/session-1.scope/supervisor/cgroup.procs", "");
  auto manager = CgroupManager::DetectV2(Path(""), "0::/user.slice/session-1.scope\n");
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(manager.error().message().find("systemd-run"), std::string::npos)
      << manager.error().message();
}

TEST_F(CgroupV2Test, ContainerNamespaceRootIsNotTreatedAsTheTrueRoot) {
  // "0::/" inside a cgroup namespace: the directory has cgroup.type, and a process in it.
  File("/cgroup.controllers", "memory pids\n");
  File("/cgroup.type", "domain\n");
  File("/cgroup.procs", "");
  Dir("/supervisor");
  File("/supervisor/cgroup.procs", "");
  File("/cgroup.subtree_control", "");
  auto manager = CgroupManager::DetectV2(Path(""), "0::/\n");
  ASSERT_TRUE(manager.ok()) << manager.error().ToString();
  EXPECT_EQ(Read("/supervisor/cgroup.procs"), std::to_string(::getpid()));
  struct stat st {};
  EXPECT_NE(::stat(Path("/warden").c_str(), &st), 0);  // no subtree for the true root
}

TEST_F(CgroupV2Test, SecondSupervisorInTheLeafUsesTheSameParent) {
  Dir("/app.scope");
  Dir("/app.scope/supervisor");
  File("/app.scope/cgroup.controllers", "memory pids\n");
  File("/app.scope/cgroup.subtree_control", "");
  File("/app.scope/cgroup.procs", "");
  File("/app.scope/supervisor/cgroup.procs", "");
  auto manager = CgroupManager::DetectV2(Path(""), "0::/app.scope/supervisor\n");
  ASSERT_TRUE(manager.ok()) << manager.error().ToString();
  EXPECT_EQ(manager->description(), "cgroup v2 at " + Path("/app.scope"));
}

TEST_F(CgroupV2Test, MissingControllersAreNamed) {
  File("/cgroup.controllers", "hugetlb\n");
  auto manager = CgroupManager::DetectV2(Path(""), "0::/\n");
  ASSERT_FALSE(manager.ok());
  EXPECT_NE(manager.error().message().find("lacks the memory and pids controllers"),
            std::string::npos)
      << manager.error().message();
}

// cgroup v1 hierarchies imitated with plain directories: where the runs' parents go.
class CgroupV1Test : public FakeHierarchyTest {
 protected:
  CgroupMounts Mounts() const {
    CgroupMounts mounts;
    mounts.v1_memory = Path("/memory");
    mounts.v1_pids = Path("/pids");
    mounts.v1_cpuacct = Path("/cpu,cpuacct");
    mounts.v1_cpu = Path("/cpu,cpuacct");
    return mounts;
  }
  void MakeHierarchies() const {
    for (const char* dir : {"/memory", "/pids", "/cpu,cpuacct"}) {
      Dir(dir);
    }
  }
  bool IsDir(const std::string& relative) const {
    struct stat st {};
    return ::stat(Path(relative).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
};

TEST_F(CgroupV1Test, RunsNestUnderTheServicesOwnCgroupInEachHierarchy) {
  MakeHierarchies();
  Dir("/memory/svc");
  auto manager = CgroupManager::DetectV1(Mounts(), "5:memory:/svc\n3:pids:/\n2:cpu,cpuacct:/\n");
  ASSERT_TRUE(manager.ok()) << manager.error().ToString();
  EXPECT_TRUE(IsDir("/memory/svc/warden"));
  EXPECT_TRUE(IsDir("/pids/warden"));
  EXPECT_TRUE(IsDir("/cpu,cpuacct/warden"));
  EXPECT_FALSE(IsDir("/memory/warden"));
  EXPECT_NE(manager->description().find(Path("/memory/svc/warden")), std::string::npos)
      << manager->description();
  EXPECT_EQ(manager->description().find("not under"), std::string::npos) << manager->description();
}

TEST_F(CgroupV1Test, UnusableOwnCgroupFallsBackToTheRootAndSaysWhy) {
  MakeHierarchies();
  // The process's memory cgroup as /proc/self/cgroup names it does not exist here.
  auto manager =
      CgroupManager::DetectV1(Mounts(), "5:memory:/gone\n3:pids:/../outside\n2:cpu,cpuacct:/\n");
  ASSERT_TRUE(manager.ok()) << manager.error().ToString();
  EXPECT_TRUE(IsDir("/memory/warden"));
  EXPECT_TRUE(IsDir("/pids/warden"));
  const std::string& description = manager->description();
  EXPECT_NE(description.find("memory: " + Path("/memory/gone") + " is not writable"),
            std::string::npos)
      << description;
  EXPECT_NE(description.find("outside its cgroup namespace"), std::string::npos) << description;
}

TEST_F(CgroupV1Test, ParentsTheManagerMadeGoWithIt) {
  MakeHierarchies();
  Dir("/pids/warden");  // there before: an operator's, kept
  {
    auto manager = CgroupManager::DetectV1(Mounts(), "5:memory:/\n3:pids:/\n2:cpu,cpuacct:/\n");
    ASSERT_TRUE(manager.ok()) << manager.error().ToString();
    ASSERT_TRUE(IsDir("/memory/warden"));
  }
  EXPECT_FALSE(IsDir("/memory/warden"));
  EXPECT_FALSE(IsDir("/cpu,cpuacct/warden"));
  EXPECT_TRUE(IsDir("/pids/warden"));
}

}  // namespace
}  // namespace warden::sandbox
