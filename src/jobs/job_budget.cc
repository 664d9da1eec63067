#include "jobs/job_budget.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/units.h"
#include "sys/fs.h"

namespace warden::jobs {

Status JobBudget::Fit(sandbox::Limits& limits) {
  uint64_t disk_used = 0;
  if (!workspace_.empty()) {
    ASSIGN_OR_RETURN(disk_used, sys::DiskUsage(workspace_));
  }
  uint64_t output_used = output_used_;
  std::lock_guard lock(mutex_);
  if (disk_used >= disk_bytes_) {
    exhausted_ = "disk_limit";
    return Error(ErrorCode::kResourceExhausted,
                 fmt::format("the job's workspace holds {}, all of its disk limit ({}); remove "
                             "files, or submit the job with a larger options.disk_limit",
                             FormatBytes(disk_used), FormatBytes(disk_bytes_)));
  }
  if (output_used >= output_bytes_) {
    exhausted_ = "output_limit";
    return Error(ErrorCode::kResourceExhausted,
                 fmt::format("the job has printed {}, all of its output limit ({}); submit the "
                             "job with a larger options.output_limit, or print less",
                             FormatBytes(output_used), FormatBytes(output_bytes_)));
  }
  uint64_t disk_left = disk_bytes_ - disk_used;
  uint64_t output_left = output_bytes_ - output_used;
  disk_lowered_ = limits.disk_bytes == 0 || disk_left < limits.disk_bytes;
  output_lowered_ = limits.output_bytes == 0 || output_left < limits.output_bytes;
  limits.disk_bytes = disk_lowered_ ? disk_left : limits.disk_bytes;
  limits.output_bytes = output_lowered_ ? output_left : limits.output_bytes;
  return OkStatus();
}

bool JobBudget::EndedByJobBound(std::string_view outcome) {
  std::lock_guard lock(mutex_);
  if ((outcome == "disk_limit" && disk_lowered_) ||
      (outcome == "output_limit" && output_lowered_)) {
    exhausted_ = std::string(outcome);
    return true;
  }
  // A write past the disk limit may also end in SIGXFSZ (the file size rlimit is the run's disk
  // limit), which the program reports as it likes (a shell exits 153): the workspace tells.
  if ((outcome == "exited" || outcome == "signaled") && disk_lowered_ && !workspace_.empty()) {
    auto used = sys::DiskUsage(workspace_);
    if (used.ok() && *used + kFullSlackBytes >= disk_bytes_) {
      exhausted_ = "disk_limit";
      return true;
    }
  }
  return false;
}

std::string JobBudget::exhausted() const {
  std::lock_guard lock(mutex_);
  return exhausted_;
}

}  // namespace warden::jobs
