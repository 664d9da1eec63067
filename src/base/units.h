// Parsing and printing of sizes ("256M") and durations ("10s") as users write them on the CLI
// and in configuration.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace warden {

// "1024", "64K", "256M", "1G", "1.5G", "10MiB", "2kb": binary multiples (K = 1024).
Result<uint64_t> ParseBytes(std::string_view text);

// "500ms", "10s", "2m", "1h", "1.5s"; a bare number is seconds.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// 268435456 -> "256M"; 1536 -> "1.5K".
std::string FormatBytes(uint64_t bytes);

// 1500ms -> "1.5s", 250ms -> "250ms", 120000ms -> "2m".
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace warden
