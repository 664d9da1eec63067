#include "sandbox/mount_plan.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <cstdlib>

#include <climits>
#include <fmt/format.h>

namespace warden::sandbox {
namespace {

// The init process mounts the new root's tmpfs here and pivots into it at once; from then on
// the host's tree is at kOldRoot, where bind sources are found by path.
constexpr std::string_view kRoot = "/tmp";
constexpr std::string_view kOldRoot = "/.oldroot";
constexpr uint32_t kSandboxId = 1000;  // the program's uid and gid inside
// Where init puts the root of a workspace overlay while it mounts it; gone before the program.
constexpr std::string_view kStage = "/.stage";

std::string Host(std::string_view path) {
  return fmt::format("{}{}", kOldRoot, path);
}

constexpr std::array<std::string_view, 7> kSystemDirs = {"usr",   "bin",   "sbin",  "lib",
                                                         "lib32", "lib64", "libx32"};
// Host /etc entries a program commonly needs and that hold no secrets. Debian's matplotlib reads
// its defaults from /etc/matplotlibrc and cannot be imported without it; fontconfig (which it
// asks for fonts) reads /etc/fonts.
constexpr std::array<std::string_view, 5> kEtcEntries = {"ld.so.cache", "ssl", "alternatives",
                                                         "matplotlibrc", "fonts"};
constexpr std::array<std::string_view, 6> kDevNodes = {"null",   "zero",    "full",
                                                       "random", "urandom", "tty"};

constexpr std::string_view kPasswd =
    "root:x:0:0:root:/root:/usr/sbin/nologin\n"
    "sandbox:x:1000:1000:sandbox:/workspace:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
constexpr std::string_view kGroup = "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n";
constexpr std::string_view kHosts =
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tsandbox\n";
constexpr std::string_view kNsswitch =
    "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n"
    "protocols: files\nservices: files\n";

}  // namespace

Result<HostPath> ResolveHostPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    return ErrnoError("realpath(" + path + ")");
  }
  HostPath host;
  host.path = resolved;
  struct stat st {};
  if (::stat(resolved, &st) != 0) {
    return ErrnoError(fmt::format("stat({})", host.path));
  }
  host.dev = st.st_dev;
  host.ino = st.st_ino;
  host.is_dir = S_ISDIR(st.st_mode);
  return host;
}

Result<HostPath> HostPathOf(int fd) {
  std::string link = fmt::format("/proc/self/fd/{}", fd);
  char target[PATH_MAX];
  ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
  if (n <= 0) {
    return ErrnoError("readlink(" + link + ")");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return ErrnoError("fstat(" + link + ")");
  }
  return HostPath{std::string(target, static_cast<size_t>(n)), st.st_dev, st.st_ino,
                  S_ISDIR(st.st_mode)};
}

Result<HostLayout> ProbeHostLayout() {
  HostLayout layout;
  for (std::string_view name : kSystemDirs) {
    std::string path = fmt::format("/{}", name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      continue;
    }
    HostLayout::Entry entry{std::string(name), ""};
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = ::readlink(path.c_str(), target, sizeof(target) - 1);
      if (n <= 0) {
        continue;
      }
      entry.link.assign(target, static_cast<size_t>(n));
    } else if (!S_ISDIR(st.st_mode)) {
      continue;
    }
    layout.system_dirs.push_back(std::move(entry));
  }
  for (std::string_view name : kEtcEntries) {
    std::string path = fmt::format("/etc/{}", name);
    if (::access(path.c_str(), R_OK) == 0) {
      layout.etc_files.emplace_back(name);
    }
  }
  char target[4096];
  ssize_t n = ::readlink("/etc/localtime", target, sizeof(target) - 1);
  if (n > 0) {
    layout.localtime_link.assign(target, static_cast<size_t>(n));
  }
  return layout;
}

const char* MountPlan::Keep(std::string s) {
  return strings_.emplace_back(std::move(s)).c_str();
}

void MountPlan::Mkdir(const std::string& path, unsigned mode, uint32_t owner) {
  ops_.push_back(
      {.kind = MountOp::Kind::kMkdir, .target = Keep(path), .mode = mode, .owner = owner});
}

void MountPlan::Touch(const std::string& path) {
  ops_.push_back({.kind = MountOp::Kind::kTouch, .target = Keep(path), .mode = 0644});
}

void MountPlan::Symlink(const std::string& target, const std::string& path) {
  ops_.push_back({.kind = MountOp::Kind::kSymlink, .source = Keep(target), .target = Keep(path)});
}

void MountPlan::WriteFile(const std::string& path, std::string contents, unsigned mode) {
  size_t size = contents.size();
  const char* data = Keep(std::move(contents));
  const char* target = Keep(path);
  ops_.push_back({.kind = MountOp::Kind::kWriteFile,
                  .target = target,
                  .data = data,
                  .size = size,
                  .mode = mode});
}

void MountPlan::Mount(const char* source, const std::string& target, const char* fstype,
                      unsigned long flags, const char* data, bool optional) {  // NOLINT
  ops_.push_back({.kind = MountOp::Kind::kMount,
                  .source = source,
                  .target = Keep(target),
                  .fstype = fstype,
                  .flags = flags,
                  .data = data,
                  .optional = optional});
}

void MountPlan::BindHost(const HostPath& source, const std::string& target, bool writable) {
  Bind(Host(source.path), target, writable);
  // Check the first of the two ops (the bind): the remount cannot change what is mounted.
  MountOp& bind = ops_[ops_.size() - 2];
  bind.verify = true;
  bind.expect_dev = source.dev;
  bind.expect_ino = source.ino;
}

void MountPlan::Attach(int tree_fd, const std::string& target) {
  ops_.push_back({.kind = MountOp::Kind::kAttach, .target = Keep(target), .fd = tree_fd});
}

void MountPlan::AddWorkspace(const MountInputs& inputs) {
  const std::string target = "/workspace";
  if (!inputs.workspace_overlay) {
    if (inputs.workspace_tree >= 0) {
      Attach(inputs.workspace_tree, target);
      LockDown(target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    } else {
      BindHost(*inputs.workspace, target, /*writable=*/true);
    }
    return;
  }
  const WorkspaceOverlay& overlay = *inputs.workspace_overlay;
  const std::string stage(kStage);
  Mkdir(stage, 0700);
  if (inputs.workspace_tree >= 0) {
    Attach(inputs.workspace_tree, stage);
  } else {
    Bind(Host(overlay.root), stage, /*writable=*/true);
  }
  ops_.push_back({.kind = MountOp::Kind::kOverlay,
                  .source = Keep(fmt::format("{}/{}", kStage, overlay.upper)),
                  .target = Keep(target),
                  .flags = MS_NOSUID | MS_NODEV,
                  .data = Keep(fmt::format("{}/{}", kStage, overlay.work)),
                  .verify = true,
                  .expect_dev = inputs.workspace->dev,
                  .expect_ino = inputs.workspace->ino});
  // The overlay holds its layers itself; the stage (every workspace under the root) must go.
  ops_.push_back({.kind = MountOp::Kind::kDetach, .target = Keep(stage)});
}

void MountPlan::Bind(const std::string& source, const std::string& target, bool writable,
                     bool optional) {
  Mount(Keep(source), target, nullptr, MS_BIND | MS_REC, nullptr, optional);
  // Recursively: a remount would change only the top mount and leave submounts of the source
  // writable and without nosuid/nodev. Setting attributes never clears the locked ones (atime).
  LockDown(target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (writable ? 0 : MOUNT_ATTR_RDONLY),
           optional);
}

void MountPlan::LockDown(const std::string& target, uint64_t attributes, bool optional) {
  ops_.push_back({.kind = MountOp::Kind::kLockDown,
                  .target = Keep(target),
                  .flags = attributes,
                  .optional = optional});
}

Result<MountPlan> MountPlan::Build(const HostLayout& layout, const Spec& spec,
                                   const MountInputs& inputs) {
  MountPlan plan;
  plan.Mount("tmpfs", std::string(kRoot), "tmpfs", MS_NOSUID | MS_NODEV,
             "mode=0755,size=1m,nr_inodes=4096");
  plan.ops_.push_back({.kind = MountOp::Kind::kPivotRoot, .target = plan.Keep(std::string(kRoot))});

  for (const HostLayout::Entry& dir : layout.system_dirs) {
    if (!dir.link.empty()) {
      plan.Symlink(dir.link, "/" + dir.name);
    } else {
      plan.Mkdir("/" + dir.name);
      plan.Bind(Host("/" + dir.name), "/" + dir.name, /*writable=*/false);
    }
  }

  plan.Mkdir("/etc");
  plan.WriteFile("/etc/passwd", std::string(kPasswd));
  plan.WriteFile("/etc/group", std::string(kGroup));
  plan.WriteFile("/etc/hosts", std::string(kHosts));
  plan.WriteFile("/etc/hostname", "sandbox\n");
  plan.WriteFile("/etc/nsswitch.conf", std::string(kNsswitch));
  for (const std::string& name : layout.etc_files) {
    std::string path = "/etc/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      plan.Mkdir(path);
    } else {
      plan.Touch(path);
    }
    plan.Bind(Host(path), path, /*writable=*/false);
  }
  if (!layout.localtime_link.empty()) {
    plan.Symlink(layout.localtime_link, "/etc/localtime");
  }
  // A minimal /dev: a few host device nodes bound one by one (never the host's /dev itself), a
  // private devpts instance without any terminal of the host, and the usual symlinks.
  plan.Mkdir("/dev");
  for (std::string_view node : kDevNodes) {
    std::string path = fmt::format("/dev/{}", node);
    plan.Touch(path);
    plan.Mount(plan.Keep(Host(path)), path, nullptr, MS_BIND, nullptr);
    plan.LockDown(path, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  }
  plan.Mkdir("/dev/pts");
  plan.Mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
             "newinstance,ptmxmode=0666,mode=0620");
  plan.Symlink("pts/ptmx", "/dev/ptmx");
  plan.Symlink("/proc/self/fd", "/dev/fd");
  plan.Symlink("/proc/self/fd/0", "/dev/stdin");
  plan.Symlink("/proc/self/fd/1", "/dev/stdout");
  plan.Symlink("/proc/self/fd/2", "/dev/stderr");
  // POSIX shared memory lands in /tmp, under the same size cap.
  plan.Symlink("/tmp", "/dev/shm");

  plan.Mkdir("/proc");
  // hidepid: the program cannot even see processes of other users (init runs as another uid when
  // Warden is root).
  plan.Mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible");
  // Sysctls: read-only even where the user namespace would allow writing (net.*).
  plan.Bind("/proc/sys", "/proc/sys", /*writable=*/false);

  // Writable space, capped by the kernel at the disk limit: /tmp and the default workspace share
  // one tmpfs, so the limit covers what they hold together. Its size is set per run, below.
  plan.Mkdir("/tmp");
  plan.Mkdir("/workspace");
  plan.Mkdir("/.scratch");
  plan.Mount("tmpfs", "/.scratch", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m");
  plan.Mkdir("/.scratch/tmp", 01777);
  plan.Mkdir("/.scratch/workspace", 0755, kSandboxId);
  plan.Bind("/.scratch/tmp", "/tmp", /*writable=*/true);
  plan.Bind("/.scratch/workspace", "/workspace", /*writable=*/true);
  plan.ops_.push_back({.kind = MountOp::Kind::kDetach, .target = plan.Keep("/.scratch")});

  // Everything above depends only on the host; everything below on the run (warm sandboxes are
  // built up to here ahead of time).
  plan.late_begin_ = plan.ops_.size();
  uint64_t inodes = std::max<uint64_t>(1024, spec.limits.disk_bytes / 4096);
  plan.Mount(nullptr, "/tmp", nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV,
             plan.Keep(fmt::format("size={},nr_inodes={}", spec.limits.disk_bytes, inodes)));
  if (inputs.workspace) {
    // The caller's directory goes on top of the default workspace.
    plan.AddWorkspace(inputs);
  }
  if (inputs.resolv_conf) {
    plan.Touch("/etc/resolv.conf");
    plan.BindHost(*inputs.resolv_conf, "/etc/resolv.conf", /*writable=*/false);
  }

  for (size_t i = 0; i < spec.ro_binds.size(); ++i) {
    const std::string& target = spec.ro_binds[i].target;
    // Create every missing parent: /opt/tools/bin needs /opt and /opt/tools on the tmpfs root.
    for (size_t slash = target.find('/', 1); slash != std::string::npos;
         slash = target.find('/', slash + 1)) {
      plan.Mkdir(target.substr(0, slash));
    }
    if (inputs.ro_binds[i].is_dir) {
      plan.Mkdir(target);
    } else {
      plan.Touch(target);
    }
    plan.BindHost(inputs.ro_binds[i], target, /*writable=*/false);
  }

  plan.ops_.push_back({.kind = MountOp::Kind::kDetachOldRoot});
  return plan;
}

std::string MountPlan::Describe(size_t index) const {
  if (index >= ops_.size()) {
    return fmt::format("step {}", index);
  }
  const MountOp& op = ops_[index];
  auto inside = [](const char* path) {
    return std::string(path != nullptr ? path : "?");
  };
  switch (op.kind) {
    case MountOp::Kind::kMkdir:
      return fmt::format("mkdir {}", inside(op.target));
    case MountOp::Kind::kTouch:
      return fmt::format("create {}", inside(op.target));
    case MountOp::Kind::kSymlink:
      return fmt::format("symlink {}", inside(op.target));
    case MountOp::Kind::kWriteFile:
      return fmt::format("write {}", inside(op.target));
    case MountOp::Kind::kPivotRoot:
      return "pivot_root into the new root";
    case MountOp::Kind::kDetachOldRoot:
      return "detach the host's root";
    case MountOp::Kind::kDetach:
      return fmt::format("detach {}", inside(op.target));
    case MountOp::Kind::kLockDown:
      return fmt::format("lock down {}", inside(op.target));
    case MountOp::Kind::kAttach:
      return fmt::format("attach the host directory of {}", inside(op.target));
    case MountOp::Kind::kOverlay:
      return fmt::format("mount the workspace's overlay on {}", inside(op.target));
    case MountOp::Kind::kMount:
      if (op.flags & MS_REMOUNT) {
        return fmt::format("remount {}", inside(op.target));
      }
      if ((op.flags & MS_BIND) && (inside(op.target) == "/workspace" || op.target == kStage)) {
        return fmt::format("bind the workspace on {}", inside(op.target));  // no host path
      }
      if (op.flags & MS_BIND) {
        return fmt::format(
            "bind {} on {}",
            std::string_view(op.source).substr(
                std::string_view(op.source).rfind(kOldRoot, 0) == 0 ? kOldRoot.size() : 0),
            inside(op.target));
      }
      return fmt::format("mount {} on {}", op.fstype != nullptr ? op.fstype : "?",
                         inside(op.target));
  }
  return fmt::format("step {}", index);
}

}  // namespace warden::sandbox
