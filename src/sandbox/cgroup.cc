#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sandbox/cgroup_files.h"
#include "sys/fs.h"

namespace warden::sandbox {

std::vector<std::string> SplitCgroupText(std::string_view text, char sep) {
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

Status MakeCgroupDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError("mkdir(" + path + ")");
  }
  return OkStatus();
}

bool PathExists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

namespace {

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

}  // namespace

Status CgroupManager::MakeRunDir(size_t index, const std::string& dir) {
  Status made = MakeCgroupDir(dir);
  if (made.ok() || made.error().sys_errno() != ENOENT) {
    return made;
  }
  const std::string& parent = parents_[index];
  if (::mkdir(parent.c_str(), 0755) == 0) {
    std::lock_guard lock(created_mutex_);
    created_parents_.push_back(parent);
  } else if (errno != EEXIST) {
    return ErrnoError("mkdir(" + parent + ")");
  }
  return MakeCgroupDir(dir);
}

Result<Cgroup> CgroupManager::Create(const CgroupLimits& limits, bool with_cpu) {
  std::string name =
      fmt::format("run-{}-{}", ::getpid(), counter_.fetch_add(1, std::memory_order_relaxed));
  if (version_ == CgroupVersion::kV2) {
    std::string dir = parents_[0] + "/" + name;
    RETURN_IF_ERROR(MakeCgroupDir(dir));
    Cgroup cgroup(CgroupVersion::kV2, {dir}, UniqueFd());
    cgroup.dir_fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup.dir_fd_) {
      return ErrnoError("open(" + dir + ")");
    }
    cgroup.features_.kill_file = PathExists(dir + "/cgroup.kill");
    cgroup.features_.peak_file = PathExists(dir + "/memory.peak");
    // An OOM kill takes the whole run down, not one random process of it.
    (void)sys::WriteExistingFile(dir + "/memory.oom.group", "1");
    if (PathExists(dir + "/memory.swap.max")) {
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
  for (size_t i = 0; i < kV1Count; ++i) {
    if (!dirs[i].empty()) {
      RETURN_IF_ERROR(MakeRunDir(i, dirs[i]));
    }
  }
  cgroup.has_memsw_ = PathExists(dirs[kMemory] + "/memory.memsw.limit_in_bytes");
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
    if (PathExists(dir + "/cpu.max")) {
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
      features_(other.features_),
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
  if (version_ == CgroupVersion::kV2 && !features_.peak_file) {
    if (auto current = ReadNumber(dirs_[0] + "/memory.current"); current.ok()) {
      sampled_peak_ = std::max(sampled_peak_, *current);
    }
  }
}

Result<uint64_t> Cgroup::PeakMemoryBytes() const {
  if (version_ == CgroupVersion::kV2) {
    if (!features_.peak_file) {
      return sampled_peak_;  // Linux before 5.19: the highest memory.current the monitor saw
    }
    return ReadNumber(dirs_[0] + "/memory.peak");
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
  for (const std::string& pid : SplitCgroupText(*procs, '\n')) {
    if (!pid.empty()) {
      ::kill(static_cast<pid_t>(std::strtol(pid.c_str(), nullptr, 10)), SIGKILL);
    }
  }
  return true;
}

void Cgroup::KillListed() {
  if (version_ == CgroupVersion::kV2 && features_.kill_file &&
      sys::WriteExistingFile(dirs_[0] + "/cgroup.kill", "1").ok()) {
    return;
  }
  (void)SignalListed();
}

void Cgroup::KillAll() {
  if (version_ == CgroupVersion::kV2 && features_.kill_file &&
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
