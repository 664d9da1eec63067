// What the spawn benchmark reads from /proc: the process tree below a process, how much memory each
// process costs (PSS splits shared pages fairly between the processes that map them), and which
// cgroup it is in.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace warden::bench {

struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::string comm;          // the command name, as in /proc/PID/comm
  uint64_t cpu_ticks = 0;    // user + system time so far, in clock ticks
  uint64_t start_ticks = 0;  // when it started, in clock ticks after boot: tells reused pids apart
  bool kernel_thread = false;
};

// Every live process, as seen from the caller's PID namespace (/proc/PID/stat).
std::vector<ProcessInfo> ListProcesses();

// The processes of `all` whose chain of parents reaches `root` (`root` itself excluded).
std::vector<ProcessInfo> DescendantsOf(pid_t root, const std::vector<ProcessInfo>& all);

inline std::vector<ProcessInfo> ListDescendants(pid_t root) {
  return DescendantsOf(root, ListProcesses());
}

struct MemoryUsage {
  uint64_t rss_kb = 0;
  uint64_t pss_kb = 0;
  uint64_t page_tables_kb = 0;  // VmPTE: kernel memory, not part of RSS or PSS

  MemoryUsage& operator+=(const MemoryUsage& other);
};

// Reads /proc/PID/smaps_rollup and /proc/PID/status. An error when the process is gone.
Result<MemoryUsage> ReadMemoryUsage(pid_t pid);

// The path of `pid`'s cgroup for `controller` ("memory", "pids"): the cgroup v1 hierarchy that has
// the controller, else the cgroup v2 path. "" when the process is gone or has neither.
std::string ReadCgroupPath(pid_t pid, std::string_view controller);

}  // namespace warden::bench
