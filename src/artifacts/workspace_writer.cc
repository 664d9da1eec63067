#include "artifacts/workspace_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include <fmt/format.h>

#include "artifacts/workspace_fs.h"
#include "base/sha256.h"
#include "base/unique_fd.h"

namespace warden::artifacts {
namespace {

constexpr int kDirFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Error Refused(std::string_view relative, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument, fmt::format("{} {}", Quoted(relative), why));
}

// Why `name` below `dir_fd` cannot be walked into or written, as a refusal; errno otherwise.
Error WhyNot(int dir_fd, const std::string& name, std::string_view relative, int err) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return Refused(relative, fmt::format("goes through a symbolic link ({}): it is not followed",
                                           Quoted(name)));
    }
    if (!S_ISDIR(st.st_mode)) {
      return Refused(relative,
                     fmt::format("needs {} to be a directory, and it is a file", Quoted(name)));
    }
  }
  return Error::FromErrno(fmt::format("open({})", Quoted(relative)), err);
}

// The directory `name` below `dir_fd`, created if missing.
Result<UniqueFd> EnterDirectory(int dir_fd, const std::string& name, std::string_view relative,
                                const WriteOptions& options) {
  UniqueFd next(::openat(dir_fd, name.c_str(), kDirFlags));
  if (!next && errno == ENOENT) {
    if (::mkdirat(dir_fd, name.c_str(), options.dir_mode) != 0 && errno != EEXIST) {
      return Error::FromErrno(fmt::format("mkdir({}) for {}", Quoted(name), Quoted(relative)),
                              errno);
    }
    // fchownat() does not follow: a symlink swapped in meanwhile keeps its owner, and the open
    // below refuses it.
    if (options.owner && ::fchownat(dir_fd, name.c_str(), *options.owner, *options.owner,
                                    AT_SYMLINK_NOFOLLOW) != 0) {
      return Error::FromErrno(fmt::format("chown({})", Quoted(name)), errno);
    }
    next = UniqueFd(::openat(dir_fd, name.c_str(), kDirFlags));
  }
  if (!next) {
    return WhyNot(dir_fd, name, relative, errno);
  }
  return next;
}

Status WriteAll(int fd, std::string_view content, std::string_view relative) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return Error::FromErrno(fmt::format("write({})", Quoted(relative)), errno);
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

// A new temporary file in `dir_fd`, its name in `*name`.
Result<UniqueFd> CreateTemporary(int dir_fd, const std::string& base, std::string_view relative,
                                 const WriteOptions& options, std::string* name) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    *name = fmt::format(".{}.warden-{}-{}", base.substr(0, 200), ::getpid(), counter++);
    UniqueFd fd(::openat(dir_fd, name->c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, options.file_mode));
    if (fd) {
      return fd;
    }
    if (errno != EEXIST) {
      return Error::FromErrno(fmt::format("creating {}", Quoted(relative)), errno);
    }
  }
  return Error(ErrorCode::kInternal,
               fmt::format("no free temporary name for {}", Quoted(relative)));
}

// Writes the file `name` in `dir_fd` through a temporary file renamed over it.
Status ReplaceFile(int dir_fd, const std::string& name, std::string_view relative,
                   std::string_view content, const WriteOptions& options) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return Refused(relative, "is a symbolic link: it is not followed, nor replaced");
    }
    if (S_ISDIR(st.st_mode)) {
      return Refused(relative, "is a directory");
    }
    if (!S_ISREG(st.st_mode)) {
      return Refused(relative, "is not a regular file");
    }
  }
  std::string temporary;
  ASSIGN_OR_RETURN(UniqueFd fd, CreateTemporary(dir_fd, name, relative, options, &temporary));
  Status written = WriteAll(fd.get(), content, relative);
  if (written.ok() && options.owner && ::fchown(fd.get(), *options.owner, *options.owner) != 0) {
    written = Error::FromErrno(fmt::format("chown({})", Quoted(relative)), errno);
  }
  // The mode as asked, whatever the umask.
  if (written.ok() && ::fchmod(fd.get(), options.file_mode) != 0) {
    written = Error::FromErrno(fmt::format("chmod({})", Quoted(relative)), errno);
  }
  if (written.ok() && ::fsync(fd.get()) != 0) {
    written = Error::FromErrno(fmt::format("fsync({})", Quoted(relative)), errno);
  }
  // rename() replaces the name itself: a symlink put there since the check above is replaced,
  // not followed.
  if (written.ok() && ::renameat(dir_fd, temporary.c_str(), dir_fd, name.c_str()) != 0) {
    written = errno == EISDIR
                  ? Refused(relative, "is a directory")
                  : Error::FromErrno(fmt::format("rename({})", Quoted(relative)), errno);
  }
  if (!written.ok()) {
    ::unlinkat(dir_fd, temporary.c_str(), 0);
  }
  return written;
}

}  // namespace

Result<WrittenFile> WriteInWorkspace(const std::string& workspace, std::string_view relative,
                                     std::string_view content, const WriteOptions& options) {
  RETURN_IF_ERROR(CheckRelativePath(relative));
  ASSIGN_OR_RETURN(UniqueFd root, OpenWorkspace(workspace));
  UniqueFd dir(::openat(root.get(), ".", kDirFlags));
  if (!dir) {
    return ErrnoError("open(workspace " + workspace + ")");
  }
  std::string path(relative);
  size_t start = 0;
  for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', start)) {
    ASSIGN_OR_RETURN(dir,
                     EnterDirectory(dir.get(), path.substr(start, slash - start), path, options));
    start = slash + 1;
  }
  RETURN_IF_ERROR(ReplaceFile(dir.get(), path.substr(start), path, content, options));
  Sha256 hash;
  hash.Update(content);
  return WrittenFile{path, content.size(), hash.FinishHex()};
}

}  // namespace warden::artifacts
