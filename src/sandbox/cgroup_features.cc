// What a run's cgroup can do on this kernel, in words for `warden doctor`: the kernels Warden
// runs on differ in the cgroup files they offer (cgroup v1 or v2; on v2, Linux 5.14 added
// cgroup.kill and 5.19 memory.peak), and each lack has its own fallback.
#include <fmt/format.h>

#include "sandbox/cgroup.h"

namespace warden::sandbox {

std::string Cgroup::Mechanisms() const {
  if (version_ == CgroupVersion::kV1) {
    return "start: moved into the cgroups after clone; kill: SIGKILL to every listed process "
           "until none is left; peak memory: memory.max_usage_in_bytes";
  }
  if (version_ != CgroupVersion::kV2) {
    return "no cgroup";
  }
  return fmt::format(
      "start: clone3 into the cgroup (CLONE_INTO_CGROUP); kill: {}; peak memory: {}",
      features_.kill_file ? "cgroup.kill"
                          : "SIGKILL to every listed process until none is left (this kernel "
                            "has no cgroup.kill, Linux 5.14+)",
      features_.peak_file ? "memory.peak"
                          : "memory.current sampled while the run lasts (this kernel has no "
                            "memory.peak, Linux 5.19+)");
}

}  // namespace warden::sandbox
