#include "sys/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

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

Result<UniqueFd> OpenPath(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) {
    return ErrnoError("open(" + path + ")");
  }
  return fd;
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

Result<uint64_t> DiskUsage(int dir_fd) {
  // Iterative walk by descriptor: no path is ever resolved twice, so a rename race inside the
  // sandbox cannot redirect the walk outside the directory.
  uint64_t total = 0;
  std::vector<int> stack;
  int first = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (first < 0) {
    return ErrnoError("open(workspace)");
  }
  struct stat root_st {};
  if (::fstat(first, &root_st) != 0) {
    ::close(first);
    return ErrnoError("fstat(workspace)");
  }
  stack.push_back(first);
  while (!stack.empty()) {
    int fd = stack.back();
    stack.pop_back();
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      ::close(fd);
      continue;
    }
    while (struct dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") {
        continue;
      }
      struct stat st {};
      if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        continue;  // removed meanwhile
      }
      total += static_cast<uint64_t>(st.st_blocks) * 512;
      if (S_ISDIR(st.st_mode) && st.st_dev == root_st.st_dev && stack.size() < 4096) {
        int child =
            ::openat(::dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child >= 0) {
          stack.push_back(child);
        }
      }
    }
    ::closedir(dir);
  }
  return total;
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
