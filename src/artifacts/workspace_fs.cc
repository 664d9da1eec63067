#include "artifacts/workspace_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "artifacts/names.h"

namespace warden::artifacts {

namespace {

// O_NONBLOCK: a FIFO swapped in for a regular file after the listing must not block the open (it
// is then refused by type). O_NOCTTY: a terminal must never become ours. Neither changes how a
// regular file reads.
constexpr int kFileFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
// openat2() answers EAGAIN when a rename or mount raced with the lookup; it is safe to retry.
constexpr int kMaxOpenat2Attempts = 8;

// A descriptor, or the errno of the call that failed to produce it.
struct Opened {
  UniqueFd fd;
  int err = 0;
};

Opened Failed(int err) {
  return Opened{UniqueFd(), err};
}

Opened OpenWithOpenat2(int root_fd, const std::string& relative) {
  struct open_how how {};
  how.flags = kFileFlags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    auto fd = ::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how));
    if (fd >= 0) {
      return Opened{UniqueFd(static_cast<int>(fd)), 0};
    }
    if ((errno != EAGAIN && errno != EINTR) || attempt + 1 == kMaxOpenat2Attempts) {
      return Failed(errno);
    }
  }
}

// The fallback for kernels before 5.6: every directory on the way is opened with O_NOFOLLOW from
// its parent, and CheckRelativePath() has excluded "..", so the walk can only go down.
Opened OpenComponentwise(int root_fd, const std::string& relative) {
  UniqueFd dir(::openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    return Failed(errno);
  }
  size_t start = 0;
  for (;;) {
    size_t slash = relative.find('/', start);
    std::string name = relative.substr(start, slash - start);
    if (slash == std::string::npos) {
      UniqueFd file(::openat(dir.get(), name.c_str(), kFileFlags));
      return file ? Opened{std::move(file), 0} : Failed(errno);
    }
    UniqueFd next(::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      int err = errno;
      // O_NOFOLLOW | O_DIRECTORY reports a symlink as ENOTDIR; say ELOOP, as openat2() does.
      struct stat st {};
      if (err == ENOTDIR && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        err = ELOOP;
      }
      return Failed(err);
    }
    dir = std::move(next);
    start = slash + 1;
  }
}

Error OpenError(const std::string& relative, int err) {
  std::string quoted = Quoted(relative);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Error(ErrorCode::kNotFound, "no file " + quoted + " in the workspace", err);
    case ELOOP:
      return Error(ErrorCode::kInvalidArgument, quoted + " goes through a symbolic link", err);
    case EXDEV:
      return Error(ErrorCode::kInvalidArgument, quoted + " leads outside the workspace", err);
    case ENXIO:  // a socket, or a FIFO without a writer
      return Error(ErrorCode::kInvalidArgument, quoted + " is not a regular file", err);
    default:
      return Error::FromErrno("open(" + quoted + ")", err);
  }
}

}  // namespace

std::string Quoted(std::string_view path) {
  return "'" + ShownName(path) + "'";
}

int64_t MtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

Result<UniqueFd> OpenWorkspace(const std::string& workspace) {
  UniqueFd fd(::open(workspace.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOTDIR) {
      return Error(ErrorCode::kInvalidArgument, "workspace " + workspace + " is not a directory",
                   errno);
    }
    return ErrnoError("open(workspace " + workspace + ")");
  }
  return fd;
}

Status CheckRelativePath(std::string_view relative) {
  auto invalid = [](std::string_view reason) {
    return Error(ErrorCode::kInvalidArgument, "invalid artifact path: " + std::string(reason));
  };
  if (relative.empty()) {
    return invalid("empty");
  }
  if (relative.size() > kMaxPathBytes) {
    return invalid("longer than 4095 bytes");
  }
  if (relative.find('\0') != std::string_view::npos) {
    return invalid("contains a NUL byte");
  }
  if (relative.front() == '/') {
    return invalid("absolute");
  }
  size_t start = 0;
  for (;;) {
    size_t slash = relative.find('/', start);
    std::string_view segment = relative.substr(start, slash - start);
    if (segment.empty()) {
      return invalid("empty segment");
    }
    if (segment == "." || segment == "..") {
      return invalid("'.' or '..' segment");
    }
    if (slash == std::string_view::npos) {
      return OkStatus();
    }
    start = slash + 1;
  }
}

Result<OpenFile> OpenBeneath(int root_fd, std::string_view relative, Resolution resolution) {
  RETURN_IF_ERROR(CheckRelativePath(relative));
  std::string path(relative);
  Opened opened;
  if (resolution == Resolution::kAuto) {
    opened = OpenWithOpenat2(root_fd, path);
  }
  if (resolution == Resolution::kComponentwise || opened.err == ENOSYS) {
    opened = OpenComponentwise(root_fd, path);
  }
  if (!opened.fd) {
    return OpenError(path, opened.err);
  }
  struct stat st {};
  if (::fstat(opened.fd.get(), &st) != 0) {
    return ErrnoError("fstat(" + Quoted(path) + ")");
  }
  if (S_ISDIR(st.st_mode)) {
    return Error(ErrorCode::kInvalidArgument, Quoted(path) + " is a directory");
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kInvalidArgument, Quoted(path) + " is not a regular file");
  }
  return OpenFile{std::move(opened.fd), static_cast<uint64_t>(st.st_size), MtimeMs(st)};
}

Result<size_t> ReadSome(int fd, char* buffer, size_t size, std::string_view path) {
  for (;;) {
    ssize_t n = ::read(fd, buffer, size);
    if (n >= 0) {
      return static_cast<size_t>(n);
    }
    if (errno != EINTR) {
      return ErrnoError("read(" + Quoted(path) + ")");
    }
  }
}

Result<OpenFile> OpenInWorkspace(const std::string& workspace, std::string_view relative) {
  RETURN_IF_ERROR(CheckRelativePath(relative));
  ASSIGN_OR_RETURN(UniqueFd root, OpenWorkspace(workspace));
  return OpenBeneath(root.get(), relative);
}

}  // namespace warden::artifacts
