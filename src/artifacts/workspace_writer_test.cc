#include "artifacts/workspace_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sys/fs.h"

namespace warden::artifacts {
namespace {

using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class WorkspaceWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-writer-test-");
    ASSERT_TRUE(dir.ok()) << dir.error().ToString();
    dir_.emplace(std::move(*dir));
    workspace_ = dir_->path() + "/ws";
    outside_ = dir_->path() + "/outside";
    std::filesystem::create_directory(workspace_);
    std::filesystem::create_directory(outside_);
    std::ofstream(outside_ + "/secret") << "untouched";
  }

  std::optional<sys::TempDir> dir_;
  std::string workspace_;
  std::string outside_;
};

TEST_F(WorkspaceWriterTest, WritesANestedFileWithItsModeSizeAndDigest) {
  ::umask(077);
  auto written = WriteInWorkspace(workspace_, "data/in/x.csv", "abc");
  ::umask(022);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(written->size, 3U);
  EXPECT_EQ(written->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Slurp(workspace_ + "/data/in/x.csv"), "abc");
  struct stat st {};
  ASSERT_EQ(::stat((workspace_ + "/data/in/x.csv").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644U);
  ASSERT_EQ(::stat((workspace_ + "/data/in").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  // No temporary file is left beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(workspace_ + "/data/in"),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(WorkspaceWriterTest, ReplacesAFileAlreadyThere) {
  ASSERT_TRUE(WriteInWorkspace(workspace_, "x", "first, longer").ok());
  ASSERT_TRUE(WriteInWorkspace(workspace_, "x", "second").ok());
  EXPECT_EQ(Slurp(workspace_ + "/x"), "second");
}

TEST_F(WorkspaceWriterTest, ASymlinkAtTheNameIsRefusedAndNotFollowed) {
  std::filesystem::create_symlink(outside_ + "/secret", workspace_ + "/link");
  auto written = WriteInWorkspace(workspace_, "link", "overwritten");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(written.error().message(), HasSubstr("is a symbolic link"));
  EXPECT_EQ(Slurp(outside_ + "/secret"), "untouched");
  EXPECT_TRUE(std::filesystem::is_symlink(workspace_ + "/link"));
}

TEST_F(WorkspaceWriterTest, ASymlinkOnTheWayIsRefusedAndNothingIsWrittenOutside) {
  std::filesystem::create_directory_symlink(outside_, workspace_ + "/x");
  auto written = WriteInWorkspace(workspace_, "x/secret", "overwritten");
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(written.error().message(), HasSubstr("goes through a symbolic link"));
  auto deeper = WriteInWorkspace(workspace_, "x/new/file", "made");
  ASSERT_FALSE(deeper.ok());
  EXPECT_EQ(Slurp(outside_ + "/secret"), "untouched");
  EXPECT_FALSE(std::filesystem::exists(outside_ + "/new"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(outside_),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(WorkspaceWriterTest, AFileWhereADirectoryIsNeededAndADirectoryAtTheNameAreRefused) {
  ASSERT_TRUE(WriteInWorkspace(workspace_, "a", "file").ok());
  auto under_file = WriteInWorkspace(workspace_, "a/b", "x");
  ASSERT_FALSE(under_file.ok());
  EXPECT_THAT(under_file.error().message(), HasSubstr("to be a directory"));
  std::filesystem::create_directory(workspace_ + "/d");
  auto over_dir = WriteInWorkspace(workspace_, "d", "x");
  ASSERT_FALSE(over_dir.ok());
  EXPECT_THAT(over_dir.error().message(), HasSubstr("is a directory"));
}

TEST_F(WorkspaceWriterTest, PathsThatLeaveTheWorkspaceAreRefused) {
  for (const char* path : {"/etc/passwd", "../outside/secret", "a/../../x", ""}) {
    auto written = WriteInWorkspace(workspace_, path, "x");
    ASSERT_FALSE(written.ok()) << path;
    EXPECT_EQ(written.error().code(), ErrorCode::kInvalidArgument) << path;
  }
  EXPECT_EQ(Slurp(outside_ + "/secret"), "untouched");
}

}  // namespace
}  // namespace warden::artifacts
