#include "sys/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace warden::sys {

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return ErrnoError("open(" + path + ")");
  }
  std::string data;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("read(" + path + ")");
    }
    if (n == 0) {
      break;
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

namespace {

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("write(" + path + ")");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

}  // namespace

Status WriteExistingFile(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) {
    return ErrnoError("open(" + path + ")");
  }
  return WriteAll(fd.get(), data, path);
}

Status WriteNewFile(const std::string& path, std::string_view data, int mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) {
    return ErrnoError("open(" + path + ")");
  }
  return WriteAll(fd.get(), data, path);
}

Status RemoveTree(const std::string& path) {
  // FTW_PHYS: never follow symlinks (a sandbox may have planted one to /etc); FTW_MOUNT: stay on
  // one file system; FTW_DEPTH: children before their directory.
  int rc = ::nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int type, struct FTW*) {
        int r = type == FTW_DP ? ::rmdir(p) : ::unlink(p);
        return r == 0 || errno == ENOENT ? 0 : -1;
      },
      32, FTW_PHYS | FTW_DEPTH | FTW_MOUNT);
  if (rc != 0) {
    return ErrnoError("remove(" + path + ")");
  }
  return OkStatus();
}

namespace {

// Every inode costs at least one block, so that a flood of empty files counts too.
constexpr uint64_t kMinimumInodeBytes = 4096;
// Deeper than this, a tree is treated as over any limit: the walk keeps one descriptor per level.
constexpr int kMaxDepth = 256;

// Adds up `dir` (an open directory, consumed) depth-first. Returns false when the tree is too
// deep to measure.
bool AddUsage(int dir_fd, dev_t device, int depth, uint64_t* total) {
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    ::close(dir_fd);
    return true;
  }
  bool ok = true;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    struct stat st {};
    if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;  // removed meanwhile
    }
    // The apparent size counts as much as the blocks: a sparse file costs nothing to write but
    // everything to read back (hashing it, archiving it).
    *total += std::max({static_cast<uint64_t>(st.st_blocks) * 512,
                        static_cast<uint64_t>(std::max<off_t>(st.st_size, 0)), kMinimumInodeBytes});
    if (!S_ISDIR(st.st_mode) || st.st_dev != device) {
      continue;
    }
    if (depth >= kMaxDepth) {
      ok = false;
      break;
    }
    int child =
        ::openat(::dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child >= 0 && !AddUsage(child, device, depth + 1, total)) {
      ok = false;
      break;
    }
  }
  ::closedir(dir);
  return ok;
}

}  // namespace

Result<uint64_t> DiskUsage(int dir_fd) {
  // By descriptor, one per level of depth (never one per pending directory, which a wide tree
  // could exhaust): a rename race inside the tree cannot lead the walk outside it.
  int first = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (first < 0) {
    return ErrnoError("open(workspace)");
  }
  struct stat root {};
  if (::fstat(first, &root) != 0) {
    ::close(first);
    return ErrnoError("fstat(workspace)");
  }
  uint64_t total = 0;
  if (!AddUsage(first, root.st_dev, 0, &total)) {
    return Error(ErrorCode::kResourceExhausted,
                 fmt::format("the workspace is more than {} directories deep", kMaxDepth));
  }
  return total;
}

Result<uint64_t> DiskUsage(const std::string& path) {
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    return ErrnoError("open(" + path + ")");
  }
  return DiskUsage(dir.get());
}

Result<TempDir> TempDir::Create(std::string_view prefix) {
  const char* base = ::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): read-only use
  std::string path = (base != nullptr && base[0] == '/') ? base : "/tmp";
  path += "/";
  path += prefix;
  path += "XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) {
    return ErrnoError("mkdtemp(" + path + ")");
  }
  return TempDir(std::move(path));
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    (void)RemoveTree(path_);
  }
}

}  // namespace warden::sys
