// Runs in the sandbox's init process: only async-signal-safe system calls, no allocation.
#include "sandbox/child_mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace warden::sandbox {
namespace {

// The overlay's lower layer: an empty directory on the sandbox's root, there only while the
// overlay is mounted.
constexpr char kOverlayLower[] = "/.lower";

// Appends `text` to buf[*used..size); false when it does not fit.
bool Append(char* buf, size_t size, size_t* used, const char* text) {
  size_t n = std::strlen(text);
  if (*used + n + 1 > size) {
    return false;
  }
  std::memcpy(buf + *used, text, n + 1);
  *used += n;
  return true;
}

bool AppendNumber(char* buf, size_t size, size_t* used, int value) {
  char digits[16];
  size_t n = 0;
  auto rest = static_cast<unsigned>(value);
  do {
    digits[n++] = static_cast<char>('0' + rest % 10);
    rest /= 10;
  } while (rest != 0 && n < sizeof(digits));
  char text[16];
  for (size_t i = 0; i < n; ++i) {
    text[i] = digits[n - 1 - i];
  }
  text[n] = '\0';
  return Append(buf, size, used, text);
}

bool SameInode(int fd, const MountOp& op) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return false;
  }
  if (st.st_dev != op.expect_dev || st.st_ino != op.expect_ino) {
    errno = ESTALE;  // the directory changed between the parent's check and now
    return false;
  }
  return true;
}

// "lowerdir=/.lower,upperdir=/proc/self/fd/U,workdir=/proc/self/fd/W,userxattr,uuid=off" into a
// static buffer (uuid=off: no xattr of the overlay's own left on the workspace). Null when it
// does not fit (it always does).
const char* OverlayOptions(int upper, int work) {
  static char options[160];
  size_t used = 0;
  options[0] = '\0';
  bool ok = Append(options, sizeof(options), &used, "lowerdir=") &&
            Append(options, sizeof(options), &used, kOverlayLower) &&
            Append(options, sizeof(options), &used, ",upperdir=/proc/self/fd/") &&
            AppendNumber(options, sizeof(options), &used, upper) &&
            Append(options, sizeof(options), &used, ",workdir=/proc/self/fd/") &&
            AppendNumber(options, sizeof(options), &used, work) &&
            Append(options, sizeof(options), &used, ",userxattr,uuid=off");
  if (!ok) {
    errno = ENAMETOOLONG;
    return nullptr;
  }
  return options;
}

// The overlay of kOverlay. Its layers are named /proc/self/fd/N (init's own descriptors), never
// by path: the kernel shows the option strings as written, and the program reads mountinfo.
bool MountOverlay(const MountOp& op) {
  int upper = ::open(op.source, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  bool ok = upper >= 0 && (!op.verify || SameInode(upper, op));
  int work = ok ? ::open(op.data, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
  ok = ok && work >= 0 && (::mkdir(kOverlayLower, 0755) == 0 || errno == EEXIST);
  const char* options = ok ? OverlayOptions(upper, work) : nullptr;
  ok = options != nullptr && ::mount("workspace", op.target, "overlay", op.flags, options) == 0;
  int saved = errno;
  if (upper >= 0) {
    ::close(upper);
  }
  if (work >= 0) {
    ::close(work);
  }
  // The overlay keeps its lower layer itself: the directory need not stay on the root.
  ::rmdir(kOverlayLower);
  errno = saved;
  return ok;
}

}  // namespace

bool ExecuteMountOp(const MountOp& op) {
  switch (op.kind) {
    case MountOp::Kind::kMkdir:
      if (::mkdir(op.target, op.mode) != 0 && errno != EEXIST) {
        return false;
      }
      return op.owner == MountOp::kNoOwner || ::chown(op.target, op.owner, op.owner) == 0;
    case MountOp::Kind::kTouch: {
      int fd = ::open(op.target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, op.mode);
      if (fd < 0) {
        return false;
      }
      ::close(fd);
      return true;
    }
    case MountOp::Kind::kSymlink:
      return ::symlink(op.source, op.target) == 0;
    case MountOp::Kind::kWriteFile: {
      int fd = ::open(op.target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, op.mode);
      if (fd < 0) {
        return false;
      }
      size_t done = 0;
      while (done < op.size) {
        ssize_t n = ::write(fd, op.data + done, op.size - done);
        if (n < 0) {
          ::close(fd);
          return false;
        }
        done += static_cast<size_t>(n);
      }
      ::close(fd);
      return true;
    }
    case MountOp::Kind::kMount: {
      if (::mount(op.source, op.target, op.fstype, op.flags, op.data) != 0) {
        return false;
      }
      struct stat st {};
      if (op.verify && (::stat(op.target, &st) != 0 || st.st_dev != op.expect_dev ||
                        st.st_ino != op.expect_ino)) {
        errno = ESTALE;  // the host path changed between the parent's check and the bind
        return false;
      }
      return true;
    }
    case MountOp::Kind::kPivotRoot:
      // The host's root moves to /.oldroot, where bind sources stay reachable by path (a
      // descriptor opened before the clone would name a mount of the parent's namespace, which
      // mount(2) refuses to bind).
      if (::chdir(op.target) != 0 || (::mkdir(".oldroot", 0700) != 0 && errno != EEXIST) ||
          ::syscall(SYS_pivot_root, ".", ".oldroot") != 0) {
        return false;
      }
      return ::chdir("/") == 0;
    case MountOp::Kind::kLockDown: {
      struct mount_attr attr {};
      attr.attr_set = op.flags;
      return ::mount_setattr(AT_FDCWD, op.target, AT_RECURSIVE, &attr, sizeof(attr)) == 0;
    }
    case MountOp::Kind::kDetachOldRoot:
      return ::umount2("/.oldroot", MNT_DETACH) == 0 && ::rmdir("/.oldroot") == 0;
    case MountOp::Kind::kDetach:
      return ::umount2(op.target, MNT_DETACH) == 0 && ::rmdir(op.target) == 0;
    case MountOp::Kind::kAttach: {
      // A tree cloned with open_tree() may be attached in another mount namespace: unlike a
      // bind, nothing on the host's path to it needs to be searchable by init.
      bool ok = ::move_mount(op.fd, "", AT_FDCWD, op.target, MOVE_MOUNT_F_EMPTY_PATH) == 0;
      int saved = errno;
      ::close(op.fd);
      errno = saved;
      return ok;
    }
    case MountOp::Kind::kOverlay:
      return MountOverlay(op);
  }
  errno = EINVAL;
  return false;
}

}  // namespace warden::sandbox
