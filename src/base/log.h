// Logging: leveled messages to standard error. spdlog stays inside log.cc; callers format with fmt.
//
//   LOG_INFO("sandbox {} started in {} us", id, micros);
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace warden::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

// Sets the lowest level that is printed (default kInfo; WARDEN_LOG=debug|info|warn|error|off).
void SetLevel(Level level);
bool Enabled(Level level);
void Write(Level level, std::string_view message);

// Parses "debug", "info", "warn", "error", "off". Returns false for anything else.
bool ParseLevel(std::string_view text, Level* level);

}  // namespace warden::log

#define WARDEN_LOG(level, ...)                                 \
  do {                                                         \
    if (::warden::log::Enabled(level)) {                       \
      ::warden::log::Write(level, ::fmt::format(__VA_ARGS__)); \
    }                                                          \
  } while (0)

#define LOG_DEBUG(...) WARDEN_LOG(::warden::log::Level::kDebug, __VA_ARGS__)
#define LOG_INFO(...) WARDEN_LOG(::warden::log::Level::kInfo, __VA_ARGS__)
#define LOG_WARN(...) WARDEN_LOG(::warden::log::Level::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) WARDEN_LOG(::warden::log::Level::kError, __VA_ARGS__)
