// A run's result as JSON: what `warden exec --json` prints and `POST /v1/exec` answers.
#pragma once

#include "base/json.h"
#include "sandbox/sandbox.h"

namespace warden::sandbox {

// {"status", "exit_code", "signal", "wall_ms", "cpu_ms", "wall_us", "cpu_us",
//  "peak_memory_bytes", "stdout", "stderr", "stdout_truncated", "stderr_truncated", "message"},
// and for a setup error "setup_step", "setup_errno", "setup_errno_name". Output that is not valid
// UTF-8 is shown with U+FFFD in "stdout"/"stderr", its exact bytes in "stdout_base64"/
// "stderr_base64" (RFC 4648).
json::object ResultToJson(const RunResult& result);

}  // namespace warden::sandbox
