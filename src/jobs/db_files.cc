#include "jobs/db_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/log.h"
#include "base/unique_fd.h"

namespace warden::jobs {
namespace {

constexpr mode_t kPrivate = 0600;

// Drops group and other permissions of `path` when it exists.
Status Tighten(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    return errno == ENOENT ? OkStatus() : ErrnoError("open(" + path + ")");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return ErrnoError("fstat(" + path + ")");
  }
  if ((st.st_mode & 077) == 0) {
    return OkStatus();
  }
  if (::fchmod(fd.get(), st.st_mode & 0700) != 0) {
    return ErrnoError("fchmod(" + path + ")");
  }
  LOG_INFO("{} was mode {:o}: made it {:o} (it holds every job)", path, st.st_mode & 07777,
           st.st_mode & 0700);
  return OkStatus();
}

}  // namespace

Status MakeDatabaseFilesPrivate(const std::string& path) {
  UniqueFd created(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kPrivate));
  if (!created && errno != EEXIST) {
    return ErrnoError("create(" + path + ")");
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    RETURN_IF_ERROR(Tighten(path + suffix));
  }
  return OkStatus();
}

}  // namespace warden::jobs
