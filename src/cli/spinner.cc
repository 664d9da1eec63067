#include "cli/spinner.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

namespace warden::cli {
namespace {

constexpr auto kFirstDraw = std::chrono::milliseconds(250);  // no flicker between quick events
constexpr auto kRedraw = std::chrono::milliseconds(120);
constexpr std::string_view kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};

void WriteErr(std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

bool NoColor() {
  const char* value = std::getenv("NO_COLOR");  // NOLINT(concurrency-mt-unsafe): no setenv here
  return value != nullptr && value[0] != '\0';
}

}  // namespace

bool SpinnerWanted() {
  return ::isatty(STDERR_FILENO) == 1 && !NoColor();
}

bool ColorWanted(int fd) {
  return ::isatty(fd) == 1 && !NoColor();
}

Spinner::Spinner(bool enabled) : enabled_(enabled) {
  if (enabled_) {
    thread_ = std::jthread([this](const std::stop_token& stop) { Loop(stop); });
  }
}

Spinner::~Spinner() {
  if (enabled_) {
    thread_.request_stop();
    thread_.join();
    std::lock_guard lock(mutex_);
    EraseLocked();
  }
}

void Spinner::Arm(const std::string& label) {
  if (!enabled_) {
    return;
  }
  std::lock_guard lock(mutex_);
  EraseLocked();
  armed_ = true;
  label_ = label;
  since_ = std::chrono::steady_clock::now();
  wake_.notify_all();
}

void Spinner::Stop() {
  if (!enabled_) {
    return;
  }
  std::lock_guard lock(mutex_);
  armed_ = false;
  EraseLocked();
}

void Spinner::EraseLocked() {
  if (drawn_) {
    WriteErr("\r\033[K");
    drawn_ = false;
  }
}

void Spinner::Loop(const std::stop_token& stop) {
  size_t frame = 0;
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    if (!armed_) {
      wake_.wait(lock, stop, [this] { return armed_; });
      continue;
    }
    auto elapsed = std::chrono::steady_clock::now() - since_;
    if (elapsed < kFirstDraw) {
      wake_.wait_for(lock, stop, kFirstDraw - elapsed, [] { return false; });
      continue;
    }
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
    WriteErr(
        fmt::format("\r\033[K{} {} {}s", kFrames[frame++ % std::size(kFrames)], label_, seconds));
    drawn_ = true;
    wake_.wait_for(lock, stop, kRedraw, [] { return false; });
  }
}

}  // namespace warden::cli
