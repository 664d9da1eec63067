#include "sandbox/idmap.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "sys/fs.h"

namespace warden::sandbox {
namespace {

// A child in a new user namespace, which waits until its pipe closes and then exits: long enough
// for the parent to write the maps and open the namespace. Reaped on destruction.
class NamespaceHolder {
 public:
  ~NamespaceHolder() {
    release_.reset();  // the child's read returns 0: it exits
    if (pid_ > 0) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  Status Start() {
    int ready[2];
    int release[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
      return ErrnoError("pipe2");
    }
    UniqueFd ready_read(ready[0]);
    UniqueFd ready_write(ready[1]);
    if (::pipe2(release, O_CLOEXEC) != 0) {
      return ErrnoError("pipe2");
    }
    UniqueFd release_read(release[0]);
    release_.reset(release[1]);
    // clone(2) straight into the new namespace, as fork() but without running atfork handlers:
    // the child only calls async-signal-safe functions.
    pid_ = static_cast<pid_t>(
        ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid_ < 0) {
      return ErrnoError("clone(CLONE_NEWUSER)");
    }
    if (pid_ == 0) {
      release_.reset();
      char byte = 1;
      (void)::write(ready_write.get(), &byte, 1);
      (void)::read(release_read.get(), &byte, 1);
      ::_exit(0);
    }
    ready_write.reset();
    char byte = 0;
    if (::read(ready_read.get(), &byte, 1) != 1) {
      return Error(ErrorCode::kInternal, "the idmapping's namespace holder did not start");
    }
    return OkStatus();
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  UniqueFd release_;
};

}  // namespace

Result<UniqueFd> MakeIdmapNamespace(uid_t disk_uid, gid_t disk_gid, uid_t seen_uid,
                                    gid_t seen_gid) {
  NamespaceHolder holder;
  RETURN_IF_ERROR(holder.Start());
  std::string proc = fmt::format("/proc/{}/", holder.pid());
  RETURN_IF_ERROR(
      sys::WriteExistingFile(proc + "uid_map", fmt::format("{} {} 1\n", disk_uid, seen_uid)));
  RETURN_IF_ERROR(
      sys::WriteExistingFile(proc + "gid_map", fmt::format("{} {} 1\n", disk_gid, seen_gid)));
  UniqueFd userns(::open((proc + "ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  if (!userns) {
    return ErrnoError(proc + "ns/user");
  }
  return userns;
}

Status IdmapTree(int tree, int userns) {
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns);
  if (::mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) {
    int err = errno;
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("its file system cannot be idmapped ({})", ErrnoDescription(err)));
  }
  return OkStatus();
}

}  // namespace warden::sandbox
