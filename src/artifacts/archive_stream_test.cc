// ArchiveStream, checked the way a user would: stream a workspace, unpack the result with the
// real unzip and tar, compare the files.
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "artifacts/artifacts.h"
#include "base/unique_fd.h"
#include "sys/fs.h"

extern char** environ;

namespace warden::artifacts {
namespace {

constexpr size_t kBigFileBytes = size_t{20} * 1024 * 1024;

// AddressSanitizer keeps freed memory in quarantine, so resident memory grows with every
// allocation and says nothing about what is held at once.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kRssTellsWhatIsHeld = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kRssTellsWhatIsHeld = false;
#else
constexpr bool kRssTellsWhatIsHeld = true;
#endif
#else
constexpr bool kRssTellsWhatIsHeld = true;
#endif

// Runs a tool to completion; returns its exit status (-1 if it could not run).
int RunTool(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
    return -1;
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    return -1;
  }
  return WEXITSTATUS(status);
}

// The lines a shell command prints.
std::vector<std::string> Lines(const std::string& command) {
  std::vector<std::string> lines;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return lines;
  }
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while ((n = ::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  ::pclose(pipe);
  std::istringstream stream(output);
  for (std::string line; std::getline(stream, line);) {
    lines.push_back(line);
  }
  return lines;
}

// Resident memory of this process, in bytes.
uint64_t RssBytes() {
  auto status = sys::ReadFile("/proc/self/status");
  if (!status.ok()) {
    return 0;
  }
  size_t at = status->find("VmRSS:");
  return at == std::string::npos ? 0 : std::stoull(status->substr(at + 6)) * 1024;
}

// Writes `size` pseudo-random (incompressible) bytes, 1 MiB at a time.
void WriteRandomFile(const std::string& path, size_t size) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd.valid());
  uint64_t state = 0x9e3779b97f4a7c15;
  std::string chunk(size_t{1024} * 1024, '\0');
  for (size_t written = 0; written < size; written += chunk.size()) {
    for (size_t i = 0; i < chunk.size(); i += 8) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      for (size_t k = 0; k < 8; ++k) {
        chunk[i + k] = static_cast<char>(state >> (8 * k));
      }
    }
    size_t n = std::min(chunk.size(), size - written);
    ASSERT_EQ(::write(fd.get(), chunk.data(), n), static_cast<ssize_t>(n));
  }
}

struct StreamStats {
  size_t largest_piece = 0;
  uint64_t rss_growth = 0;
};

// Streams `workspace` into the file `archive`, measuring piece sizes and memory on the way.
StreamStats StreamToFile(const std::string& workspace, ArchiveFormat format,
                         const std::string& archive) {
  StreamStats stats;
  auto stream = ArchiveStream::Open(workspace, format);
  EXPECT_TRUE(stream.ok()) << stream.error().ToString();
  if (!stream.ok()) {
    return stats;
  }
  UniqueFd out(::open(archive.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  uint64_t baseline = RssBytes();
  for (;;) {
    auto piece = (*stream)->Next();
    EXPECT_TRUE(piece.ok()) << piece.error().ToString();
    if (!piece.ok() || !piece->has_value()) {
      break;
    }
    const std::string& bytes = **piece;
    EXPECT_FALSE(bytes.empty());
    stats.largest_piece = std::max(stats.largest_piece, bytes.size());
    ssize_t written = ::write(out.get(), bytes.data(), bytes.size());
    EXPECT_EQ(written, static_cast<ssize_t>(bytes.size()));
    uint64_t rss = RssBytes();
    stats.rss_growth = std::max(stats.rss_growth, rss > baseline ? rss - baseline : 0);
  }
  return stats;
}

// Relative path -> kind ('f' file, 'd' directory, 'l' symlink, '?' other) of everything below.
std::map<std::string, char> Tree(const std::string& root) {
  std::map<std::string, char> tree;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    char kind = entry.is_symlink()        ? 'l'
                : entry.is_directory()    ? 'd'
                : entry.is_regular_file() ? 'f'
                                          : '?';
    tree[std::filesystem::relative(entry.path(), root).string()] = kind;
  }
  return tree;
}

class ArchiveStreamTest : public ::testing::TestWithParam<ArchiveFormat> {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-archive-");
    ASSERT_TRUE(dir.ok()) << dir.error().ToString();
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    ws_ = dir_->path() + "/workspace";
    out_ = dir_->path() + "/unpacked";
    ASSERT_EQ(::mkdir(ws_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(out_.c_str(), 0755), 0);
    archive_ = dir_->path() + "/archive." + std::string(FileExtension(GetParam()));
  }

  void Add(const std::string& path, std::string_view content) {
    std::filesystem::create_directories(std::filesystem::path(ws_ + "/" + path).parent_path());
    ASSERT_TRUE(sys::WriteNewFile(ws_ + "/" + path, content).ok());
    files_.insert(path);
  }

  int Unpack() {
    if (GetParam() == ArchiveFormat::kZip) {
      return RunTool({"unzip", "-q", archive_, "-d", out_});
    }
    return RunTool({"tar", "xzf", archive_, "-C", out_});
  }

  std::vector<std::string> EntryNames() {
    return Lines(GetParam() == ArchiveFormat::kZip ? "unzip -Z1 " + archive_
                                                   : "tar tzf " + archive_);
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::string ws_;
  std::string out_;
  std::string archive_;
  std::set<std::string> files_;
};

TEST_P(ArchiveStreamTest, UnpacksToTheSameFilesWithoutSymlinksInBoundedMemory) {
  Add("readme.txt", "read me\n");
  Add("nested/a/b/c.txt", std::string(100000, 'c'));
  Add("nested/empty.txt", "");
  Add("données/résumé.txt", "accents\n");
  Add("run.sh", "#!/bin/sh\necho hi\n");
  ASSERT_EQ(::chmod((ws_ + "/run.sh").c_str(), 0755), 0);
  WriteRandomFile(ws_ + "/big.bin", kBigFileBytes);
  files_.insert("big.bin");
  ASSERT_EQ(::symlink("/etc", (ws_ + "/etc-link").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (ws_ + "/nested/passwd-link").c_str()), 0);
  ASSERT_EQ(::mkfifo((ws_ + "/fifo").c_str(), 0644), 0);

  StreamStats stats = StreamToFile(ws_, GetParam(), archive_);
  EXPECT_LT(stats.largest_piece, 2U * 1024 * 1024);
  if (kRssTellsWhatIsHeld) {
    EXPECT_LT(stats.rss_growth, 8U * 1024 * 1024) << "the 20 MB file must never be held whole";
  } else {
    std::printf("memory bound not checked: AddressSanitizer's quarantine inflates RSS\n");
  }

  // The archive's own entries: exactly the files, relative, nothing that climbs out.
  std::set<std::string> entries;
  for (const std::string& name : EntryNames()) {
    EXPECT_FALSE(name.empty() || name.front() == '/') << name;
    EXPECT_EQ(("/" + name + "/").find("/../"), std::string::npos) << name;
    entries.insert(name);
  }
  EXPECT_EQ(entries, files_);

  ASSERT_EQ(Unpack(), 0);
  for (const auto& [path, kind] : Tree(out_)) {
    EXPECT_NE(kind, 'l') << path << " is a symlink";
    if (kind == 'f') {
      EXPECT_EQ(files_.count(path), 1U) << "unexpected " << path;
    }
  }
  for (const std::string& path : files_) {
    auto original = sys::ReadFile(ws_ + "/" + path);
    auto unpacked = sys::ReadFile(out_ + "/" + path);
    ASSERT_TRUE(original.ok() && unpacked.ok()) << path;
    EXPECT_TRUE(*original == *unpacked) << path << " differs";
  }
  struct stat st {};
  ASSERT_EQ(::stat((out_ + "/run.sh").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXUSR) << "the executable bit is kept";
  // Nothing landed beside the unpack directory.
  std::set<std::string> beside;
  for (const auto& entry : std::filesystem::directory_iterator(dir_->path())) {
    beside.insert(entry.path().filename().string());
  }
  EXPECT_EQ(beside, (std::set<std::string>{"workspace", "unpacked",
                                           std::filesystem::path(archive_).filename().string()}));
}

TEST_P(ArchiveStreamTest, FileThatShrinksWhileStreamedIsPaddedToItsHeaderSize) {
  constexpr size_t kSize = size_t{4} * 1024 * 1024;
  WriteRandomFile(ws_ + "/shrinks.bin", kSize);
  auto original = sys::ReadFile(ws_ + "/shrinks.bin");
  ASSERT_TRUE(original.ok());
  auto stream = ArchiveStream::Open(ws_, GetParam());
  ASSERT_TRUE(stream.ok());
  UniqueFd out(::open(archive_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  bool truncated = false;
  for (;;) {
    auto piece = (*stream)->Next();
    ASSERT_TRUE(piece.ok()) << piece.error().ToString();
    if (!piece->has_value()) {
      break;
    }
    const std::string& bytes = **piece;
    ssize_t written = ::write(out.get(), bytes.data(), bytes.size());
    ASSERT_EQ(written, static_cast<ssize_t>(bytes.size()));
    if (!truncated) {
      ASSERT_EQ(::truncate((ws_ + "/shrinks.bin").c_str(), 1000), 0);
      truncated = true;
    }
  }
  ASSERT_EQ(Unpack(), 0);
  auto unpacked = sys::ReadFile(out_ + "/shrinks.bin");
  ASSERT_TRUE(unpacked.ok());
  ASSERT_EQ(unpacked->size(), kSize);
  EXPECT_TRUE(unpacked->compare(0, 1000, *original, 0, 1000) == 0) << "the bytes read are kept";
  EXPECT_TRUE(unpacked->compare(kSize - 1000, 1000, std::string(1000, '\0')) == 0)
      << "the missing end is zeros";
}

TEST_P(ArchiveStreamTest, EmptyWorkspaceGivesAnEmptyArchive) {
  StreamToFile(ws_, GetParam(), archive_);
  auto archive = sys::ReadFile(archive_);
  ASSERT_TRUE(archive.ok());
  if (GetParam() == ArchiveFormat::kZip) {
    // Just the end-of-central-directory record (unzip calls an empty archive an error).
    EXPECT_EQ(archive->size(), 22U);
    EXPECT_EQ(archive->compare(0, 4, "PK\x05\x06"), 0);
  } else {
    ASSERT_EQ(Unpack(), 0);
    EXPECT_TRUE(Tree(out_).empty());
  }
}

TEST_P(ArchiveStreamTest, MissingWorkspaceIsNotFound) {
  auto stream = ArchiveStream::Open(dir_->path() + "/missing", GetParam());
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.error().code(), ErrorCode::kNotFound);
}

TEST_P(ArchiveStreamTest, TooManyFilesAreRefusedUpFront) {
  Add("1", "");
  Add("2", "");
  auto stream = ArchiveStream::Open(ws_, GetParam(), 1);
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.error().code(), ErrorCode::kResourceExhausted);
}

INSTANTIATE_TEST_SUITE_P(Formats, ArchiveStreamTest,
                         ::testing::Values(ArchiveFormat::kZip, ArchiveFormat::kTarGz),
                         [](const ::testing::TestParamInfo<ArchiveFormat>& param_info) {
                           return param_info.param == ArchiveFormat::kZip ? "Zip" : "TarGz";
                         });

// The general-purpose flags of the first local file header of a ZIP archive.
uint16_t FirstEntryFlags(const std::string& workspace) {
  auto stream = ArchiveStream::Open(workspace, ArchiveFormat::kZip);
  if (!stream.ok()) {
    return 0xffff;
  }
  std::string archive;
  for (;;) {
    auto piece = (*stream)->Next();
    if (!piece.ok() || !piece->has_value()) {
      break;
    }
    archive += **piece;
  }
  if (archive.size() < 8 || archive.compare(0, 4, "PK\x03\x04") != 0) {
    return 0xffff;
  }
  return static_cast<uint16_t>(static_cast<uint8_t>(archive[6]) |
                               (static_cast<uint8_t>(archive[7]) << 8));
}

TEST(ArchiveNamesTest, ZipFlagsUtf8NamesAndOnlyThose) {
  constexpr uint16_t kUtf8Flag = 1 << 11;
  for (const auto& [name, utf8] : std::vector<std::pair<std::string, bool>>{
           {"résumé.txt", true}, {"plain.txt", false}, {"bad\xff.txt", false}}) {
    auto dir = sys::TempDir::Create("warden-zipname-");
    ASSERT_TRUE(dir.ok());
    ASSERT_TRUE(sys::WriteNewFile(dir->path() + "/" + name, "x").ok());
    uint16_t flags = FirstEntryFlags(dir->path());
    ASSERT_NE(flags, 0xffff) << name;
    EXPECT_EQ((flags & kUtf8Flag) != 0, utf8) << name;
  }
}

TEST(ArchiveNamesTest, TarKeepsANameThatIsNotUtf8ByteForByte) {
  auto dir = sys::TempDir::Create("warden-tarname-");
  ASSERT_TRUE(dir.ok());
  std::string ws = dir->path() + "/ws";
  std::string out = dir->path() + "/out";
  ASSERT_EQ(::mkdir(ws.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(out.c_str(), 0755), 0);
  ASSERT_TRUE(sys::WriteNewFile(ws + "/bad\xff.txt", "binary name").ok());
  StreamToFile(ws, ArchiveFormat::kTarGz, dir->path() + "/a.tar.gz");
  // GNU tar warns about the pax "hdrcharset" keyword it does not know, and keeps the bytes.
  ASSERT_EQ(
      RunTool({"tar", "xzf", dir->path() + "/a.tar.gz", "-C", out, "--warning=no-unknown-keyword"}),
      0);
  auto content = sys::ReadFile(out + "/bad\xff.txt");
  ASSERT_TRUE(content.ok()) << content.error().ToString();
  EXPECT_EQ(*content, "binary name");
}

TEST(ArchiveFormatTest, ParsesTheNamesUsersType) {
  EXPECT_EQ(ParseArchiveFormat("zip"), ArchiveFormat::kZip);
  EXPECT_EQ(ParseArchiveFormat("tar.gz"), ArchiveFormat::kTarGz);
  EXPECT_EQ(ParseArchiveFormat("tgz"), ArchiveFormat::kTarGz);
  EXPECT_EQ(ParseArchiveFormat("rar"), std::nullopt);
  EXPECT_EQ(ParseArchiveFormat(""), std::nullopt);
}

}  // namespace
}  // namespace warden::artifacts
