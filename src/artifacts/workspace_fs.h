// Internal to artifacts/: the system calls that open a workspace and the files below it without
// ever leaving it, and the listing of its regular files.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "artifacts/artifacts.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace warden::artifacts {

// The longest artifact path: what the kernel resolves in one call (PATH_MAX, less the NUL).
inline constexpr size_t kMaxPathBytes = 4095;

// Opens the directory `workspace` with O_PATH: the anchor every other call resolves below.
// kNotFound when it does not exist, kInvalidArgument when it is not a directory.
Result<UniqueFd> OpenWorkspace(const std::string& workspace);

// OK when `relative` is a plain relative path (see OpenInWorkspace); kInvalidArgument naming the
// problem otherwise.
Status CheckRelativePath(std::string_view relative);

// How OpenBeneath() resolves a path. kAuto uses openat2() and falls back to kComponentwise when the
// kernel (or a seccomp filter) answers ENOSYS; kComponentwise exists on its own for tests.
enum class Resolution { kAuto, kComponentwise };

// Opens the regular file `relative` below the directory `root_fd` for reading, under the contract
// of OpenInWorkspace().
Result<OpenFile> OpenBeneath(int root_fd, std::string_view relative,
                             Resolution resolution = Resolution::kAuto);

// read() of up to `size` bytes, retried on EINTR; 0 at the end of the file. `path` names the file
// in errors.
Result<size_t> ReadSome(int fd, char* buffer, size_t size, std::string_view path);

// A regular file found by ListRegularFiles(), as fstatat() saw it then.
struct ListedFile {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ms = 0;
};

// The regular files below the directory `root_fd` (paths relative, '/'-separated, sorted in
// byte order), under the rules at the top of artifacts.h. Each directory is opened relative to its
// parent with O_NOFOLLOW, one descriptor per level of depth. Files whose path is longer than
// kMaxPathBytes are skipped with a warning: they could not be opened by path. kResourceExhausted
// for more than `max_files` files or more than 256 levels.
Result<std::vector<ListedFile>> ListRegularFiles(int root_fd, size_t max_files);

// `path` in quotes, in its shown form (names.h), for messages.
std::string Quoted(std::string_view path);

// The modification time of `st` in milliseconds since the Unix epoch.
int64_t MtimeMs(const struct stat& st);

}  // namespace warden::artifacts
