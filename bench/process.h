// External commands for the spawn benchmark: posix_spawn and waitpid and nothing more, so the
// "bare" row costs only what the kernel and the dynamic loader cost.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace warden::bench {

// The environment every external command gets, the same for every runner: PATH, HOME and LANG.
const std::vector<std::string>& CommandEnvironment();

// Runs `argv` (argv[0] an absolute path) with stdin, stdout and stderr on /dev/null and waits for
// it. Returns the wait status; an error only when posix_spawn itself fails. Thread-safe.
Result<int> RunQuietly(const std::vector<std::string>& argv);

struct CapturedRun {
  int wait_status = 0;
  std::string output;  // stdout and stderr, interleaved
};

// Like RunQuietly(), but collects what the command writes.
Result<CapturedRun> RunCapturing(const std::vector<std::string>& argv);

// "" for a wait status of a clean exit 0, else "exit status 3" or "killed by signal 9".
std::string DescribeFailure(int wait_status);

// The first executable `name` in $PATH, or "" when there is none.
std::string FindOnPath(std::string_view name);

// The command as a shell would show it, for the report.
std::string JoinArgs(const std::vector<std::string>& argv);

}  // namespace warden::bench
