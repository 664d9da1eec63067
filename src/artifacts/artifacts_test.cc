#include "artifacts/artifacts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "artifacts/workspace_fs.h"
#include "base/sha256.h"
#include "sys/fs.h"

namespace warden::artifacts {
namespace {

constexpr char kHelloSha256[] = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
constexpr char kAbcSha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr int64_t kMtimeMs = 1700000000123;

void MakeDir(const std::string& path) {
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << path;
}

void WriteFile(const std::string& path, std::string_view content) {
  ASSERT_TRUE(sys::WriteNewFile(path, content).ok()) << path;
  struct timespec times[2] = {{kMtimeMs / 1000, (kMtimeMs % 1000) * 1000000},
                              {kMtimeMs / 1000, (kMtimeMs % 1000) * 1000000}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

void Symlink(const std::string& target, const std::string& path) {
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0) << path;
}

// A workspace with nested files, an empty file, names that sort differently by component and by
// byte, and things that are not artifacts: symlinks in and out, a symlinked directory, a FIFO.
class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-artifacts-");
    ASSERT_TRUE(dir.ok()) << dir.error().ToString();
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    ws_ = dir_->path();
    WriteFile(ws_ + "/hello.txt", "hello\n");
    WriteFile(ws_ + "/B.txt", "abc");
    WriteFile(ws_ + "/a-b", "abc");
    MakeDir(ws_ + "/a");
    WriteFile(ws_ + "/a/x", "hello\n");
    MakeDir(ws_ + "/sub");
    MakeDir(ws_ + "/sub/deeper");
    WriteFile(ws_ + "/sub/deeper/abc.txt", "abc");
    WriteFile(ws_ + "/sub/empty", "");
    Symlink("hello.txt", ws_ + "/link-inside");
    Symlink("sub", ws_ + "/link-sub");
    Symlink("/etc/passwd", ws_ + "/link-passwd");
    Symlink("/etc", ws_ + "/link-etc");
    ASSERT_EQ(::mkfifo((ws_ + "/fifo").c_str(), 0644), 0);
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::string ws_;
};

TEST_F(WorkspaceTest, ManifestListsRegularFilesSortedWithSizesAndDigests) {
  auto manifest = Manifest(ws_);
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToString();

  struct Expected {
    const char* path;
    uint64_t size;
    const char* sha256;
  };
  // Byte order: "B" < "a", and "a-b" < "a/x" because '-' < '/'. No symlink, no FIFO.
  const std::vector<Expected> expected = {
      {"B.txt", 3, kAbcSha256},
      {"a-b", 3, kAbcSha256},
      {"a/x", 6, kHelloSha256},
      {"hello.txt", 6, kHelloSha256},
      {"sub/deeper/abc.txt", 3, kAbcSha256},
      {"sub/empty", 0, kEmptySha256},
  };
  ASSERT_EQ(manifest->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const FileInfo& file = (*manifest)[i];
    EXPECT_EQ(file.path, expected[i].path);
    EXPECT_EQ(file.size, expected[i].size) << file.path;
    EXPECT_EQ(file.sha256, expected[i].sha256) << file.path;
    EXPECT_EQ(file.mtime_ms, kMtimeMs) << file.path;
  }
}

TEST_F(WorkspaceTest, ManifestHashesLargeFilesInPieces) {
  std::string content;
  for (int i = 0; i < 300000; ++i) {
    content += static_cast<char>('a' + i % 26);
  }
  WriteFile(ws_ + "/sub/large", content);
  auto manifest = Manifest(ws_);
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToString();
  bool found = false;
  for (const FileInfo& file : *manifest) {
    if (file.path == "sub/large") {
      found = true;
      EXPECT_EQ(file.size, content.size());
      EXPECT_EQ(file.sha256, Sha256Hex(content));
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(WorkspaceTest, ManifestRefusesMoreFilesThanTheLimit) {
  EXPECT_TRUE(Manifest(ws_, {.max_files = 6}).ok());
  auto manifest = Manifest(ws_, {.max_files = 5});
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().code(), ErrorCode::kResourceExhausted);
}

TEST_F(WorkspaceTest, ManifestLeavesOutPathsTooLongToOpen) {
  // 20 levels of 250-byte names: 5020 bytes, more than a path the kernel resolves in one call,
  // so the tree is built (and removed) one directory descriptor at a time.
  constexpr int kLevels = 20;
  const std::string name(250, 'd');
  std::vector<UniqueFd> levels;
  levels.emplace_back(::open(ws_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  for (int i = 0; i < kLevels; ++i) {
    ASSERT_EQ(::mkdirat(levels.back().get(), name.c_str(), 0755), 0);
    levels.emplace_back(
        ::openat(levels.back().get(), name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  UniqueFd deep(::openat(levels.back().get(), "deep.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(deep.valid());

  auto manifest = Manifest(ws_);

  ASSERT_EQ(::unlinkat(levels.back().get(), "deep.txt", 0), 0);
  for (int i = kLevels - 1; i >= 0; --i) {
    ASSERT_EQ(::unlinkat(levels[i].get(), name.c_str(), AT_REMOVEDIR), 0);
  }
  ASSERT_TRUE(manifest.ok()) << manifest.error().ToString();
  EXPECT_EQ(manifest->size(), 6U);
}

TEST(ManifestTest, MissingWorkspaceIsNotFound) {
  auto manifest = Manifest("/nonexistent/warden-workspace");
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(manifest.error().message().find("/nonexistent/warden-workspace"), std::string::npos)
      << manifest.error().message();
}

TEST(ManifestTest, WorkspaceThatIsAFileIsInvalid) {
  auto manifest = Manifest("/etc/passwd");
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(WorkspaceTest, OpenInWorkspaceOpensANestedFile) {
  auto file = OpenInWorkspace(ws_, "sub/deeper/abc.txt");
  ASSERT_TRUE(file.ok()) << file.error().ToString();
  EXPECT_EQ(file->size, 3U);
  EXPECT_EQ(file->mtime_ms, kMtimeMs);
  FileReader reader(std::move(*file));
  auto piece = reader.Next();
  ASSERT_TRUE(piece.ok() && piece->has_value());
  EXPECT_EQ(**piece, "abc");
  auto end = reader.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

// Every way out of the workspace, with both resolvers: refused, and /etc/passwd never read.
TEST_F(WorkspaceTest, OpenBeneathRefusesPathsThatLeaveOrFollowSymlinks) {
  const std::vector<std::string> hostile = {
      "../etc/passwd",
      "/etc/passwd",
      "a/../../x",
      "a//b",
      "",
      ".",
      "./hello.txt",
      "sub/",
      "sub/deeper/../../hello.txt",
      "link-passwd",
      "link-etc/passwd",
      "link-inside",
      "link-sub/empty",
      std::string("hello.txt\0/../../etc/passwd", 27),
      std::string(5000, 'a'),
  };
  auto root = OpenWorkspace(ws_);
  ASSERT_TRUE(root.ok());
  for (Resolution resolution : {Resolution::kAuto, Resolution::kComponentwise}) {
    for (const std::string& path : hostile) {
      auto file = OpenBeneath(root->get(), path, resolution);
      if (file.ok()) {
        FileReader reader(std::move(*file));
        auto piece = reader.Next();
        ADD_FAILURE() << "opened '" << path
                      << "': " << (piece.ok() && piece->has_value() ? **piece : std::string());
        continue;
      }
      ErrorCode code = file.error().code();
      EXPECT_TRUE(code == ErrorCode::kInvalidArgument || code == ErrorCode::kNotFound)
          << path << ": " << file.error().ToString();
    }
  }
}

TEST_F(WorkspaceTest, OpenInWorkspaceRefusesTheClassicEscapes) {
  for (const char* path : {"../etc/passwd", "/etc/passwd", "a/../../x", "link-passwd"}) {
    auto file = OpenInWorkspace(ws_, path);
    ASSERT_FALSE(file.ok()) << path;
    EXPECT_EQ(file.error().code(), ErrorCode::kInvalidArgument) << file.error().ToString();
  }
}

TEST_F(WorkspaceTest, OpenBeneathExplainsWhatItRefuses) {
  auto root = OpenWorkspace(ws_);
  ASSERT_TRUE(root.ok());
  for (Resolution resolution : {Resolution::kAuto, Resolution::kComponentwise}) {
    auto dir = OpenBeneath(root->get(), "sub/deeper", resolution);
    ASSERT_FALSE(dir.ok());
    EXPECT_EQ(dir.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(dir.error().message().find("is a directory"), std::string::npos);

    // The FIFO has no writer: the open must neither block nor succeed.
    auto fifo = OpenBeneath(root->get(), "fifo", resolution);
    ASSERT_FALSE(fifo.ok());
    EXPECT_EQ(fifo.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(fifo.error().message().find("not a regular file"), std::string::npos);

    auto missing = OpenBeneath(root->get(), "sub/missing.txt", resolution);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

    auto through_file = OpenBeneath(root->get(), "hello.txt/x", resolution);
    ASSERT_FALSE(through_file.ok());
    EXPECT_EQ(through_file.error().code(), ErrorCode::kNotFound);

    auto link = OpenBeneath(root->get(), "link-etc/passwd", resolution);
    ASSERT_FALSE(link.ok());
    EXPECT_NE(link.error().message().find("symbolic link"), std::string::npos)
        << link.error().message();
  }
}

TEST(CheckRelativePathTest, AcceptsPlainPathsOnly) {
  EXPECT_TRUE(CheckRelativePath("a").ok());
  EXPECT_TRUE(CheckRelativePath("a/b.c/..d/e..").ok());
  EXPECT_TRUE(CheckRelativePath("données/résumé.txt").ok());
  for (std::string_view bad : {"", "/", "/a", "a/", "a//b", "..", "a/..", "./a", "a/./b"}) {
    Status status = CheckRelativePath(bad);
    ASSERT_FALSE(status.ok()) << bad;
    EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(CheckRelativePath(std::string_view("a\0b", 3)).ok());
}

TEST_F(WorkspaceTest, FileReaderReturnsPiecesOfAtMost64KiB) {
  std::string content;
  for (int i = 0; i < 200000; ++i) {
    content += static_cast<char>(i * 7);
  }
  WriteFile(ws_ + "/data.bin", content);
  auto file = OpenInWorkspace(ws_, "data.bin");
  ASSERT_TRUE(file.ok());
  FileReader reader(std::move(*file));
  std::string read;
  for (;;) {
    auto piece = reader.Next();
    ASSERT_TRUE(piece.ok()) << piece.error().ToString();
    if (!piece->has_value()) {
      break;
    }
    EXPECT_FALSE((*piece)->empty());
    EXPECT_LE((*piece)->size(), FileReader::kPieceBytes);
    read += **piece;
  }
  EXPECT_TRUE(read == content) << "read " << read.size() << " of " << content.size() << " bytes";
}

TEST_F(WorkspaceTest, FileReaderKeepsToTheSizeAtOpen) {
  WriteFile(ws_ + "/grows", "12345");
  auto grows = OpenInWorkspace(ws_, "grows");
  ASSERT_TRUE(grows.ok());
  WriteFile(ws_ + "/grows", "1234567890");  // rewritten in place, longer
  FileReader grows_reader(std::move(*grows));
  auto piece = grows_reader.Next();
  ASSERT_TRUE(piece.ok() && piece->has_value());
  EXPECT_EQ(**piece, "12345");

  WriteFile(ws_ + "/shrinks", std::string(100000, 'x'));
  auto shrinks = OpenInWorkspace(ws_, "shrinks");
  ASSERT_TRUE(shrinks.ok());
  ASSERT_EQ(::truncate((ws_ + "/shrinks").c_str(), 10), 0);
  FileReader shrinks_reader(std::move(*shrinks));
  auto shrunk = shrinks_reader.Next();
  ASSERT_FALSE(shrunk.ok());
  EXPECT_EQ(shrunk.error().code(), ErrorCode::kDataLoss);
}

TEST(OpenInWorkspaceTest, MissingWorkspaceIsNotFound) {
  auto file = OpenInWorkspace("/nonexistent/warden-workspace", "a.txt");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace warden::artifacts
