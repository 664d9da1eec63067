#include "base/log.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "base/log_format.h"

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

Format InitialFormat() {
  Format format = Format::kText;
  if (const char* env = getenv("WARDEN_LOG_FORMAT");
      env != nullptr) {  // NOLINT(concurrency-mt-unsafe)
    ParseFormat(env, &format);
  }
  return format;
}

std::atomic<Format>& FormatSetting() {
  static std::atomic<Format> format{InitialFormat()};
  return format;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "info";
}

// "2026-12-07T21:40:03.123Z"
std::string UtcNow() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  ::gmtime_r(&now.tv_sec, &utc);
  char date[32];
  size_t n = ::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03d}Z", std::string_view(date, n), now.tv_nsec / 1'000'000);
}

// One JSON line, written with one write(2) so that lines of several threads never interleave.
void WriteJsonLine(Level level, std::string_view message, const json::object* fields) {
  json::object line{{"time", UtcNow()}, {"level", LevelName(level)}, {"msg", message}};
  if (fields != nullptr) {
    for (const auto& field : *fields) {
      line[field.key()] = field.value();
    }
  }
  std::string text = json::serialize(line);
  text += '\n';
  static std::mutex mu;
  std::lock_guard lock(mu);
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n <= 0) {
      return;  // the log is gone: nothing else to tell it to
    }
    done += static_cast<size_t>(n);
  }
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
  if (FormatSetting().load(std::memory_order_relaxed) == Format::kJson) {
    WriteJsonLine(level, message, nullptr);
    return;
  }
  Logger().log(ToSpdlog(level), message);
}

void SetFormat(Format format) {
  FormatSetting().store(format, std::memory_order_relaxed);
}

Format CurrentFormat() {
  return FormatSetting().load(std::memory_order_relaxed);
}

bool ParseFormat(std::string_view text, Format* format) {
  if (text == "text") {
    *format = Format::kText;
  } else if (text == "json") {
    *format = Format::kJson;
  } else {
    return false;
  }
  return true;
}

void WriteFields(Level level, std::string_view message, const json::object& fields) {
  if (!Enabled(level)) {
    return;
  }
  if (CurrentFormat() == Format::kJson) {
    WriteJsonLine(level, message, &fields);
    return;
  }
  std::string line(message);
  for (const auto& field : fields) {
    line += ' ';
    line += field.key();
    line += '=';
    line += field.value().is_string() ? std::string(field.value().get_string())
                                      : json::serialize(field.value());
  }
  Logger().log(ToSpdlog(level), line);
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
