// Cgroups of sandbox runs, on cgroup v2 (unified) or v1 (one hierarchy per controller): limits on
// memory, processes and CPU, accounting (CPU time, peak memory, OOM kills), and killing a run.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace warden::sandbox {

enum class CgroupVersion { kNone, kV1, kV2 };

struct CgroupLimits {
  uint64_t memory_bytes = 0;  // 0: none
  uint32_t max_pids = 0;      // 0: none
  double cpus = 0;            // CPU bandwidth in cores; 0: none
};

// Which of the cgroup files that older kernels lack a run's cgroup has, and so which way a run
// is killed and measured (see Cgroup::Mechanisms()).
struct CgroupFeatures {
  bool kill_file = false;  // v2 cgroup.kill (Linux 5.14+); without: SIGKILL to each listed process
  bool peak_file = false;  // v2 memory.peak (Linux 5.19+); without: memory.current, sampled
};

// One run's cgroup (v2: one directory; v1: one directory in each used hierarchy). Owns the
// directories: the destructor kills every process left in them and removes them.
// Not thread-safe; used by the thread that runs the sandbox.
class Cgroup {
 public:
  Cgroup(Cgroup&& other) noexcept;
  Cgroup& operator=(Cgroup&&) = delete;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup();

  CgroupVersion version() const { return version_; }
  // v2: a descriptor of the directory, for clone3(CLONE_INTO_CGROUP). -1 on v1.
  int dir_fd() const { return dir_fd_.get(); }

  CgroupFeatures features() const { return features_; }
  // Narrows the files the cgroup uses to those also in `features`, as on a kernel that lacks the
  // others: how the fallbacks are tested on kernels that have every file.
  void NarrowFeatures(CgroupFeatures features) {
    features_.kill_file = features_.kill_file && features.kill_file;
    features_.peak_file = features_.peak_file && features.peak_file;
  }
  // One line for `warden doctor`: how a run is started in the cgroup, killed, and how its peak
  // memory is measured on this kernel ("start: clone3 into the cgroup; kill: cgroup.kill; ...").
  std::string Mechanisms() const;

  // Sets (or replaces) the limits. Zero fields mean "no limit".
  Status SetLimits(const CgroupLimits& limits);
  // Moves `pid` into the cgroup (every hierarchy on v1). Not needed after CLONE_INTO_CGROUP.
  Status Attach(pid_t pid);
  // CPU time used by every process that ever ran in the cgroup, in microseconds.
  Result<uint64_t> CpuUsageMicros() const;
  // Without memory.peak (cgroup v2 before Linux 5.19), records memory.current now and then, so
  // that PeakMemoryBytes() has something better than the value after the run.
  void SampleMemory();
  // Highest memory use (bytes) since creation.
  Result<uint64_t> PeakMemoryBytes() const;
  // How many processes the out-of-memory killer has killed in the cgroup.
  Result<uint64_t> OomKills() const;
  // Kills every process in the cgroup (SIGKILL), including ones forking meanwhile.
  void KillAll();
  // One pass of SIGKILL over the cgroup's processes, without waiting for them to go: stops a
  // fast writer at once rather than when the namespace's teardown reaches it.
  void KillListed();

 private:
  friend class CgroupManager;
  Cgroup(CgroupVersion version, std::vector<std::string> dirs, UniqueFd dir_fd);
  Status Remove();
  bool SignalListed();  // false when there was nothing to signal

  CgroupVersion version_;
  bool has_memsw_ = false;         // v1 with swap accounting
  bool cpu_with_cpuacct_ = false;  // v1 with cpu and cpuacct in one hierarchy
  CgroupFeatures features_;        // v2: probed once, when created
  uint64_t sampled_peak_ = 0;
  // v2: {dir}. v1: {memory, pids, cpuacct[, cpu]} directories, in that order; "" if unused.
  std::vector<std::string> dirs_;
  UniqueFd dir_fd_;
};

// Finds the cgroup hierarchy the supervisor may use and creates runs' cgroups under it.
// Thread-safe.
class CgroupManager {
 public:
  // Detects v2 (with the memory and pids controllers available) or v1 (memory, pids and cpuacct
  // hierarchies), and prepares Warden's parent cgroup ("warden" on v1; on v2 a subtree of the
  // supervisor's own cgroup). Fails with what is missing.
  static Result<CgroupManager> Detect();
  CgroupManager(CgroupManager&& other) noexcept;
  CgroupManager& operator=(CgroupManager&&) = delete;
  // Removes the v1 parent directories it created, when no run is left in them.
  ~CgroupManager();

  CgroupVersion version() const { return version_; }
  const std::string& description() const { return description_; }

  // `with_cpu`: also in the cpu hierarchy (v1), so that a CPU cap can be set later.
  Result<Cgroup> Create(const CgroupLimits& limits, bool with_cpu = false);

  // The cgroup v2 half of Detect(), on a hierarchy mounted at `mount`, for a process whose
  // /proc/self/cgroup reads `self` (public for tests, which hand it a directory tree of files).
  static Result<CgroupManager> DetectV2(const std::string& mount, std::string_view self);
  // The cgroup v1 half: runs go in "warden" under this process's own cgroup of each hierarchy
  // (read from `self`), so that limits an operator puts on the service cover its runs; where
  // that cgroup is not writable, under the hierarchy's root, with the reason in description().
  static Result<CgroupManager> DetectV1(const struct CgroupMounts& mounts, std::string_view self);

 private:
  CgroupManager() = default;
  // mkdir of a run's directory in v1 hierarchy `index`, making its parent again when another
  // supervisor that shared it removed it on exit.
  Status MakeRunDir(size_t index, const std::string& dir);

  CgroupVersion version_ = CgroupVersion::kNone;
  bool cpu_with_cpuacct_ = false;
  std::string description_;
  // v2: {parent}. v1: parents in {memory, pids, cpuacct, cpu}; cpu may be "".
  std::vector<std::string> parents_;
  // v1 parents this manager made (Detect, or again in Create after another supervisor removed
  // them): removed by the destructor when empty.
  std::mutex created_mutex_;
  std::vector<std::string> created_parents_;  // guarded by created_mutex_
  std::atomic<uint64_t> counter_{0};
};

// Removes the cgroups of finished runs on a thread of its own: on cgroup v1 a memory cgroup can
// refuse rmdir (EBUSY) for milliseconds after its last process was reaped, which a run's caller
// should not wait for. The destructor removes whatever is still queued. Thread-safe.
class CgroupReaper {
 public:
  CgroupReaper();
  ~CgroupReaper();
  CgroupReaper(const CgroupReaper&) = delete;
  CgroupReaper& operator=(const CgroupReaper&) = delete;

  // Takes a cgroup whose processes are all gone.
  void Dispose(Cgroup cgroup);

 private:
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::deque<Cgroup> queue_;  // guarded by mutex_
  std::jthread thread_;       // last: started after the members above
};

// Where the cgroup file systems are mounted, from /proc/self/mountinfo.
struct CgroupMounts {
  std::string v2;                    // the cgroup2 mount point, "" if none
  std::vector<std::string> v1_dirs;  // mount points of v1 hierarchies
  std::string v1_memory, v1_pids, v1_cpuacct, v1_cpu;
};
Result<CgroupMounts> FindCgroupMounts();
// Parses mountinfo text (exposed for tests).
CgroupMounts ParseCgroupMounts(std::string_view mountinfo);

// This process's cgroup in the v1 hierarchy of `controller` ("memory"), or in the v2 hierarchy
// when `controller` is "", from the text of /proc/self/cgroup ("4:memory:/system.slice/x"):
// "/system.slice/x". Nothing when no line names it.
std::optional<std::string> OwnCgroupPath(std::string_view self, std::string_view controller);
// Where the runs' cgroups go in a hierarchy mounted at `mount` for a process whose own cgroup
// there is `own`: "<mount><own>/warden" (or "<mount>/warden" for the root cgroup).
std::string NestedParent(const std::string& mount, const std::string& own);

}  // namespace warden::sandbox
