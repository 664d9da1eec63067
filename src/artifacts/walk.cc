// ListRegularFiles(): the walk over a workspace that Manifest() and ArchiveStream share.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "artifacts/names.h"
#include "artifacts/workspace_fs.h"
#include "base/log.h"

namespace warden::artifacts {

namespace {

// Deeper than this, a workspace is refused: the walk keeps one descriptor per level.
constexpr int kMaxDepth = 256;

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

struct Walk {
  dev_t device;
  size_t max_files;
  std::vector<ListedFile> files;
};

std::string Shown(const std::string& prefix) {
  return prefix.empty() ? "'.'" : Quoted(prefix.substr(0, prefix.size() - 1));
}

// Adds the regular files below the open directory `dir_fd`, whose path is `prefix` ("" or ending
// in '/'), and recurses into its subdirectories.
Status AddDirectory(UniqueFd dir_fd, const std::string& prefix, int depth, Walk* walk) {
  DirPtr dir(::fdopendir(dir_fd.get()));
  if (!dir) {
    return ErrnoError("fdopendir(" + Shown(prefix) + ")");
  }
  dir_fd.release();  // now owned by `dir`
  for (;;) {
    errno = 0;
    struct dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) {
        return ErrnoError("readdir(" + Shown(prefix) + ")");
      }
      return OkStatus();
    }
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    struct stat st {};
    if (::fstatat(::dirfd(dir.get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) {
        continue;  // removed since readdir()
      }
      return ErrnoError("fstatat(" + Quoted(prefix + std::string(name)) + ")");
    }
    std::string path = prefix + std::string(name);
    if (path.size() > kMaxPathBytes && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
      LOG_WARN("artifacts: skipping '{}...': path longer than {} bytes",
               ShownName(path.substr(0, 100)), kMaxPathBytes);
      continue;
    }
    if (S_ISREG(st.st_mode)) {
      if (walk->files.size() >= walk->max_files) {
        return Error(ErrorCode::kResourceExhausted,
                     "the workspace holds more than " + std::to_string(walk->max_files) + " files");
      }
      walk->files.push_back({std::move(path), static_cast<uint64_t>(st.st_size), MtimeMs(st)});
      continue;
    }
    if (!S_ISDIR(st.st_mode) || st.st_dev != walk->device) {
      continue;  // symlinks, FIFOs, sockets, devices, other file systems
    }
    if (depth >= kMaxDepth) {
      return Error(ErrorCode::kResourceExhausted, "the workspace is nested deeper than " +
                                                      std::to_string(kMaxDepth) + " directories");
    }
    UniqueFd child(::openat(::dirfd(dir.get()), entry->d_name,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!child) {
      // Replaced by something else (ENOTDIR, ELOOP) or removed since fstatat(): nothing to list.
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
        continue;
      }
      if (errno == EACCES) {
        LOG_WARN("artifacts: skipping unreadable directory {}", Quoted(path));
        continue;
      }
      return ErrnoError("open(" + Quoted(path) + ")");
    }
    RETURN_IF_ERROR(AddDirectory(std::move(child), path + "/", depth + 1, walk));
  }
}

}  // namespace

Result<std::vector<ListedFile>> ListRegularFiles(int root_fd, size_t max_files) {
  UniqueFd dir(::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    return ErrnoError("open(workspace)");
  }
  struct stat root {};
  if (::fstat(dir.get(), &root) != 0) {
    return ErrnoError("fstat(workspace)");
  }
  Walk walk{root.st_dev, max_files, {}};
  RETURN_IF_ERROR(AddDirectory(std::move(dir), "", 0, &walk));
  // std::string compares as unsigned char: byte order, the same on every machine.
  std::sort(walk.files.begin(), walk.files.end(),
            [](const ListedFile& a, const ListedFile& b) { return a.path < b.path; });
  return std::move(walk.files);
}

}  // namespace warden::artifacts
