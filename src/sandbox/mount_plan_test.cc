#include "sandbox/mount_plan.h"

#include <sys/mount.h>

#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace warden::sandbox {
namespace {

MountPlan BuildPlan(const Spec& spec, bool host_network = false) {
  HostLayout layout;
  layout.system_dirs = {{"usr", ""}, {"bin", "usr/bin"}};
  layout.etc_files = {"ld.so.cache"};
  MountInputs inputs;
  inputs.workspace = {"/srv/ws", 42, 4242, true};
  if (host_network) {
    inputs.resolv_conf = HostPath{"/run/resolv.conf", 1, 2, false};
  }
  for (const BindMount& bind : spec.ro_binds) {
    inputs.ro_binds.push_back({bind.source, 7, 77, true});
  }
  auto plan = MountPlan::Build(layout, spec, inputs);
  EXPECT_TRUE(plan.ok());
  return std::move(plan).value();
}

// The lock-down (mount_setattr) of `target`.
const MountOp* FindLockDown(const MountPlan& plan, std::string_view target) {
  for (const MountOp& op : plan.ops()) {
    if (op.kind == MountOp::Kind::kLockDown && op.target == target) {
      return &op;
    }
  }
  return nullptr;
}

// The last mount on `target` (the root's tmpfs is mounted on /tmp before the pivot, the run's
// /tmp after it).
const MountOp* FindMount(const MountPlan& plan, std::string_view target, bool remount) {
  const MountOp* found = nullptr;
  for (const MountOp& op : plan.ops()) {
    if (op.kind == MountOp::Kind::kMount && op.target == target &&
        ((op.flags & MS_REMOUNT) != 0) == remount) {
      found = &op;
    }
  }
  return found;
}

TEST(MountPlanTest, SystemDirectoriesAreReadOnlyAndSymlinksStaySymlinks) {
  MountPlan plan = BuildPlan(Spec{});
  const MountOp* usr = FindLockDown(plan, "/usr");
  ASSERT_NE(usr, nullptr);
  EXPECT_TRUE(usr->flags & MOUNT_ATTR_RDONLY);
  EXPECT_TRUE(usr->flags & MOUNT_ATTR_NOSUID);
  EXPECT_TRUE(usr->flags & MOUNT_ATTR_NODEV);
  ASSERT_NE(FindMount(plan, "/usr", /*remount=*/false), nullptr);
  EXPECT_TRUE(FindMount(plan, "/usr", /*remount=*/false)->flags & MS_REC);
  bool bin_is_symlink = false;
  for (const MountOp& op : plan.ops()) {
    if (op.kind == MountOp::Kind::kSymlink && std::string_view(op.target) == "/bin") {
      bin_is_symlink = std::string_view(op.source) == "usr/bin";
    }
  }
  EXPECT_TRUE(bin_is_symlink);
}

TEST(MountPlanTest, WorkspaceIsWritableAndVerifiedAfterTheBind) {
  MountPlan plan = BuildPlan(Spec{});
  const MountOp* bind = FindMount(plan, "/workspace", /*remount=*/false);
  ASSERT_NE(bind, nullptr);
  EXPECT_EQ(std::string_view(bind->source), "/.oldroot/srv/ws");
  EXPECT_TRUE(bind->verify);
  EXPECT_EQ(bind->expect_dev, 42U);
  EXPECT_EQ(bind->expect_ino, 4242U);
  const MountOp* lock = FindLockDown(plan, "/workspace");
  ASSERT_NE(lock, nullptr);
  EXPECT_FALSE(lock->flags & MOUNT_ATTR_RDONLY);
  EXPECT_TRUE(lock->flags & MOUNT_ATTR_NOSUID);
  EXPECT_TRUE(lock->flags & MOUNT_ATTR_NODEV);
}

// The plan's ops of `kind`, in order.
std::vector<const MountOp*> OpsOf(const MountPlan& plan, MountOp::Kind kind) {
  std::vector<const MountOp*> found;
  for (const MountOp& op : plan.ops()) {
    if (op.kind == kind) {
      found.push_back(&op);
    }
  }
  return found;
}

TEST(MountPlanTest, AClonedWorkspaceTreeIsAttachedWithoutAHostPath) {
  MountInputs inputs;
  inputs.workspace = HostPath{"/srv/ws", 42, 4242, true};
  inputs.workspace_tree = 17;
  auto plan = MountPlan::Build(HostLayout{}, Spec{}, inputs);
  ASSERT_TRUE(plan.ok());
  std::vector<const MountOp*> attached = OpsOf(*plan, MountOp::Kind::kAttach);
  ASSERT_EQ(attached.size(), 1U);
  EXPECT_EQ(std::string_view(attached[0]->target), "/workspace");
  EXPECT_EQ(attached[0]->fd, 17);
  EXPECT_GE(static_cast<size_t>(attached[0] - plan->ops().data()), plan->late_begin());
  const MountOp* lock = FindLockDown(*plan, "/workspace");
  ASSERT_NE(lock, nullptr);
  EXPECT_TRUE(lock->flags & MOUNT_ATTR_NOSUID);
  EXPECT_EQ(FindMount(*plan, "/workspace", /*remount=*/false)->source,
            std::string_view("/.scratch/workspace"));  // only the default workspace is bound
}

TEST(MountPlanTest, AWorkspaceUnderTheRootIsAnOverlayOfItsStagedTree) {
  MountInputs inputs;
  inputs.workspace = HostPath{"/srv/data/workspaces/j_1", 42, 4242, true};
  inputs.workspace_tree = 17;
  inputs.workspace_overlay = WorkspaceOverlay{"/srv/data/workspaces", "j_1", ".overlay-work/99-0"};
  auto plan = MountPlan::Build(HostLayout{}, Spec{}, inputs);
  ASSERT_TRUE(plan.ok());
  std::vector<const MountOp*> attached = OpsOf(*plan, MountOp::Kind::kAttach);
  std::vector<const MountOp*> overlays = OpsOf(*plan, MountOp::Kind::kOverlay);
  ASSERT_EQ(attached.size(), 1U);
  ASSERT_EQ(overlays.size(), 1U);
  EXPECT_EQ(std::string_view(attached[0]->target), "/.stage");
  const MountOp& overlay = *overlays[0];
  EXPECT_EQ(std::string_view(overlay.target), "/workspace");
  EXPECT_EQ(std::string_view(overlay.source), "/.stage/j_1");
  EXPECT_EQ(std::string_view(overlay.data), "/.stage/.overlay-work/99-0");
  EXPECT_TRUE(overlay.verify);
  EXPECT_EQ(overlay.expect_ino, 4242U);
  EXPECT_TRUE(overlay.flags & MS_NOSUID);
  EXPECT_TRUE(overlay.flags & MS_NODEV);
  // The stage (every workspace under the root) goes before the program starts.
  std::vector<const MountOp*> detached = OpsOf(*plan, MountOp::Kind::kDetach);
  ASSERT_FALSE(detached.empty());
  EXPECT_EQ(std::string_view(detached.back()->target), "/.stage");
  EXPECT_GT(detached.back(), overlays[0]);
  // A setup error names no host path.
  for (size_t i = 0; i < plan->ops().size(); ++i) {
    EXPECT_EQ(plan->Describe(i).find("/srv"), std::string::npos) << plan->Describe(i);
  }
}

TEST(MountPlanTest, NeverBindsTheHostDevOrSecretDirectories) {
  Spec spec;
  MountPlan plan = BuildPlan(spec);
  for (const MountOp& op : plan.ops()) {
    if (op.kind != MountOp::Kind::kMount || op.source == nullptr || !(op.flags & MS_BIND)) {
      continue;
    }
    std::string_view source = op.source;
    if (source.rfind("/.oldroot", 0) == 0) {
      source.remove_prefix(9);
    }
    EXPECT_NE(source, "/dev");
    EXPECT_NE(source, "/dev/vsock");
    EXPECT_NE(source.substr(0, 5), "/root");
    EXPECT_NE(source.substr(0, 5), "/home");
    EXPECT_NE(source.substr(0, 4), "/var");
    EXPECT_NE(source, "/etc");
  }
}

TEST(MountPlanTest, TmpAndDefaultWorkspaceShareATmpfsCappedAtTheDiskLimit) {
  Spec spec;
  spec.limits.disk_bytes = 64ULL << 20;
  HostLayout layout;
  auto built = MountPlan::Build(layout, spec, MountInputs{});  // no caller's workspace
  ASSERT_TRUE(built.ok());
  const MountPlan& plan = *built;
  const MountOp* scratch = FindMount(plan, "/.scratch", /*remount=*/false);
  ASSERT_NE(scratch, nullptr);
  EXPECT_EQ(std::string_view(scratch->fstype), "tmpfs");
  const MountOp* tmp = FindMount(plan, "/tmp", /*remount=*/false);
  const MountOp* workspace = FindMount(plan, "/workspace", /*remount=*/false);
  ASSERT_NE(tmp, nullptr);
  ASSERT_NE(workspace, nullptr);
  EXPECT_EQ(std::string_view(tmp->source), "/.scratch/tmp");
  EXPECT_EQ(std::string_view(workspace->source), "/.scratch/workspace");
  // The size is the run's (set after the host-only part, which warm sandboxes build early).
  const MountOp* size = FindMount(plan, "/tmp", /*remount=*/true);
  ASSERT_NE(size, nullptr);
  EXPECT_NE(std::string_view(size->data).find("size=67108864"), std::string_view::npos);
  EXPECT_GE(static_cast<size_t>(size - plan.ops().data()), plan.late_begin());
}

TEST(MountPlanTest, ReadOnlyBindCreatesParentsAndPivotComesLast) {
  Spec spec;
  spec.ro_binds = {{"/opt/data", "/opt/tools/data"}};
  MountPlan plan = BuildPlan(spec);
  bool made_parent = false;
  for (const MountOp& op : plan.ops()) {
    made_parent |= op.kind == MountOp::Kind::kMkdir && std::string_view(op.target) == "/opt/tools";
  }
  EXPECT_TRUE(made_parent);
  const MountOp* lock = FindLockDown(plan, "/opt/tools/data");
  ASSERT_NE(lock, nullptr);
  EXPECT_TRUE(lock->flags & MOUNT_ATTR_RDONLY);
  EXPECT_EQ(plan.ops()[1].kind, MountOp::Kind::kPivotRoot);
  EXPECT_EQ(plan.ops().back().kind, MountOp::Kind::kDetachOldRoot);
  EXPECT_EQ(plan.Describe(plan.ops().size() - 1), "detach the host's root");
}

TEST(MountPlanTest, ResolvConfOnlyWithHostNetwork) {
  auto has_resolv = [](const MountPlan& plan) {
    for (const MountOp& op : plan.ops()) {
      if (op.target != nullptr && std::string_view(op.target) == "/etc/resolv.conf") {
        return true;
      }
    }
    return false;
  };
  EXPECT_FALSE(has_resolv(BuildPlan(Spec{})));
  EXPECT_TRUE(has_resolv(BuildPlan(Spec{}, /*host_network=*/true)));
}

}  // namespace
}  // namespace warden::sandbox
