// Plain file operations on cgroup directories, shared by cgroup.cc (a run's cgroup) and
// cgroup_detect.cc (finding the hierarchy). Internal to sandbox/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace warden::sandbox {

// Index of each v1 hierarchy in the dirs/parents vectors of Cgroup and CgroupManager.
enum CgroupV1Index : size_t { kMemory = 0, kPids = 1, kCpuacct = 2, kCpu = 3, kV1Count = 4 };

std::vector<std::string> SplitCgroupText(std::string_view text, char sep);
// mkdir(path, 0755); an existing directory is fine.
Status MakeCgroupDir(const std::string& path);
bool PathExists(const std::string& path);

}  // namespace warden::sandbox
