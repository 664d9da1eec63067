// The warden binary on a pseudo-terminal, as a person runs it: stdin, stdout and stderr on the
// terminal, what it writes read as it comes, keys typed into it; and what a terminal shows of
// that text. Header-only: test targets list their sources alone.
#pragma once

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace warden::testing {

// Owns the child and the terminal's master side; the destructor kills and reaps the child.
class Terminal {
 public:
  Terminal(const std::string& binary, const std::vector<std::string>& args,
           const std::vector<std::string>& env) {
    // Built before fork(): the child makes only async-signal-safe calls.
    std::vector<std::string> argv_storage = {binary};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<std::string> env_storage = {"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"};
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& entry : env_storage) {
      envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    pid_ = ::forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid_ < 0) {
      ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    }
  }
  ~Terminal() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) {
      ::close(master_);
    }
  }
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  const std::string& out() const { return out_; }

  // Types `keys`.
  void Type(std::string_view keys) {
    while (!keys.empty()) {
      ssize_t n = ::write(master_, keys.data(), keys.size());
      if (n <= 0) {
        ADD_FAILURE() << "write to the terminal: " << std::strerror(errno);
        return;
      }
      keys.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reads until the output holds `needle` `count` times; false if it does not within `timeout`.
  bool WaitFor(std::string_view needle, std::chrono::milliseconds timeout, size_t count = 1) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Count(needle) < count) {
      if (!Pump(deadline)) {
        return Count(needle) >= count;
      }
    }
    return true;
  }

  // Reads until the child closes the terminal, then reaps it; its exit code (-1: killed).
  int Wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Pump(deadline)) {
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "warden did not end:\n" << out_;
      ::kill(pid_, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  size_t Count(std::string_view needle) const {
    size_t n = 0;
    for (size_t at = out_.find(needle); at != std::string::npos; at = out_.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }

  // Reads what arrives before `deadline`; false at the deadline or once the terminal is closed.
  bool Pump(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{master_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      return false;
    }
    char buf[4096];
    ssize_t got = ::read(master_, buf, sizeof buf);
    if (got < 0 && errno == EINTR) {
      return true;
    }
    if (got <= 0) {
      return false;  // EIO: every end of the terminal's other side is closed
    }
    out_.append(buf, static_cast<size_t>(got));
    return true;
  }

  pid_t pid_ = -1;
  int master_ = -1;
  std::string out_;
};

// The text a terminal shows after `raw`: a carriage return goes back to the line's start, ESC[K
// erases to its end; other escapes (colours) are dropped.
inline std::string Screen(const std::string& raw) {
  std::string screen;
  std::string line;
  size_t column = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\033' && i + 1 < raw.size() && raw[i + 1] == '[') {
      size_t end = raw.find_first_of("ABCDHJKmsu", i + 2);
      if (end == std::string::npos) {
        break;
      }
      if (raw[end] == 'K') {
        line.resize(column);
      }
      i = end;
    } else if (c == '\r') {
      column = 0;
    } else if (c == '\n') {
      screen += line + "\n";
      line.clear();
      column = 0;
    } else {
      if (column < line.size()) {
        line[column] = c;
      } else {
        line.push_back(c);
      }
      ++column;
    }
  }
  return screen + line;
}

}  // namespace warden::testing
