// Builds the list of steps that make a sandbox's file system: a fresh tmpfs root with read-only
// system directories, a synthesized /etc, a fresh /proc, a minimal /dev, a size-capped /tmp and
// the workspace. Runs in the parent; the init process only executes the resulting MountOps.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "sandbox/child.h"
#include "sandbox/sandbox.h"

namespace warden::sandbox {

// What the host's root looks like, probed once per supervisor.
struct HostLayout {
  struct Entry {
    std::string name;  // "usr", "bin", "lib64"
    std::string link;  // non-empty: a symlink on the host ("usr/bin"), recreated as such
  };
  std::vector<Entry> system_dirs;
  std::vector<std::string> etc_files;  // host /etc entries bound read-only (those that exist)
  std::string localtime_link;          // target of /etc/localtime, if it is a symlink
};

Result<HostLayout> ProbeHostLayout();

// A host path to bind into the sandbox, resolved and identified by the parent. The child binds
// it by path (through /.oldroot) and checks that it got this very inode.
struct HostPath {
  std::string path;  // absolute, no symlinks
  dev_t dev = 0;
  ino_t ino = 0;
  bool is_dir = false;
};

// Resolves `path` (symlinks included) and records what the child must find there.
Result<HostPath> ResolveHostPath(const std::string& path);
// The same for a directory or file already open as `fd`: its inode, and the path it has now.
Result<HostPath> HostPathOf(int fd);

// A workspace mounted as an overlay so that the sandbox cannot read its host path: a bind mount
// shows, in /proc/self/mountinfo, the directory's path within its file system; an overlay shows
// "/" and the options it was given, which name its layers through /proc/self/fd.
struct WorkspaceOverlay {
  std::string root;   // host directory holding both below; bound (or attached) at /.stage
  std::string upper;  // the workspace, relative to root
  std::string work;   // an empty directory for the overlay's own use, relative to root
};

// Inputs of one plan that are not in the Spec.
struct MountInputs {
  // The caller's workspace; none: the run gets a fresh one on the same tmpfs as /tmp.
  std::optional<HostPath> workspace;
  // A detached clone (open_tree) of the workspace's mount tree, or of the overlay's root, made
  // by the parent and attached by init without walking a host path; -1: bound by path.
  int workspace_tree = -1;
  std::optional<WorkspaceOverlay> workspace_overlay;
  std::vector<HostPath> ro_binds;       // parallel to spec.ro_binds
  std::optional<HostPath> resolv_conf;  // network == host: the host's resolv.conf
};

// Owns the strings the MountOps point into. Move-only (the deque keeps addresses stable).
class MountPlan {
 public:
  static Result<MountPlan> Build(const HostLayout& layout, const Spec& spec,
                                 const MountInputs& inputs);

  const std::vector<MountOp>& ops() const { return ops_; }
  // ops()[0, late_begin()) depend only on the host layout: the same for every run. The rest (the
  // run's /tmp, workspace, read-only binds, resolv.conf, detaching the host's root) do not.
  size_t late_begin() const { return late_begin_; }
  // A human description of step `index`, for setup errors: "mount proc on /proc".
  std::string Describe(size_t index) const;

 private:
  const char* Keep(std::string s);
  void Mkdir(const std::string& path, unsigned mode = 0755, uint32_t owner = MountOp::kNoOwner);
  void Touch(const std::string& path);
  void Symlink(const std::string& target, const std::string& path);
  void WriteFile(const std::string& path, std::string contents, unsigned mode = 0644);
  // NOLINTNEXTLINE(google-runtime-int): mount(2)'s type for the flags
  void Mount(const char* source, const std::string& target, const char* fstype, unsigned long flags,
             const char* data, bool optional = false);
  // Bind `source` (and its submounts) on `target`: nosuid, nodev, read-only unless `writable`.
  void Bind(const std::string& source, const std::string& target, bool writable,
            bool optional = false);
  void LockDown(const std::string& target, uint64_t attributes, bool optional = false);
  // Bind a resolved host path, verifying its identity after the bind.
  void BindHost(const HostPath& source, const std::string& target, bool writable);
  void Attach(int tree_fd, const std::string& target);
  // The caller's workspace on /workspace: bound, attached or through an overlay (MountInputs).
  void AddWorkspace(const MountInputs& inputs);

  std::deque<std::string> strings_;
  std::vector<MountOp> ops_;
  size_t late_begin_ = 0;
};

}  // namespace warden::sandbox
