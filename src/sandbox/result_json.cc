#include "sandbox/result_json.h"

#include "base/base64.h"
#include "base/result.h"
#include "base/utf8.h"

namespace warden::sandbox {
namespace {

// `name` holds the output as UTF-8; where it is not, U+FFFD stands for the bytes that are not, and
// `name`_base64 holds them all exactly.
void AddOutput(json::object& out, std::string_view name, const std::string& bytes) {
  if (IsValidUtf8(bytes)) {
    out[name] = bytes;
    return;
  }
  out[name] = ToValidUtf8(bytes);
  out[std::string(name) + "_base64"] = Base64Encode(bytes);
}

}  // namespace

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
      {"stdout_truncated", r.stdout_truncated},
      {"stderr_truncated", r.stderr_truncated},
      {"message", r.message},
  };
  AddOutput(out, "stdout", r.stdout_data);
  AddOutput(out, "stderr", r.stderr_data);
  if (r.outcome == Outcome::kSetupError) {
    out["setup_step"] = r.setup_step;
    out["setup_errno"] = r.setup_errno;
    out["setup_errno_name"] = r.setup_errno != 0 ? ErrnoName(r.setup_errno) : "";
  }
  return out;
}

}  // namespace warden::sandbox
