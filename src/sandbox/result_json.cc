#include "sandbox/result_json.h"

#include "base/result.h"

namespace warden::sandbox {

json::object ResultToJson(const RunResult& r) {
  json::object out{
      {"status", OutcomeName(r.outcome)},
      {"exit_code", r.exit_code},
      {"signal", r.signal},
      {"wall_ms", (r.wall_time.count() + 500) / 1000},
      {"cpu_ms", (r.cpu_time.count() + 500) / 1000},
      {"wall_us", r.wall_time.count()},
      {"cpu_us", r.cpu_time.count()},
      {"peak_memory_bytes", r.peak_memory_bytes},
      {"stdout", r.stdout_data},
      {"stderr", r.stderr_data},
      {"stdout_truncated", r.stdout_truncated},
      {"stderr_truncated", r.stderr_truncated},
      {"message", r.message},
  };
  if (r.outcome == Outcome::kSetupError) {
    out["setup_step"] = r.setup_step;
    out["setup_errno"] = r.setup_errno;
    out["setup_errno_name"] = r.setup_errno != 0 ? ErrnoName(r.setup_errno) : "";
  }
  return out;
}

}  // namespace warden::sandbox
