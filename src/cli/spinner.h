// The spinner a terminal shows while the model thinks: "⠋ thinking… 3s" on standard error,
// redrawn a few times a second and erased before anything else is printed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace warden::cli {

// Owns the thread that draws. Thread-safe: Arm() and Stop() may be called from any thread. A
// disabled spinner (no terminal, or NO_COLOR) never draws and starts no thread.
class Spinner {
 public:
  explicit Spinner(bool enabled);
  ~Spinner();
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;

  // Starts counting from now; the spinner shows after a short moment unless Stop() comes first.
  void Arm(const std::string& label);
  // Erases the spinner if it is drawn, and stops drawing until the next Arm(). Returns once the
  // line is clean, so that the caller may print.
  void Stop();

 private:
  void Loop(const std::stop_token& stop);
  void EraseLocked();

  bool enabled_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  bool armed_ = false;
  bool drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point since_;
  std::jthread thread_;  // last: stopped and joined first
};

// Whether a spinner may draw on standard error: it is a terminal and NO_COLOR is not set.
bool SpinnerWanted();
// Whether output on `fd` may be coloured: it is a terminal and NO_COLOR is not set.
bool ColorWanted(int fd);

}  // namespace warden::cli
