// The workspace of a run: who owns it on the host, how it is mounted (supervisor_impl.h), and
// the start-up check that a workspace under SupervisorOptions::workspace_root can be mounted as
// an overlay.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <tuple>

#include <climits>
#include <fmt/format.h>

#include "base/log.h"
#include "sandbox/idmap.h"
#include "sandbox/supervisor_impl.h"

namespace warden::sandbox {

std::pair<uid_t, gid_t> Supervisor::Impl::DefaultHostIds() const {
  if (!running_as_root) {
    return {::geteuid(), ::getegid()};
  }
  return {options.root_sandbox_uid, static_cast<gid_t>(options.root_sandbox_uid)};
}

std::pair<uid_t, gid_t> Supervisor::Impl::SandboxHostIds(const struct stat& workspace) const {
  if (!running_as_root) {
    return {::geteuid(), ::getegid()};
  }
  // Root maps the sandbox user to the workspace's owner when that owner is an ordinary user, so
  // that files keep their owner; otherwise to Warden's own unprivileged id.
  if (workspace.st_uid != 0) {
    return {workspace.st_uid, workspace.st_gid};
  }
  return {options.root_sandbox_uid, static_cast<gid_t>(options.root_sandbox_uid)};
}

Result<Workspace> Supervisor::Impl::PrepareWorkspace(const Spec& spec) const {
  Workspace ws;
  ws.path = spec.workspace;
  if (ws.path.empty() && isolated()) {
    std::tie(ws.host_uid, ws.host_gid) = DefaultHostIds();
    return ws;
  }
  if (ws.path.empty()) {
    // No sandbox, so no tmpfs of its own: a host directory, removed when the run ends.
    ASSIGN_OR_RETURN(ws.temp, sys::TempDir::Create("warden-unsandboxed-"));
    ws.path = ws.temp->path();
  }
  ws.fd.reset(::open(ws.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!ws.fd) {
    return Error::FromErrno(fmt::format("workspace {}", ws.path), errno);
  }
  struct stat st {};
  if (::fstat(ws.fd.get(), &st) != 0) {
    return ErrnoError("fstat(" + ws.path + ")");
  }
  std::tie(ws.host_uid, ws.host_gid) = SandboxHostIds(st);
  bool writable = st.st_uid == ws.host_uid || (st.st_mode & S_IWOTH) != 0 ||
                  (st.st_gid == ws.host_gid && (st.st_mode & S_IWGRP) != 0);
  // Root's own directory: the sandbox user is never root on the host. Its bind is idmapped, so
  // that root's files are the sandbox user's inside and what it writes stays root's outside.
  int idmap = -1;
  std::string why_not;
  if (isolated() && !writable && running_as_root && st.st_uid == 0) {
    Result<int> userns = RootIdmap(st.st_gid, ws.host_uid, ws.host_gid);
    if (userns.ok()) {
      idmap = *userns;
    } else {
      why_not = userns.error().message();
    }
  }
  if (isolated() && !writable && idmap < 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("workspace {} belongs to uid {}, and the sandbox user (host uid {}) "
                             "may not write there{}: give the directory to an ordinary user (the "
                             "sandbox then runs as that user), or use --ro-bind to read it",
                             ws.path, st.st_uid, ws.host_uid,
                             why_not.empty() ? "" : " (it cannot be idmapped: " + why_not + ")"));
  }
  if (spec.limits.disk_bytes > 0) {
    // Watched first, measured second: whatever changes after the measurement is seen.
    ws.watch = WorkspaceWatch::Start(ws.fd.get());
  }
  ASSIGN_OR_RETURN(ws.baseline_bytes, sys::DiskUsage(ws.fd.get()));
  if (isolated()) {
    // The directory already opened (and measured): the child must mount this very inode. Root
    // may clone mount trees, so init needs no way through the host's directories to it.
    auto mount = PrepareWorkspaceMount(ws.fd.get(), workspace_root, running_as_root, ws.host_uid,
                                       ws.host_gid, idmap);
    if (!mount.ok() && idmap >= 0) {
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("workspace {} belongs to root, and the sandbox user (host uid {}) "
                               "may not write there; {}: give the directory to an ordinary user "
                               "(the sandbox then runs as that user), or use --ro-bind to read it",
                               ws.path, ws.host_uid, mount.error().message()));
    }
    ASSIGN_OR_RETURN(ws.mount, std::move(mount));
  }
  return ws;
}

Result<int> Supervisor::Impl::RootIdmap(gid_t gid, uid_t seen_uid, gid_t seen_gid) const {
  std::lock_guard lock(idmap_mutex);
  auto it = idmaps.find(gid);
  if (it == idmaps.end()) {
    ASSIGN_OR_RETURN(UniqueFd userns, MakeIdmapNamespace(0, gid, seen_uid, seen_gid));
    it = idmaps.emplace(gid, std::move(userns)).first;
  }
  return it->second.get();
}

Result<std::optional<MountPlan>> Supervisor::Impl::PrepareMounts(const Spec& spec,
                                                                 const Workspace& ws) const {
  if (!isolated()) {
    return std::optional<MountPlan>();
  }
  MountInputs inputs;
  if (ws.mount) {
    inputs.workspace = ws.mount->dir;
    inputs.workspace_tree = ws.mount->tree ? ws.mount->tree.get() : -1;
    inputs.workspace_overlay = ws.mount->overlay;
  }
  for (const BindMount& bind : spec.ro_binds) {
    auto source = ResolveHostPath(bind.source);
    if (!source.ok()) {
      return std::move(source).error().WithContext("--ro-bind source");
    }
    inputs.ro_binds.push_back(std::move(source).value());
  }
  if (spec.network == NetworkMode::kHost) {
    if (auto resolv = ResolveHostPath("/etc/resolv.conf"); resolv.ok()) {
      inputs.resolv_conf = std::move(resolv).value();
    }
  }
  ASSIGN_OR_RETURN(MountPlan plan, MountPlan::Build(layout, spec, inputs));
  return std::optional<MountPlan>(std::move(plan));
}

void Supervisor::Impl::SetUpWorkspaceRoot() {
  workspace_mounting = "bind mounts (the sandbox can read a workspace's path on the host)";
  if (options.workspace_root.empty() || !isolated()) {
    return;
  }
  char resolved[PATH_MAX];
  if (::realpath(options.workspace_root.c_str(), resolved) == nullptr) {
    LOG_WARN("workspace root {}: {}; workspaces are bind-mounted, their host paths visible inside",
             options.workspace_root, ErrnoDescription(errno));
    return;
  }
  SweepStaleOverlayWorkDirs(resolved);
  workspace_root = resolved;
  // One run over an empty workspace under the root: the file system must take an overlay.
  std::string probe = fmt::format("{}/.overlay-probe-{}", workspace_root, ::getpid());
  auto [uid, gid] = DefaultHostIds();
  Spec spec;
  spec.argv = {"/bin/true"};
  spec.workspace = probe;
  Result<RunResult> run = Error(ErrorCode::kInternal, "not run");
  if (::mkdir(probe.c_str(), 0700) != 0 || (running_as_root && ::chown(probe.c_str(), uid, gid))) {
    run = ErrnoError("mkdir(" + probe + ")");
  } else {
    run = Run(spec, nullptr);
  }
  ::rmdir(probe.c_str());
  if (run.ok() && run->outcome == Outcome::kExited && run->exit_code == 0) {
    workspace_mounting = fmt::format(
        "overlays under {} (the sandbox sees no workspace's host path)", workspace_root);
    return;
  }
  std::string why = run.ok() ? run->message : run.error().message();
  LOG_WARN(
      "workspaces under {} cannot be mounted as overlays ({}): they are bind-mounted, and "
      "a sandbox can read its workspace's host path in /proc/self/mountinfo",
      workspace_root, why);
  workspace_mounting =
      fmt::format("bind mounts: an overlay under {} failed: {}", workspace_root, why);
  workspace_root.clear();
}

}  // namespace warden::sandbox
