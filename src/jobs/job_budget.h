// What one job may still use of its workspace and of stored output, across all its sandbox runs:
// each run gets the smaller of its own limits and what the job has left, so that neither a job of
// many steps nor an agent that acts many times can go past its job's bounds.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sandbox/sandbox.h"

namespace warden::jobs {

// Thread-safe: output is counted on the thread of a run, limits fitted on the worker's.
class JobBudget {
 public:
  JobBudget(std::string workspace, uint64_t disk_bytes, uint64_t output_bytes)
      : workspace_(std::move(workspace)), disk_bytes_(disk_bytes), output_bytes_(output_bytes) {}

  // Lowers the disk and output limits of a run to what the job has left. kResourceExhausted,
  // saying which bound and how to raise it, when nothing is left: the run must not start.
  Status Fit(sandbox::Limits& limits);
  // Output a run produced, as it is stored.
  void CountOutput(size_t bytes) { output_used_ += bytes; }

  // The job's bound that refused a run or ended one ("disk_limit", "output_limit"), or "".
  std::string exhausted() const;
  // True when `outcome` of a run (its sandbox outcome name) came from a limit that Fit lowered to
  // the job's remainder: then the job, not the step, has reached its bound.
  // Called for a run that failed.
  bool EndedByJobBound(std::string_view outcome);

 private:
  // A workspace within this of its limit is full: the last write stopped on a block boundary.
  static constexpr uint64_t kFullSlackBytes = uint64_t{64} * 1024;

  std::string workspace_;
  uint64_t disk_bytes_;
  uint64_t output_bytes_;
  std::atomic<uint64_t> output_used_{0};
  mutable std::mutex mutex_;
  std::string exhausted_;
  bool disk_lowered_ = false;    // the last run's disk limit was the job's remainder
  bool output_lowered_ = false;  // likewise for output
};

}  // namespace warden::jobs
