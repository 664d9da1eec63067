// The workspace watch's promise that lets a run skip measuring its workspace: it calls a tree
// unchanged only while it watches every directory and has seen nothing written.
#include "sandbox/workspace_watch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "sys/fs.h"

namespace warden::sandbox {
namespace {

class WorkspaceWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-watch-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(dir).value());
    fd_.reset(::open(dir_->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(fd_);
  }

  std::string Path(const std::string& relative) const { return dir_->path() + "/" + relative; }

  void Write(const std::string& relative, const std::string& text) const {
    std::ofstream out(Path(relative), std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good()) << relative;
  }

  std::optional<sys::TempDir> dir_;
  UniqueFd fd_;
};

TEST_F(WorkspaceWatchTest, AnUntouchedTreeIsUnchangedEvenAfterItIsRead) {
  ASSERT_EQ(::mkdir(Path("src").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(Path("src/lib").c_str(), 0755), 0);
  Write("src/lib/a.py", "print(1)\n");
  std::optional<WorkspaceWatch> watch = WorkspaceWatch::Start(fd_.get());
  ASSERT_TRUE(watch.has_value());
  EXPECT_TRUE(watch->Unchanged());
  auto text = sys::ReadFile(Path("src/lib/a.py"));
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(watch->Unchanged());
}

TEST_F(WorkspaceWatchTest, AWriteDeepInTheTreeMakesItChangedForGood) {
  ASSERT_EQ(::mkdir(Path("a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(Path("a/b").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(Path("a/b/c").c_str(), 0755), 0);
  Write("a/b/c/data.csv", "x\n");
  std::optional<WorkspaceWatch> watch = WorkspaceWatch::Start(fd_.get());
  ASSERT_TRUE(watch.has_value());
  Write("a/b/c/data.csv", "x\ny\n");
  EXPECT_FALSE(watch->Unchanged());
  EXPECT_FALSE(watch->Unchanged());  // drained, and still changed
}

TEST_F(WorkspaceWatchTest, AFileGrownWithTruncateIsAChange) {
  Write("sparse", "");
  std::optional<WorkspaceWatch> watch = WorkspaceWatch::Start(fd_.get());
  ASSERT_TRUE(watch.has_value());
  ASSERT_EQ(::truncate(Path("sparse").c_str(), 1 << 20), 0);
  EXPECT_FALSE(watch->Unchanged());
}

TEST_F(WorkspaceWatchTest, AFileMovedInFromOutsideIsAChange) {
  auto outside = sys::TempDir::Create("warden-watch-outside-");
  ASSERT_TRUE(outside.ok());
  std::string from = outside->path() + "/big";
  ASSERT_TRUE(sys::WriteNewFile(from, std::string(4096, 'x')).ok());
  std::optional<WorkspaceWatch> watch = WorkspaceWatch::Start(fd_.get());
  ASSERT_TRUE(watch.has_value());
  ASSERT_EQ(::rename(from.c_str(), Path("big").c_str()), 0);
  EXPECT_FALSE(watch->Unchanged());
}

TEST_F(WorkspaceWatchTest, ATreeTooDeepToWatchWholeIsNeverCalledUnchanged) {
  std::string relative = "d";
  for (int depth = 0; depth < 70; ++depth) {
    ASSERT_EQ(::mkdir(Path(relative).c_str(), 0755), 0);
    relative += "/d";
  }
  std::optional<WorkspaceWatch> watch = WorkspaceWatch::Start(fd_.get());
  ASSERT_TRUE(watch.has_value());
  EXPECT_FALSE(watch->Unchanged());
}

}  // namespace
}  // namespace warden::sandbox
