// Fuzz target: artifact paths from untrusted URLs (artifacts/workspace_fs.h), resolved below a
// workspace that holds traps: symbolic links out of it and within it, a directory link, a FIFO,
// an empty directory, a name that is not UTF-8, and a secret file next to it. Properties: no
// crash, no sanitizer report; a path opens (with openat2 and with the component-wise fallback
// alike) exactly when it is one of the workspace's regular files as ListRegularFiles lists them,
// and then it is that file; a path that CheckRelativePath refuses never opens.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "artifacts/workspace_fs.h"
#include "fuzz/fuzz_check.h"

namespace warden::artifacts {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  std::string root;    // holds the workspace and the secret beside it
  UniqueFd workspace;  // O_PATH
  std::set<std::string> listed;
  std::set<std::pair<dev_t, ino_t>> inodes;  // of the listed files
};

void WriteFile(const fs::path& path, std::string_view content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  FUZZ_CHECK(fd) << path;
  FUZZ_CHECK(::write(fd.get(), content.data(), content.size()) ==
             static_cast<ssize_t>(content.size()));
}

// The fixture's directory, removed when the fuzzer exits (a crash leaves it for inspection).
std::string* fixture_root = nullptr;

void RemoveFixture() {
  std::error_code ignored;
  fs::remove_all(*fixture_root, ignored);
}

Fixture* MakeFixture() {
  char temp[] = "/tmp/warden-fuzz-XXXXXX";
  FUZZ_CHECK(::mkdtemp(temp) != nullptr);
  auto* fixture = new Fixture{temp, {}, {}, {}};
  fixture_root = &fixture->root;
  std::atexit(RemoveFixture);
  fs::path root(temp);
  fs::path ws = root / "ws";
  fs::create_directories(ws / "dir" / "sub");
  fs::create_directories(ws / "empty");
  WriteFile(root / "secret", "secret");
  WriteFile(ws / "a.txt", "a");
  WriteFile(ws / "dir" / "b.txt", "b");
  WriteFile(ws / "dir" / "sub" / "c", "c");
  WriteFile(ws / "caf\xe9", "latin-1");
  fs::create_symlink("../secret", ws / "out");
  fs::create_symlink("/tmp", ws / "abs");
  fs::create_symlink("a.txt", ws / "in");
  fs::create_directory_symlink("..", ws / "up");
  fs::create_directory_symlink("dir", ws / "dirlink");
  FUZZ_CHECK(::mkfifo((ws / "fifo").c_str(), 0600) == 0);

  Result<UniqueFd> opened = OpenWorkspace(ws.string());
  FUZZ_CHECK(opened.ok()) << opened.error().message();
  fixture->workspace = std::move(*opened);
  Result<std::vector<ListedFile>> files = ListRegularFiles(fixture->workspace.get(), 100);
  FUZZ_CHECK(files.ok()) << files.error().message();
  for (const ListedFile& file : *files) {
    struct stat st {};
    FUZZ_CHECK(::fstatat(fixture->workspace.get(), file.path.c_str(), &st, AT_SYMLINK_NOFOLLOW) ==
               0);
    fixture->listed.insert(file.path);
    fixture->inodes.insert({st.st_dev, st.st_ino});
  }
  FUZZ_CHECK(fixture->listed.size() == 4) << fixture->listed.size() << " files listed";
  return fixture;
}

void CheckOpen(const Fixture& fixture, std::string_view path, Resolution resolution) {
  Result<OpenFile> file = OpenBeneath(fixture.workspace.get(), path, resolution);
  bool listed = fixture.listed.count(std::string(path)) != 0;
  FUZZ_CHECK(file.ok() == listed) << "'" << path << "' "
                                  << (file.ok() ? "opened" : file.error().message());
  if (!file.ok()) {
    return;
  }
  struct stat st {};
  FUZZ_CHECK(::fstat(file->fd.get(), &st) == 0);
  FUZZ_CHECK(fixture.inodes.count({st.st_dev, st.st_ino}) != 0) << "'" << path << "'";
}

}  // namespace
}  // namespace warden::artifacts

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace warden::artifacts;  // NOLINT(google-build-using-namespace): a fuzz entry point
  static Fixture* fixture = MakeFixture();
  std::string_view path(reinterpret_cast<const char*>(data), size);
  if (!CheckRelativePath(path).ok()) {
    FUZZ_CHECK(fixture->listed.count(std::string(path)) == 0);
  }
  CheckOpen(*fixture, path, Resolution::kAuto);
  CheckOpen(*fixture, path, Resolution::kComponentwise);
  return 0;
}
