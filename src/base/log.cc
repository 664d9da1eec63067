#include "base/log.h"

#include <stdlib.h>

#include <atomic>
#include <memory>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace warden::log {
namespace {

Level InitialLevel() {
  Level level = Level::kInfo;
  if (const char* env = getenv("WARDEN_LOG"); env != nullptr) {  // NOLINT(concurrency-mt-unsafe)
    ParseLevel(env, &level);
  }
  return level;
}

std::atomic<Level>& CurrentLevel() {
  static std::atomic<Level> level{InitialLevel()};
  return level;
}

spdlog::logger& Logger() {
  // Created on first use so that a command that logs nothing pays nothing at start-up.
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("warden");
    l->set_pattern("%^%L%$ %H:%M:%S.%e warden: %v");
    l->set_level(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

void SetLevel(Level level) {
  CurrentLevel().store(level, std::memory_order_relaxed);
}

bool Enabled(Level level) {
  return level != Level::kOff && level >= CurrentLevel().load(std::memory_order_relaxed);
}

void Write(Level level, std::string_view message) {
  Logger().log(ToSpdlog(level), message);
}

bool ParseLevel(std::string_view text, Level* level) {
  if (text == "debug") {
    *level = Level::kDebug;
  } else if (text == "info") {
    *level = Level::kInfo;
  } else if (text == "warn") {
    *level = Level::kWarn;
  } else if (text == "error") {
    *level = Level::kError;
  } else if (text == "off") {
    *level = Level::kOff;
  } else {
    return false;
  }
  return true;
}

}  // namespace warden::log
