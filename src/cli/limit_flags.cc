#include "cli/limit_flags.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "jobs/limits.h"

namespace warden::cli {

Status SetLimitsFromFlags(const LimitFlags& flags, sandbox::Limits* limits) {
  // The operator's own command: no ceilings, but never a zero that would mean "no limit".
  sandbox::Limits no_ceiling;
  no_ceiling.wall_time = no_ceiling.cpu_time = std::chrono::milliseconds(0);
  no_ceiling.memory_bytes = no_ceiling.output_bytes = no_ceiling.disk_bytes = 0;
  const std::pair<jobs::RunLimit, const std::string*> texts[] = {
      {jobs::RunLimit::kMemory, &flags.memory},
      {jobs::RunLimit::kTimeout, &flags.timeout},
      {jobs::RunLimit::kCpuTime, &flags.cpu_time},
      {jobs::RunLimit::kOutput, &flags.output_limit},
      {jobs::RunLimit::kDisk, &flags.disk_limit}};
  for (const auto& [limit, text] : texts) {
    std::string flag = "--" + std::string(jobs::RunLimitName(limit));  // --cpu-time, ...
    std::replace(flag.begin(), flag.end(), '_', '-');
    RETURN_IF_ERROR(jobs::SetRunLimit(*limits, limit, *text, no_ceiling, flag));
  }
  return OkStatus();
}

}  // namespace warden::cli
