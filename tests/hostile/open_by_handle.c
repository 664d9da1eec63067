// open_by_handle_at(2), the "shocker" escape: a forged handle for inode 2 (the root directory of
// an ext4 file system) opened relative to /workspace, which is a bind mount of a host file system.
// Success would open the host's root directory from inside the sandbox.
#include "guard.h"

static int Shocker(void) {
  int mount_fd = open("/workspace", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mount_fd < 0)
    return kExitUnexpected;
  struct {
    struct file_handle handle;
    unsigned char bytes[8];
  } h;
  memset(&h, 0, sizeof(h));
  h.handle.handle_bytes = 8;
  h.handle.handle_type = 1;  // FILEID_INO32_GEN: inode 2, generation 0
  unsigned int ino = 2;
  memcpy(h.handle.f_handle, &ino, sizeof(ino));
  int fd = open_by_handle_at(mount_fd, &h.handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    close(fd);
  ExpectRefused("open_by_handle_at(inode 2)", fd);
  close(mount_fd);
  return ExitStatus();
}

static int OwnHandle(void) {
  struct {
    struct file_handle handle;
    unsigned char bytes[128];
  } h;
  memset(&h, 0, sizeof(h));
  h.handle.handle_bytes = 128;
  int mount_id = 0;
  if (name_to_handle_at(AT_FDCWD, "/workspace", &h.handle, &mount_id, 0) < 0) {
    Blocked("name_to_handle_at(/workspace)", errno);
    return ExitStatus();
  }
  int mount_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = open_by_handle_at(mount_fd, &h.handle, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    close(fd);
  Expect("open_by_handle_at(own handle, mount fd /)", fd);
  close(mount_fd);
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  InChild("open_by_handle_at(inode 2)", Shocker);
  InChild("open_by_handle_at(own handle, mount fd /)", OwnHandle);
  return ExitStatus();
}
