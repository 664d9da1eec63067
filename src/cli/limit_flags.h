// The run-limit flags that `warden exec` and `warden mcp` share (--memory, --timeout, --cpu-time,
// --output-limit, --disk-limit): read with the operator's rules, no ceiling but never 0.
#pragma once

#include <string>

#include "base/result.h"
#include "sandbox/sandbox.h"

namespace warden::cli {

struct LimitFlags {
  const std::string& memory;
  const std::string& timeout;
  const std::string& cpu_time;
  const std::string& output_limit;
  const std::string& disk_limit;
};

// Sets the five limits of `limits` from the flags' texts; an error names the flag and the range.
Status SetLimitsFromFlags(const LimitFlags& flags, sandbox::Limits* limits);

}  // namespace warden::cli
