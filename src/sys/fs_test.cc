#include "sys/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace warden::sys {
namespace {

TEST(FsTest, TempDirIsRemovedWithItsContents) {
  std::string path;
  {
    auto dir = TempDir::Create("warden-test-");
    ASSERT_TRUE(dir.ok()) << dir.error().ToString();
    path = dir->path();
    ASSERT_TRUE(WriteNewFile(path + "/a", "hello").ok());
    ASSERT_EQ(::mkdir((path + "/sub").c_str(), 0755), 0);
    ASSERT_TRUE(WriteNewFile(path + "/sub/b", "world").ok());
    EXPECT_EQ(*ReadFile(path + "/sub/b"), "world");
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

TEST(FsTest, RemoveTreeDeletesSymlinksButNotWhatTheyPointTo) {
  auto outside = TempDir::Create("warden-test-outside-");
  auto tree = TempDir::Create("warden-test-tree-");
  ASSERT_TRUE(outside.ok() && tree.ok());
  std::string precious = outside->path() + "/precious";
  ASSERT_TRUE(WriteNewFile(precious, "keep me").ok());
  ASSERT_EQ(::symlink(outside->path().c_str(), (tree->path() + "/link-to-dir").c_str()), 0);
  ASSERT_EQ(::symlink(precious.c_str(), (tree->path() + "/link-to-file").c_str()), 0);

  ASSERT_TRUE(RemoveTree(tree->path()).ok());

  EXPECT_NE(::access(tree->path().c_str(), F_OK), 0);
  EXPECT_EQ(*ReadFile(precious), "keep me");
}

TEST(FsTest, DiskUsageCountsFilesBelowAndNotSymlinkTargets) {
  auto dir = TempDir::Create("warden-test-du-");
  ASSERT_TRUE(dir.ok());
  UniqueFd fd(::open(dir->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  uint64_t empty = *DiskUsage(fd.get());
  ASSERT_EQ(::mkdir((dir->path() + "/d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteNewFile(dir->path() + "/d/big", std::string(1 << 20, 'x')).ok());
  ASSERT_EQ(::symlink("/usr", (dir->path() + "/usr-link").c_str()), 0);
  uint64_t used = *DiskUsage(fd.get());
  EXPECT_GE(used - empty, 1U << 20);
  EXPECT_LT(used - empty, 2U << 20);  // /usr behind the symlink is not counted
}

TEST(FsTest, DiskUsageCountsTheApparentSizeOfSparseFiles) {
  auto dir = TempDir::Create("warden-test-du-");
  ASSERT_TRUE(dir.ok());
  UniqueFd fd(::open(dir->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  uint64_t empty = *DiskUsage(fd.get());
  // 1 GiB of holes: no block written, but a reader of the file reads 1 GiB.
  UniqueFd sparse(::open((dir->path() + "/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(sparse.valid());
  ASSERT_EQ(::ftruncate(sparse.get(), off_t{1} << 30), 0);
  EXPECT_GE(*DiskUsage(fd.get()) - empty, uint64_t{1} << 30);
}

TEST(FsTest, ErrorsNameTheCallAndThePath) {
  auto r = ReadFile("/nonexistent/warden");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(), "open(/nonexistent/warden): ENOENT (No such file or directory)");
}

}  // namespace
}  // namespace warden::sys
