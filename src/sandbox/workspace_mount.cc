#include "sandbox/workspace_mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include <fmt/format.h>

#include "sandbox/idmap.h"
#include "sys/fs.h"

namespace warden::sandbox {
namespace {

constexpr std::string_view kWorkDirs = ".overlay-work";

std::atomic<uint64_t> work_dir_counter{0};

Status MakeOwnedDir(const std::string& path, uid_t uid, gid_t gid) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("mkdir(" + path + ")");
  }
  if (::geteuid() == 0 && ::chown(path.c_str(), uid, gid) != 0) {
    return ErrnoError("chown(" + path + ")");
  }
  return OkStatus();
}

// Removes a work directory: what overlayfs leaves there ("work", mode 0, empty once unmounted)
// goes with plain rmdir, which needs no permission to read it; anything else with RemoveTree.
void RemoveWorkDir(const std::string& path) {
  std::string inner = path + "/work";
  if (::rmdir(inner.c_str()) != 0 && errno == ENOTEMPTY) {
    ::chmod(inner.c_str(), 0700);
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    (void)sys::RemoveTree(path);
  }
}

// "<pid>-<n>" names a work directory of supervisor <pid>; is that supervisor gone?
bool OwnerIsGone(std::string_view name) {
  long pid = std::strtol(std::string(name).c_str(), nullptr, 10);  // NOLINT
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

Result<UniqueFd> CloneTree(int dirfd, const char* path, unsigned flags) {
  UniqueFd tree(::open_tree(dirfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags));
  if (!tree) {
    return ErrnoError("open_tree(workspace, OPEN_TREE_CLONE)");
  }
  return tree;
}

}  // namespace

Result<OverlayWorkDir> OverlayWorkDir::Create(const std::string& root, uid_t uid, gid_t gid) {
  std::string parent = fmt::format("{}/{}", root, kWorkDirs);
  RETURN_IF_ERROR(MakeOwnedDir(parent, uid, gid));
  std::string name = fmt::format("{}-{}", ::getpid(), work_dir_counter.fetch_add(1));
  std::string path = parent + "/" + name;
  if (::mkdir(path.c_str(), 0700) != 0) {
    return ErrnoError("mkdir(" + path + ")");
  }
  OverlayWorkDir dir(path, fmt::format("{}/{}", kWorkDirs, name));
  if (::geteuid() == 0 && ::chown(path.c_str(), uid, gid) != 0) {
    return ErrnoError("chown(" + path + ")");
  }
  return dir;
}

OverlayWorkDir::OverlayWorkDir(OverlayWorkDir&& other) noexcept
    : path_(std::move(other.path_)), relative_(std::move(other.relative_)) {
  other.path_.clear();
}

OverlayWorkDir::~OverlayWorkDir() {
  if (!path_.empty()) {
    RemoveWorkDir(path_);
  }
}

Result<WorkspaceMount> PrepareWorkspaceMount(int dir_fd, const std::string& workspace_root,
                                             bool clone_tree, uid_t uid, gid_t gid, int idmap) {
  WorkspaceMount mount;
  ASSIGN_OR_RETURN(mount.dir, HostPathOf(dir_fd));
  const std::string& path = mount.dir.path;
  bool under_root = !workspace_root.empty() && path.size() > workspace_root.size() + 1 &&
                    path.compare(0, workspace_root.size(), workspace_root) == 0 &&
                    path[workspace_root.size()] == '/';
  if (!under_root) {
    if (clone_tree) {
      ASSIGN_OR_RETURN(mount.tree, CloneTree(dir_fd, "", AT_EMPTY_PATH | AT_RECURSIVE));
      if (idmap >= 0) {
        RETURN_IF_ERROR(IdmapTree(mount.tree.get(), idmap));
      }
    }
    return mount;
  }
  ASSIGN_OR_RETURN(OverlayWorkDir work, OverlayWorkDir::Create(workspace_root, uid, gid));
  mount.overlay =
      WorkspaceOverlay{workspace_root, path.substr(workspace_root.size() + 1), work.relative()};
  mount.work.emplace(std::move(work));
  if (clone_tree) {
    ASSIGN_OR_RETURN(mount.tree, CloneTree(AT_FDCWD, workspace_root.c_str(), 0));
  }
  return mount;
}

void SweepStaleOverlayWorkDirs(const std::string& workspace_root) {
  std::string parent = fmt::format("{}/{}", workspace_root, kWorkDirs);
  DIR* dir = ::opendir(parent.c_str());
  if (dir == nullptr) {
    return;
  }
  std::vector<std::string> stale;
  while (struct dirent* entry = ::readdir(dir)) {
    if (entry->d_type == DT_DIR && entry->d_name[0] != '.' && OwnerIsGone(entry->d_name)) {
      stale.push_back(parent + "/" + entry->d_name);
    }
  }
  ::closedir(dir);
  for (const std::string& path : stale) {
    RemoveWorkDir(path);
  }
}

}  // namespace warden::sandbox
