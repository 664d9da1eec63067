// mount(2) and the new mount API. Each attempt runs in its own child; anything that succeeds is
// undone at once (unmounted, or remounted read-only again) and reported.
#include <sys/mount.h>
#include <sys/syscall.h>

#include "guard.h"

static int MountTmpfs(void) {
  int r = mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m");
  if (r == 0)
    umount2("/tmp", MNT_DETACH);
  Expect("mount(tmpfs, /tmp)", r);
  return ExitStatus();
}

static int MountProc(void) {
  mkdir("/tmp/proc", 0700);
  int r = mount("proc", "/tmp/proc", "proc", 0, NULL);
  if (r == 0)
    umount2("/tmp/proc", MNT_DETACH);
  Expect("mount(proc, /tmp/proc)", r);
  return ExitStatus();
}

static int BindRoot(void) {
  mkdir("/tmp/root", 0700);
  int r = mount("/", "/tmp/root", NULL, MS_BIND | MS_REC, NULL);
  if (r == 0)
    umount2("/tmp/root", MNT_DETACH);
  Expect("mount(/, /tmp/root, MS_BIND)", r);
  return ExitStatus();
}

static int RemountUsrWritable(void) {
  int r = mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL);
  if (r == 0)
    mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
  Expect("mount(/usr, MS_REMOUNT read-write)", r);
  return ExitStatus();
}

static int UnmountProc(void) {
  Expect("umount2(/proc)", umount2("/proc", MNT_DETACH));
  return ExitStatus();
}

static int FsOpen(void) {
  int fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (fd >= 0)
    close(fd);
  Expect("fsopen(tmpfs)", fd);
  return ExitStatus();
}

static int OpenTreeClone(void) {
  int fd = open_tree(AT_FDCWD, "/usr", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd >= 0)
    close(fd);
  Expect("open_tree(/usr, OPEN_TREE_CLONE)", fd);
  return ExitStatus();
}

static int MountSetattr(void) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.attr_clr = MOUNT_ATTR_RDONLY;
  int r = mount_setattr(AT_FDCWD, "/usr", 0, &attr, sizeof(attr));
  if (r == 0) {
    memset(&attr, 0, sizeof(attr));
    attr.attr_set = MOUNT_ATTR_RDONLY;
    mount_setattr(AT_FDCWD, "/usr", 0, &attr, sizeof(attr));
  }
  Expect("mount_setattr(/usr, clear RDONLY)", r);
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  InChild("mount(tmpfs, /tmp)", MountTmpfs);
  InChild("mount(proc, /tmp/proc)", MountProc);
  InChild("mount(/, /tmp/root, MS_BIND)", BindRoot);
  InChild("mount(/usr, MS_REMOUNT read-write)", RemountUsrWritable);
  InChild("fsopen(tmpfs)", FsOpen);
  InChild("open_tree(/usr, OPEN_TREE_CLONE)", OpenTreeClone);
  InChild("mount_setattr(/usr, clear RDONLY)", MountSetattr);
  InChild("umount2(/proc)", UnmountProc);
  return ExitStatus();
}
