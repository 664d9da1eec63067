// Finding the cgroup hierarchy the supervisor uses (CgroupManager::Detect) and where in it the
// runs' cgroups go: under the service's own cgroup, so that an operator's limits on the service
// cover its runs too.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <fmt/format.h>

#include "base/log.h"
#include "sandbox/cgroup.h"
#include "sandbox/cgroup_files.h"
#include "sys/fs.h"

namespace warden::sandbox {
namespace {

std::string V2Controllers(const std::string& dir) {
  auto text = sys::ReadFile(dir + "/cgroup.controllers");
  return text.ok() ? *text : "";
}

bool HasWord(std::string_view text, std::string_view word) {
  for (const std::string& w : SplitCgroupText(text, ' ')) {
    std::string_view v = w;
    while (!v.empty() && (v.back() == '\n')) {
      v.remove_suffix(1);
    }
    if (v == word) {
      return true;
    }
  }
  return false;
}

// "run-<pid>-<n>" names a run of supervisor <pid>; is that supervisor gone?
bool OwnerIsGone(std::string_view name) {
  if (name.rfind("run-", 0) != 0) {
    return false;
  }
  long pid = std::strtol(std::string(name.substr(4)).c_str(), nullptr, 10);  // NOLINT
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

// Removes the empty cgroups of supervisors that died without cleaning up (SIGKILL, power loss).
void SweepStale(const std::vector<std::string>& parents) {
  for (const std::string& parent : parents) {
    if (parent.empty()) {
      continue;
    }
    DIR* dir = ::opendir(parent.c_str());
    if (dir == nullptr) {
      continue;
    }
    std::vector<std::string> stale;
    while (struct dirent* entry = ::readdir(dir)) {
      if (entry->d_type == DT_DIR && OwnerIsGone(entry->d_name)) {
        stale.emplace_back(entry->d_name);
      }
    }
    ::closedir(dir);
    for (const std::string& name : stale) {
      ::rmdir(fmt::format("{}/{}", parent, name).c_str());  // fails harmlessly if processes remain
    }
  }
}

// Enables the controllers the runs need in `dir`'s subtree, one at a time: cpu is optional (it
// cannot be enabled while real-time tasks run, for example).
Status EnableControllers(const std::string& dir, const std::string& available) {
  for (const char* controller : {"memory", "pids", "cpu"}) {
    if (!HasWord(available, controller)) {
      continue;
    }
    Status enabled =
        sys::WriteExistingFile(dir + "/cgroup.subtree_control", fmt::format("+{}", controller));
    if (!enabled.ok() && std::string_view(controller) != "cpu") {
      return enabled.error().WithContext(fmt::format("enabling the {} controller", controller));
    }
  }
  return OkStatus();
}

// mkdir(path), remembering it in `created` when this call made it.
Status MakeParent(const std::string& path, std::vector<std::string>* created) {
  if (::mkdir(path.c_str(), 0755) == 0) {
    created->push_back(path);
    return OkStatus();
  }
  return errno == EEXIST ? OkStatus() : ErrnoError("mkdir(" + path + ")");
}

// Where the runs go in the v1 hierarchy of `controller` mounted at `mount`: in "warden" under
// this process's own cgroup when that one is writable; else under the hierarchy's root, with the
// reason.
std::pair<std::string, std::string> ChooseV1Parent(const std::string& mount,
                                                   std::string_view controller,
                                                   std::string_view self) {
  const std::string at_root = NestedParent(mount, "/");
  std::optional<std::string> own = OwnCgroupPath(self, controller);
  if (!own) {
    return {at_root, "/proc/self/cgroup names no cgroup of this hierarchy"};
  }
  if (*own == "/") {
    return {at_root, ""};
  }
  if (own->rfind("/..", 0) == 0) {
    return {at_root,
            fmt::format("this process's cgroup {} lies outside its cgroup namespace", *own)};
  }
  std::string dir = mount + *own;
  if (::access(dir.c_str(), W_OK) != 0) {
    return {at_root, fmt::format("{} is not writable ({})", dir, ErrnoDescription(errno))};
  }
  return {NestedParent(mount, *own), ""};
}

}  // namespace

std::optional<std::string> OwnCgroupPath(std::string_view self, std::string_view controller) {
  for (const std::string& line : SplitCgroupText(self, '\n')) {
    // "hierarchy-id:controller,controller:/path"; v2 has id 0 and no controllers.
    size_t first = line.find(':');
    size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) {
      continue;
    }
    std::string_view controllers = std::string_view{line}.substr(first + 1, second - first - 1);
    bool match = controller.empty() ? line.rfind("0::", 0) == 0 : false;
    for (const std::string& name : SplitCgroupText(controllers, ',')) {
      match = match || (!controller.empty() && name == controller);
    }
    if (match) {
      return line.substr(second + 1);
    }
  }
  return std::nullopt;
}

std::string NestedParent(const std::string& mount, const std::string& own) {
  return mount + (own == "/" ? "" : own) + "/warden";
}

CgroupMounts ParseCgroupMounts(std::string_view mountinfo) {
  CgroupMounts mounts;
  for (const std::string& line : SplitCgroupText(mountinfo, '\n')) {
    // "36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory"
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) {
      continue;
    }
    std::vector<std::string> left = SplitCgroupText(std::string_view{line}.substr(0, dash), ' ');
    std::vector<std::string> right = SplitCgroupText(std::string_view{line}.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) {
      continue;
    }
    const std::string& mount_point = left[4];
    const std::string& fstype = right[0];
    if (fstype == "cgroup2") {
      if (mounts.v2.empty()) {
        mounts.v2 = mount_point;
      }
    } else if (fstype == "cgroup") {
      mounts.v1_dirs.push_back(mount_point);
      for (const std::string& option : SplitCgroupText(right[2], ',')) {
        if (option == "memory") {
          mounts.v1_memory = mount_point;
        }
        if (option == "pids") {
          mounts.v1_pids = mount_point;
        }
        if (option == "cpuacct") {
          mounts.v1_cpuacct = mount_point;
        }
        if (option == "cpu") {
          mounts.v1_cpu = mount_point;
        }
      }
    }
  }
  return mounts;
}

Result<CgroupMounts> FindCgroupMounts() {
  ASSIGN_OR_RETURN(std::string mountinfo, sys::ReadFile("/proc/self/mountinfo"));
  return ParseCgroupMounts(mountinfo);
}

CgroupManager::CgroupManager(CgroupManager&& other) noexcept
    : version_(other.version_),
      cpu_with_cpuacct_(other.cpu_with_cpuacct_),
      description_(std::move(other.description_)),
      parents_(std::move(other.parents_)),
      counter_(other.counter_.load()) {
  std::lock_guard lock(other.created_mutex_);
  created_parents_ = std::move(other.created_parents_);
  other.created_parents_.clear();
}

CgroupManager::~CgroupManager() {
  std::lock_guard lock(created_mutex_);
  for (const std::string& parent : created_parents_) {
    ::rmdir(parent.c_str());  // fails harmlessly while another supervisor's runs are in it
  }
}

Result<CgroupManager> CgroupManager::Detect() {
  ASSIGN_OR_RETURN(CgroupMounts mounts, FindCgroupMounts());
  ASSIGN_OR_RETURN(std::string self, sys::ReadFile("/proc/self/cgroup"));
  std::string v2_problem;
  if (!mounts.v2.empty()) {
    auto v2 = DetectV2(mounts.v2, self);
    if (v2.ok()) {
      return v2;
    }
    v2_problem = v2.error().message();
  }
  auto v1 = DetectV1(mounts, self);
  if (v1.ok()) {
    return v1;
  }
  if (v2_problem.empty()) {
    return v1;
  }
  return Error(
      ErrorCode::kFailedPrecondition,
      fmt::format("no usable cgroup hierarchy: v2: {}; v1: {}", v2_problem, v1.error().message()));
}

Result<CgroupManager> CgroupManager::DetectV2(const std::string& mount, std::string_view self) {
  std::string path = OwnCgroupPath(self, "").value_or("");
  std::string base = mount + (path == "/" ? "" : path);
  // Already in the leaf a previous supervisor of this cgroup made: the runs go beside it.
  if (path.size() > 11 && path.compare(path.size() - 11, 11, "/supervisor") == 0) {
    base.resize(base.size() - 11);
  }
  std::string available = V2Controllers(base);
  if (!HasWord(available, "memory") || !HasWord(available, "pids")) {
    return Error(
        ErrorCode::kFailedPrecondition,
        fmt::format("{} lacks the memory and pids controllers (has: '{}')", base,
                    available.empty() ? "none" : available.substr(0, available.find('\n'))));
  }
  CgroupManager manager;
  std::string parent = base;
  // The true root has no cgroup.type; the root of a cgroup namespace (a container) has one and
  // follows the same rules as any other cgroup.
  if (path == "/" && !PathExists(base + "/cgroup.type")) {
    // The root cgroup may hold processes and enable controllers at once.
    parent = NestedParent(mount, "/");
    RETURN_IF_ERROR(EnableControllers(base, available));
    RETURN_IF_ERROR(MakeCgroupDir(parent));  // kept: every supervisor of the host shares it
  } else {
    // No internal processes on v2: Warden moves itself into a leaf before enabling controllers
    // for the runs' cgroups beside it. Other processes in the cgroup (a login shell) are not
    // Warden's to move.
    std::string leaf = base + "/supervisor";
    RETURN_IF_ERROR(MakeCgroupDir(leaf));
    RETURN_IF_ERROR(sys::WriteExistingFile(leaf + "/cgroup.procs", std::to_string(::getpid())));
    ASSIGN_OR_RETURN(std::string others, sys::ReadFile(base + "/cgroup.procs"));
    if (!others.empty()) {
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("{} holds other processes besides Warden, so it cannot hand "
                               "controllers to the runs; start Warden in a cgroup of its own, "
                               "e.g. systemd-run --user --scope -p Delegate=yes warden ...",
                               base));
    }
  }
  RETURN_IF_ERROR(EnableControllers(parent, V2Controllers(parent)));
  SweepStale({parent});
  manager.version_ = CgroupVersion::kV2;
  manager.description_ = fmt::format("cgroup v2 at {}", parent);
  manager.parents_ = {parent};
  return manager;
}

Result<CgroupManager> CgroupManager::DetectV1(const CgroupMounts& mounts, std::string_view self) {
  std::vector<std::string> missing;
  if (mounts.v1_memory.empty()) {
    missing.emplace_back("memory");
  }
  if (mounts.v1_pids.empty()) {
    missing.emplace_back("pids");
  }
  if (mounts.v1_cpuacct.empty()) {
    missing.emplace_back("cpuacct");
  }
  if (!missing.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("no cgroup v1 hierarchy for: {}", fmt::join(missing, ", ")));
  }
  // cpu is optional (only --cpus needs it) and often shares a hierarchy with cpuacct
  // (systemd mounts cpu,cpuacct together): then the quota goes into the cpuacct directory.
  const bool separate_cpu = !mounts.v1_cpu.empty() && mounts.v1_cpu != mounts.v1_cpuacct;
  const std::pair<const char*, std::string> hierarchies[kV1Count] = {
      {"memory", mounts.v1_memory},
      {"pids", mounts.v1_pids},
      {"cpuacct", mounts.v1_cpuacct},
      {"cpu", separate_cpu ? mounts.v1_cpu : ""}};
  CgroupManager manager;
  manager.version_ = CgroupVersion::kV1;
  manager.cpu_with_cpuacct_ = !mounts.v1_cpu.empty() && mounts.v1_cpu == mounts.v1_cpuacct;
  manager.parents_.resize(kV1Count);
  std::vector<std::string> placed;
  std::vector<std::string> at_root;
  for (size_t i = 0; i < kV1Count; ++i) {
    const auto& [controller, mount] = hierarchies[i];
    if (mount.empty()) {
      continue;
    }
    auto [parent, why_not_nested] = ChooseV1Parent(mount, controller, self);
    if (!why_not_nested.empty()) {
      LOG_WARN(
          "cgroup v1 {}: runs go under {}, outside the service's own cgroup, so limits set "
          "on the service do not cover them: {}",
          controller, parent, why_not_nested);
      at_root.push_back(fmt::format("{}: {}", controller, why_not_nested));
    }
    RETURN_IF_ERROR(MakeParent(parent, &manager.created_parents_));
    if (::access(parent.c_str(), W_OK) != 0) {
      return Error::FromErrno(
          fmt::format("cgroup v1 directory {} is not writable by uid {} (run as root, or "
                      "chown the warden directories in each hierarchy to this user)",
                      parent, ::geteuid()),
          errno);
    }
    placed.push_back(fmt::format("{} {}", controller, parent));
    manager.parents_[i] = std::move(parent);
  }
  SweepStale(manager.parents_);
  manager.description_ = fmt::format("cgroup v1, runs under {}", fmt::join(placed, ", "));
  if (!at_root.empty()) {
    manager.description_ +=
        fmt::format(" (not under the service's own cgroup for {})", fmt::join(at_root, "; "));
  }
  return manager;
}

}  // namespace warden::sandbox
