#include "sandbox/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "sys/fs.h"

namespace warden::sandbox {
namespace {

// Index of each v1 hierarchy in the dirs/parents vectors.
enum V1 : size_t { kMemory = 0, kPids = 1, kCpuacct = 2, kCpu = 3, kV1Count = 4 };

std::vector<std::string> Split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    parts.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Reads "key value" lines (memory.events, cpu.stat, memory.oom_control) and returns `key`'s value.
Result<uint64_t> ReadKeyedValue(const std::string& path, std::string_view key) {
  ASSIGN_OR_RETURN(std::string text, sys::ReadFile(path));
  std::istringstream in(text);
  std::string name;
  uint64_t value = 0;
  while (in >> name >> value) {
    if (name == key) {
      return value;
    }
  }
  return Error(ErrorCode::kNotFound, fmt::format("{}: no '{}'", path, key));
}

Result<uint64_t> ReadNumber(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, sys::ReadFile(path));
  return std::strtoull(text.c_str(), nullptr, 10);
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError("mkdir(" + path + ")");
  }
  return OkStatus();
}

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

std::string V2Controllers(const std::string& dir) {
  auto text = sys::ReadFile(dir + "/cgroup.controllers");
  return text.ok() ? *text : "";
}

bool HasWord(std::string_view text, std::string_view word) {
  for (const std::string& w : Split(text, ' ')) {
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

}  // namespace

CgroupMounts ParseCgroupMounts(std::string_view mountinfo) {
  CgroupMounts mounts;
  for (const std::string& line : Split(mountinfo, '\n')) {
    // "36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory"
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) {
      continue;
    }
    std::vector<std::string> left = Split(std::string_view(line).substr(0, dash), ' ');
    std::vector<std::string> right = Split(std::string_view(line).substr(dash + 3), ' ');
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
      for (const std::string& option : Split(right[2], ',')) {
        if (option == "memory")
          mounts.v1_memory = mount_point;
        if (option == "pids")
          mounts.v1_pids = mount_point;
        if (option == "cpuacct")
          mounts.v1_cpuacct = mount_point;
        if (option == "cpu")
          mounts.v1_cpu = mount_point;
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
      counter_(other.counter_.load()) {}

namespace {

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
      ::rmdir((parent + "/" + name).c_str());  // fails harmlessly if processes remain
    }
  }
}

}  // namespace

Result<CgroupManager> CgroupManager::Detect() {
  ASSIGN_OR_RETURN(CgroupMounts mounts, FindCgroupMounts());
  std::string v2_problem;
  if (!mounts.v2.empty()) {
    auto self = sys::ReadFile("/proc/self/cgroup");
    auto v2 = self.ok() ? DetectV2(mounts.v2, *self) : Result<CgroupManager>(self.error());
    if (v2.ok()) {
      return v2;
    }
    v2_problem = v2.error().message();
  }
  auto v1 = DetectV1(mounts);
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

namespace {

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

}  // namespace

Result<CgroupManager> CgroupManager::DetectV2(const std::string& mount, std::string_view self) {
  std::string path;
  for (const std::string& line : Split(self, '\n')) {
    if (line.rfind("0::", 0) == 0) {
      path = line.substr(3);
    }
  }
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
  std::string parent = base;
  // The true root has no cgroup.type; the root of a cgroup namespace (a container) has one and
  // follows the same rules as any other cgroup.
  if (path == "/" && !Exists(base + "/cgroup.type")) {
    // The root cgroup may hold processes and enable controllers at once.
    parent = base + "/warden";
    RETURN_IF_ERROR(EnableControllers(base, available));
    RETURN_IF_ERROR(MakeDir(parent));
  } else {
    // No internal processes on v2: Warden moves itself into a leaf before enabling controllers
    // for the runs' cgroups beside it. Other processes in the cgroup (a login shell) are not
    // Warden's to move.
    std::string leaf = base + "/supervisor";
    RETURN_IF_ERROR(MakeDir(leaf));
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
  CgroupManager manager;
  manager.version_ = CgroupVersion::kV2;
  manager.description_ = fmt::format("cgroup v2 at {}", parent);
  manager.parents_ = {parent};
  return manager;
}

Result<CgroupManager> CgroupManager::DetectV1(const CgroupMounts& mounts) {
  std::vector<std::string> missing;
  if (mounts.v1_memory.empty())
    missing.emplace_back("memory");
  if (mounts.v1_pids.empty())
    missing.emplace_back("pids");
  if (mounts.v1_cpuacct.empty())
    missing.emplace_back("cpuacct");
  if (!missing.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("no cgroup v1 hierarchy for: {}", fmt::join(missing, ", ")));
  }
  CgroupManager manager;
  manager.version_ = CgroupVersion::kV1;
  manager.parents_.resize(kV1Count);
  manager.parents_[kMemory] = mounts.v1_memory + "/warden";
  manager.parents_[kPids] = mounts.v1_pids + "/warden";
  manager.parents_[kCpuacct] = mounts.v1_cpuacct + "/warden";
  // cpu is optional (only --cpus needs it) and often shares a hierarchy with cpuacct
  // (systemd mounts cpu,cpuacct together): then the quota goes into the cpuacct directory.
  if (!mounts.v1_cpu.empty() && mounts.v1_cpu != mounts.v1_cpuacct) {
    manager.parents_[kCpu] = mounts.v1_cpu + "/warden";
  }
  manager.cpu_with_cpuacct_ = !mounts.v1_cpu.empty() && mounts.v1_cpu == mounts.v1_cpuacct;
  for (const std::string& parent : manager.parents_) {
    if (parent.empty()) {
      continue;
    }
    RETURN_IF_ERROR(MakeDir(parent));
    if (::access(parent.c_str(), W_OK) != 0) {
      return Error::FromErrno(
          fmt::format("cgroup v1 directory {} is not writable by uid {} (run as root, or "
                      "chown the warden directories in each hierarchy to this user)",
                      parent, ::geteuid()),
          errno);
    }
  }
  SweepStale(manager.parents_);
  manager.description_ =
      fmt::format("cgroup v1 (memory, pids, cpuacct{}) under {}",
                  manager.parents_[kCpu].empty() ? "" : ", cpu", manager.parents_[kMemory]);
  return manager;
}

Result<Cgroup> CgroupManager::Create(const CgroupLimits& limits, bool with_cpu) {
  std::string name =
      fmt::format("run-{}-{}", ::getpid(), counter_.fetch_add(1, std::memory_order_relaxed));
  if (version_ == CgroupVersion::kV2) {
    std::string dir = parents_[0] + "/" + name;
    RETURN_IF_ERROR(MakeDir(dir));
    Cgroup cgroup(CgroupVersion::kV2, {dir}, UniqueFd());
    cgroup.dir_fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup.dir_fd_) {
      return ErrnoError("open(" + dir + ")");
    }
    // An OOM kill takes the whole run down, not one random process of it.
    (void)sys::WriteExistingFile(dir + "/memory.oom.group", "1");
    if (Exists(dir + "/memory.swap.max")) {
      RETURN_IF_ERROR(sys::WriteExistingFile(dir + "/memory.swap.max", "0"));
    }
    RETURN_IF_ERROR(cgroup.SetLimits(limits));
    return cgroup;
  }
  if (version_ != CgroupVersion::kV1) {
    return Error(ErrorCode::kFailedPrecondition, "no cgroup hierarchy");
  }
  std::vector<std::string> dirs(kV1Count);
  for (size_t i = 0; i < kV1Count; ++i) {
    // The cpu hierarchy only for a CPU cap (or a warm cgroup, whose run is not known yet).
    if (!parents_[i].empty() && (i != kCpu || with_cpu)) {
      dirs[i] = parents_[i] + "/" + name;
    }
  }
  // Construct first, so that a failure below removes what was created.
  Cgroup cgroup(CgroupVersion::kV1, dirs, UniqueFd());
  for (const std::string& dir : dirs) {
    if (!dir.empty()) {
      RETURN_IF_ERROR(MakeDir(dir));
    }
  }
  cgroup.has_memsw_ = Exists(dirs[kMemory] + "/memory.memsw.limit_in_bytes");
  cgroup.cpu_with_cpuacct_ = cpu_with_cpuacct_;
  RETURN_IF_ERROR(cgroup.SetLimits(limits));
  return cgroup;
}

Status Cgroup::SetLimits(const CgroupLimits& limits) {
  if (version_ == CgroupVersion::kV2) {
    const std::string& dir = dirs_[0];
    RETURN_IF_ERROR(sys::WriteExistingFile(
        dir + "/memory.max",
        limits.memory_bytes > 0 ? std::to_string(limits.memory_bytes) : std::string("max")));
    RETURN_IF_ERROR(sys::WriteExistingFile(dir + "/pids.max", limits.max_pids > 0
                                                                  ? std::to_string(limits.max_pids)
                                                                  : std::string("max")));
    if (Exists(dir + "/cpu.max")) {
      auto quota = static_cast<uint64_t>(std::ceil(limits.cpus * 100'000));
      RETURN_IF_ERROR(sys::WriteExistingFile(
          dir + "/cpu.max", limits.cpus > 0 ? fmt::format("{} 100000", quota) : "max 100000"));
    }
    return OkStatus();
  }
  // v1: -1 means no limit.
  std::string memory = limits.memory_bytes > 0 ? std::to_string(limits.memory_bytes) : "-1";
  if (has_memsw_) {
    // memsw must stay >= the memory limit: lower memory first when shrinking, memsw first when
    // growing (a warm cgroup starts unlimited, so only growing happens on the first set).
    (void)sys::WriteExistingFile(dirs_[kMemory] + "/memory.limit_in_bytes", memory);
    RETURN_IF_ERROR(
        sys::WriteExistingFile(dirs_[kMemory] + "/memory.memsw.limit_in_bytes", memory));
  }
  RETURN_IF_ERROR(sys::WriteExistingFile(dirs_[kMemory] + "/memory.limit_in_bytes", memory));
  RETURN_IF_ERROR(sys::WriteExistingFile(
      dirs_[kPids] + "/pids.max",
      limits.max_pids > 0 ? std::to_string(limits.max_pids) : std::string("max")));
  const std::string& cpu_dir = cpu_with_cpuacct_ ? dirs_[kCpuacct] : dirs_[kCpu];
  if (limits.cpus > 0 && cpu_dir.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 "--cpus needs the cpu cgroup controller, which this host does not offer");
  }
  if (!cpu_dir.empty()) {
    RETURN_IF_ERROR(sys::WriteExistingFile(cpu_dir + "/cpu.cfs_period_us", "100000"));
    std::string quota =
        limits.cpus > 0 ? std::to_string(static_cast<uint64_t>(std::ceil(limits.cpus * 100'000)))
                        : "-1";
    RETURN_IF_ERROR(sys::WriteExistingFile(cpu_dir + "/cpu.cfs_quota_us", quota));
  }
  return OkStatus();
}

Cgroup::Cgroup(CgroupVersion version, std::vector<std::string> dirs, UniqueFd dir_fd)
    : version_(version), dirs_(std::move(dirs)), dir_fd_(std::move(dir_fd)) {}

Cgroup::Cgroup(Cgroup&& other) noexcept
    : version_(other.version_),
      has_memsw_(other.has_memsw_),
      cpu_with_cpuacct_(other.cpu_with_cpuacct_),
      sampled_peak_(other.sampled_peak_),
      dirs_(std::move(other.dirs_)),
      dir_fd_(std::move(other.dir_fd_)) {
  other.dirs_.clear();
}

Cgroup::~Cgroup() {
  if (!dirs_.empty()) {
    KillAll();
    (void)Remove();
  }
}

Status Cgroup::Attach(pid_t pid) {
  std::string text = std::to_string(pid);
  for (const std::string& dir : dirs_) {
    if (!dir.empty()) {
      RETURN_IF_ERROR(sys::WriteExistingFile(dir + "/cgroup.procs", text));
    }
  }
  return OkStatus();
}

Result<uint64_t> Cgroup::CpuUsageMicros() const {
  if (version_ == CgroupVersion::kV2) {
    return ReadKeyedValue(dirs_[0] + "/cpu.stat", "usage_usec");
  }
  ASSIGN_OR_RETURN(uint64_t nanos, ReadNumber(dirs_[kCpuacct] + "/cpuacct.usage"));
  return nanos / 1000;
}

void Cgroup::SampleMemory() {
  if (version_ == CgroupVersion::kV2 && !Exists(dirs_[0] + "/memory.peak")) {
    if (auto current = ReadNumber(dirs_[0] + "/memory.current"); current.ok()) {
      sampled_peak_ = std::max(sampled_peak_, *current);
    }
  }
}

Result<uint64_t> Cgroup::PeakMemoryBytes() const {
  if (version_ == CgroupVersion::kV2) {
    auto peak = ReadNumber(dirs_[0] + "/memory.peak");  // Linux 5.19+
    return peak.ok() ? *peak : sampled_peak_;
  }
  return ReadNumber(dirs_[kMemory] + "/memory.max_usage_in_bytes");
}

Result<uint64_t> Cgroup::OomKills() const {
  if (version_ == CgroupVersion::kV2) {
    return ReadKeyedValue(dirs_[0] + "/memory.events", "oom_kill");
  }
  return ReadKeyedValue(dirs_[kMemory] + "/memory.oom_control", "oom_kill");
}

bool Cgroup::SignalListed() {
  const std::string& dir = version_ == CgroupVersion::kV2 ? dirs_[0] : dirs_[kPids];
  if (dir.empty()) {
    return false;
  }
  auto procs = sys::ReadFile(dir + "/cgroup.procs");
  if (!procs.ok() || procs->empty()) {
    return false;
  }
  for (const std::string& pid : Split(*procs, '\n')) {
    if (!pid.empty()) {
      ::kill(static_cast<pid_t>(std::strtol(pid.c_str(), nullptr, 10)), SIGKILL);
    }
  }
  return true;
}

void Cgroup::KillListed() {
  if (version_ == CgroupVersion::kV2 &&
      sys::WriteExistingFile(dirs_[0] + "/cgroup.kill", "1").ok()) {
    return;
  }
  (void)SignalListed();
}

void Cgroup::KillAll() {
  if (version_ == CgroupVersion::kV2 &&
      sys::WriteExistingFile(dirs_[0] + "/cgroup.kill", "1").ok()) {
    return;
  }
  // Without cgroup.kill: signal every listed process until the list stays empty, so that
  // processes forked while we read the list are caught on the next pass.
  for (int pass = 0; pass < 100 && SignalListed(); ++pass) {
    ::usleep(1000);
  }
}

CgroupReaper::CgroupReaper()
    : thread_([this](const std::stop_token& stop) {
        std::unique_lock lock(mutex_);
        for (;;) {
          wake_.wait(lock, stop, [&] { return !queue_.empty(); });
          if (queue_.empty()) {
            return;  // stopping, and nothing left
          }
          Cgroup cgroup = std::move(queue_.front());
          queue_.pop_front();
          lock.unlock();
          { Cgroup removed = std::move(cgroup); }  // its destructor removes it
          lock.lock();
        }
      }) {}

CgroupReaper::~CgroupReaper() {
  thread_.request_stop();
  thread_.join();
  std::lock_guard lock(mutex_);
  queue_.clear();  // what the thread did not get to: removed here
}

void CgroupReaper::Dispose(Cgroup cgroup) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(cgroup));
  }
  wake_.notify_one();
}

Status Cgroup::Remove() {
  Status result = OkStatus();
  for (const std::string& dir : dirs_) {
    if (dir.empty()) {
      continue;
    }
    // rmdir fails with EBUSY while killed processes are still exiting; that takes microseconds.
    int rc = -1;
    for (int attempt = 0; attempt < 200; ++attempt) {
      rc = ::rmdir(dir.c_str());
      if (rc == 0 || errno != EBUSY) {
        break;
      }
      ::usleep(500);
    }
    if (rc != 0 && errno != ENOENT && result.ok()) {
      result = ErrnoError("rmdir(" + dir + ")");
    }
  }
  dirs_.clear();
  return result;
}

}  // namespace warden::sandbox
