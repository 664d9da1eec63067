#include "base/units.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace warden {
namespace {

// Splits "1.5G" into 1.5 and "G". Fails on an empty or negative number.
Result<std::pair<double, std::string>> SplitNumber(std::string_view text, std::string_view what) {
  std::string s(text);
  while (!s.empty() && s.back() == ' ') {
    s.pop_back();
  }
  if (s.empty()) {
    return Error(ErrorCode::kInvalidArgument, fmt::format("empty {}", what));
  }
  char* end = nullptr;
  errno = 0;
  double number = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || errno != 0 || !std::isfinite(number) || number < 0) {
    return Error(ErrorCode::kInvalidArgument, fmt::format("invalid {} '{}'", what, text));
  }
  std::string suffix(end);
  for (char& c : suffix) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return std::pair{number, suffix};
}

}  // namespace

Result<uint64_t> ParseBytes(std::string_view text) {
  ASSIGN_OR_RETURN(auto parts, SplitNumber(text, "size"));
  auto [number, suffix] = parts;
  double multiplier = 0;
  if (suffix.empty() || suffix == "b") {
    multiplier = 1;
  } else if (suffix == "k" || suffix == "kb" || suffix == "kib") {
    multiplier = 1024.0;
  } else if (suffix == "m" || suffix == "mb" || suffix == "mib") {
    multiplier = 1024.0 * 1024;
  } else if (suffix == "g" || suffix == "gb" || suffix == "gib") {
    multiplier = 1024.0 * 1024 * 1024;
  } else if (suffix == "t" || suffix == "tb" || suffix == "tib") {
    multiplier = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("invalid size '{}': use a number with K, M, G or T (e.g. 256M)", text));
  }
  double bytes = number * multiplier;
  if (bytes >= 1.8e19) {
    return Error(ErrorCode::kOutOfRange, fmt::format("size '{}' is too large", text));
  }
  return static_cast<uint64_t>(bytes);
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  ASSIGN_OR_RETURN(auto parts, SplitNumber(text, "duration"));
  auto [number, suffix] = parts;
  double ms_per_unit = 0;
  if (suffix.empty() || suffix == "s") {
    ms_per_unit = 1000;
  } else if (suffix == "ms") {
    ms_per_unit = 1;
  } else if (suffix == "m" || suffix == "min") {
    ms_per_unit = 60'000;
  } else if (suffix == "h") {
    ms_per_unit = 3'600'000;
  } else if (suffix == "d") {
    ms_per_unit = 86'400'000;
  } else {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("invalid duration '{}': use ms, s, m, h or d (e.g. 10s)", text));
  }
  double ms = number * ms_per_unit;
  if (ms >= 9.2e15) {
    return Error(ErrorCode::kOutOfRange, fmt::format("duration '{}' is too long", text));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kSuffixes[] = {"", "K", "M", "G", "T"};
  double value = static_cast<double>(bytes);
  size_t i = 0;
  while (value >= 1024 && i + 1 < std::size(kSuffixes)) {
    value /= 1024;
    ++i;
  }
  if (value == std::floor(value)) {
    return fmt::format("{}{}", static_cast<uint64_t>(value), kSuffixes[i]);
  }
  return fmt::format("{:.1f}{}", value, kSuffixes[i]);
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms < 1000) {
    return fmt::format("{}ms", ms);
  }
  if (ms % 3'600'000 == 0) {
    return fmt::format("{}h", ms / 3'600'000);
  }
  if (ms % 60'000 == 0) {
    return fmt::format("{}m", ms / 60'000);
  }
  if (ms % 1000 == 0) {
    return fmt::format("{}s", ms / 1000);
  }
  return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
}

}  // namespace warden
