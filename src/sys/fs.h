// Small file-system helpers over plain syscalls, with errors that name the call and the path.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace warden::sys {

// Reads a whole (small) file, such as a /proc or cgroup file.
Result<std::string> ReadFile(const std::string& path);
// Writes `data` to an existing file (no create, no truncate): the way sysfs/procfs files are set.
Status WriteExistingFile(const std::string& path, std::string_view data);
// Creates or truncates `path` with `mode` and writes `data`.
Status WriteNewFile(const std::string& path, std::string_view data, int mode = 0644);

// Removes `path` and everything below it without following symlinks or crossing mount points.
Status RemoveTree(const std::string& path);

// Bytes used by everything below the directory `dir_fd`: for each inode the larger of what it
// holds on disk (st_blocks) and its apparent size (st_size), and at least 4 KiB; so a sparse file
// counts for its full length. Not following symlinks, not crossing mounts; hard links count twice.
// Fails with kResourceExhausted for a tree more than 256 directories deep.
Result<uint64_t> DiskUsage(int dir_fd);
// The same for the directory at `path` (kNotFound when there is none).
Result<uint64_t> DiskUsage(const std::string& path);

// A directory created with mkdtemp() under $TMPDIR (or /tmp) and removed, with its contents, on
// destruction. Move-only.
class TempDir {
 public:
  static Result<TempDir> Create(std::string_view prefix);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept {
    std::swap(path_, other.path_);
    return *this;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace warden::sys
