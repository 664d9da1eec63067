#include "jobs/limits.h"

#include <fmt/format.h>

#include "base/units.h"

namespace warden::jobs {
namespace {

using std::chrono::milliseconds;

std::string RangeText(std::string_view low, std::string_view high) {
  return high.empty() ? fmt::format("of at least {}", low)
                      : fmt::format("from {} to {}", low, high);
}

Error OutOfRange(std::string_view name, std::string_view text, std::string_view range) {
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("{} must be {}, not \"{}\"", name, range, text));
}

}  // namespace

std::string_view RunLimitName(RunLimit limit) {
  switch (limit) {
    case RunLimit::kTimeout:
      return "timeout";
    case RunLimit::kCpuTime:
      return "cpu_time";
    case RunLimit::kMemory:
      return "memory";
    case RunLimit::kOutput:
      return "output_limit";
    case RunLimit::kDisk:
      return "disk_limit";
  }
  return "?";
}

std::optional<RunLimit> ParseRunLimitName(std::string_view name) {
  for (RunLimit limit : {RunLimit::kTimeout, RunLimit::kCpuTime, RunLimit::kMemory,
                         RunLimit::kOutput, RunLimit::kDisk}) {
    if (RunLimitName(limit) == name) {
      return limit;
    }
  }
  return std::nullopt;
}

std::string_view RunLimitNames() {
  return "timeout, cpu_time, memory, output_limit or disk_limit";
}

Result<milliseconds> ParseDurationIn(std::string_view name, std::string_view text,
                                     milliseconds floor, milliseconds ceiling) {
  std::string range =
      RangeText(FormatDuration(floor), ceiling.count() > 0 ? FormatDuration(ceiling) : "");
  auto parsed = ParseDuration(text);
  if (!parsed.ok() || *parsed < floor || (ceiling.count() > 0 && *parsed > ceiling)) {
    return OutOfRange(name, text, "a duration " + range);
  }
  return *parsed;
}

Result<uint64_t> ParseBytesIn(std::string_view name, std::string_view text, uint64_t floor,
                              uint64_t ceiling) {
  std::string range = RangeText(FormatBytes(floor), ceiling > 0 ? FormatBytes(ceiling) : "");
  auto parsed = ParseBytes(text);
  if (!parsed.ok() || *parsed < floor || (ceiling > 0 && *parsed > ceiling)) {
    return OutOfRange(name, text, "a size " + range);
  }
  return *parsed;
}

Status SetRunLimit(sandbox::Limits& limits, RunLimit limit, std::string_view text,
                   const sandbox::Limits& ceiling, std::string_view name) {
  switch (limit) {
    case RunLimit::kTimeout: {
      ASSIGN_OR_RETURN(limits.wall_time,
                       ParseDurationIn(name, text, kMinRunTime, ceiling.wall_time));
      return OkStatus();
    }
    case RunLimit::kCpuTime: {
      ASSIGN_OR_RETURN(limits.cpu_time, ParseDurationIn(name, text, kMinRunTime, ceiling.cpu_time));
      return OkStatus();
    }
    case RunLimit::kMemory: {
      ASSIGN_OR_RETURN(limits.memory_bytes,
                       ParseBytesIn(name, text, kMinMemoryBytes, ceiling.memory_bytes));
      return OkStatus();
    }
    case RunLimit::kOutput: {
      ASSIGN_OR_RETURN(limits.output_bytes,
                       ParseBytesIn(name, text, kMinOutputBytes, ceiling.output_bytes));
      return OkStatus();
    }
    case RunLimit::kDisk: {
      ASSIGN_OR_RETURN(limits.disk_bytes,
                       ParseBytesIn(name, text, kMinDiskBytes, ceiling.disk_bytes));
      return OkStatus();
    }
  }
  return Error(ErrorCode::kInvalidArgument, fmt::format("unknown limit {}", name));
}

Result<sandbox::Limits> ActionLimits(const Config& config, std::string_view action_timeout,
                                     std::string_view memory) {
  sandbox::Limits limits;
  limits.wall_time = std::chrono::minutes(2);
  limits.memory_bytes = 1ULL << 30;
  limits.disk_bytes = 1ULL << 30;
  limits.max_pids = 256;
  std::string timeout_text(action_timeout);
  std::string_view timeout_name = "--action-timeout";
  if (timeout_text.empty()) {
    timeout_text = config.String("agent.action_timeout").value_or("");
    timeout_name = "agent.action_timeout";
  }
  if (!timeout_text.empty()) {
    ASSIGN_OR_RETURN(limits.wall_time, ParseDurationIn(timeout_name, timeout_text, kMinRunTime,
                                                       std::chrono::milliseconds(0)));
  }
  limits.cpu_time = limits.wall_time;
  std::string memory_text(memory);
  std::string_view memory_name = "--memory";
  if (memory_text.empty()) {
    memory_text = config.String("sandbox.memory").value_or("");
    memory_name = "sandbox.memory";
  }
  if (!memory_text.empty()) {
    ASSIGN_OR_RETURN(limits.memory_bytes,
                     ParseBytesIn(memory_name, memory_text, kMinMemoryBytes, 0));
  }
  return limits;
}

}  // namespace warden::jobs
