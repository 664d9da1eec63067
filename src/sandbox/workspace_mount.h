// The parent's half of putting a caller's workspace in a sandbox: a detached clone of its mount
// tree (as root, so that init needs no way through the host's directories to it), and, for a
// workspace under SupervisorOptions::workspace_root, the overlay that keeps its host path out of
// the sandbox's /proc/self/mountinfo, with the work directory that overlay needs.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/mount_plan.h"

namespace warden::sandbox {

// The work directory of one run's overlay: <root>/.overlay-work/<supervisor pid>-<n>, owned by
// the sandbox user's host ids and removed, with whatever the kernel left in it, on destruction.
// Move-only; not thread-safe.
class OverlayWorkDir {
 public:
  static Result<OverlayWorkDir> Create(const std::string& root, uid_t uid, gid_t gid);
  OverlayWorkDir(OverlayWorkDir&& other) noexcept;
  OverlayWorkDir& operator=(OverlayWorkDir&& other) noexcept {
    std::swap(path_, other.path_);
    std::swap(relative_, other.relative_);
    return *this;
  }
  OverlayWorkDir(const OverlayWorkDir&) = delete;
  OverlayWorkDir& operator=(const OverlayWorkDir&) = delete;
  ~OverlayWorkDir();

  const std::string& relative() const { return relative_; }  // to the root

 private:
  OverlayWorkDir(std::string path, std::string relative)
      : path_(std::move(path)), relative_(std::move(relative)) {}
  std::string path_;
  std::string relative_;
};

// How one run's workspace is mounted. Owns what must live until the run ends.
struct WorkspaceMount {
  HostPath dir;                             // the workspace itself
  UniqueFd tree;                            // detached clone to attach; empty: bound by path
  std::optional<WorkspaceOverlay> overlay;  // set: mounted as an overlay
  std::optional<OverlayWorkDir> work;       // the overlay's work directory
};

// Prepares the mount of the workspace open as `dir_fd`, whose files the sandbox user owns as
// host `uid`/`gid`: as an overlay when `workspace_root` (resolved, or "") holds it, else as a
// plain bind; with a detached clone of the tree when `clone_tree` (Warden may mount: root).
// `idmap` (a user namespace, idmap.h; -1: none) idmaps that clone of a plain bind: the files of
// a workspace that is not the sandbox user's then appear as its own.
Result<WorkspaceMount> PrepareWorkspaceMount(int dir_fd, const std::string& workspace_root,
                                             bool clone_tree, uid_t uid, gid_t gid, int idmap = -1);

// Removes the overlay work directories of supervisors that died without cleaning up.
void SweepStaleOverlayWorkDirs(const std::string& workspace_root);

}  // namespace warden::sandbox
