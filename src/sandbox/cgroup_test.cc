#include "sandbox/cgroup.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace warden::sandbox
