// The limits a client may ask of a sandbox run, parsed by one function for every way in: job
// options, POST /v1/exec and `warden exec`. A limit a client sends is never "unlimited": zero,
// negative, unparsable and over-ceiling values are refused naming the option and its range. Only
// the operator's configuration (a ceiling of 0) lifts a ceiling.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/config.h"
#include "base/result.h"
#include "sandbox/sandbox.h"

namespace warden::jobs {

// The run limits a client may name, by the name it uses.
enum class RunLimit { kTimeout, kCpuTime, kMemory, kOutput, kDisk };

// "timeout", "cpu_time", "memory", "output_limit", "disk_limit".
std::string_view RunLimitName(RunLimit limit);
std::optional<RunLimit> ParseRunLimitName(std::string_view name);
// Every name, for error messages: "timeout, cpu_time, memory, output_limit or disk_limit".
std::string_view RunLimitNames();

// The smallest value a client may ask for each limit: below it a run cannot do anything useful
// (and a 0 would mean "no limit" inside the sandbox).
inline constexpr std::chrono::milliseconds kMinRunTime{100};
inline constexpr uint64_t kMinMemoryBytes = 4ULL << 20;
inline constexpr uint64_t kMinOutputBytes = 1024;
inline constexpr uint64_t kMinDiskBytes = 1ULL << 20;

// A duration a client asked for, checked against [floor, ceiling]; a ceiling of 0 has no top.
// `name` is how the client spelled the option ("limits.timeout", "options.action_timeout"), so
// that the error names it: `options.timeout must be from 1s to 30m, not "0"`.
Result<std::chrono::milliseconds> ParseDurationIn(std::string_view name, std::string_view text,
                                                  std::chrono::milliseconds floor,
                                                  std::chrono::milliseconds ceiling);
// The same for a size ("256M").
Result<uint64_t> ParseBytesIn(std::string_view name, std::string_view text, uint64_t floor,
                              uint64_t ceiling);

// Sets one limit of `limits` from a client's text. `ceiling` holds the most each field may be
// (0: no ceiling, set by the operator only). `name` is the limit as the client spelled it, for
// errors ("limits.timeout" for /v1/exec, "--cpu-time" for the CLI). kInvalidArgument for a value
// that does not parse or is out of range.
Status SetRunLimit(sandbox::Limits& limits, RunLimit limit, std::string_view text,
                   const sandbox::Limits& ceiling, std::string_view name);

// What each action of the agent gets unless asked otherwise, the same in `warden run` and in a
// server's jobs: wall and CPU time agent.action_timeout (2m), memory sandbox.memory (1G), a disk
// of 1G (a job's own disk_limit bounds it further), 256 processes, 1M of output. `action_timeout`
// and `memory`: `warden run`'s flags, which win over the configuration ("": none).
Result<sandbox::Limits> ActionLimits(const Config& config, std::string_view action_timeout = "",
                                     std::string_view memory = "");

}  // namespace warden::jobs
