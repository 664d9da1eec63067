#include "sandbox/warm_pool.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "base/log.h"

namespace warden::sandbox {

WarmSandbox::~WarmSandbox() {
  if (!pidfd) {
    return;
  }
  request.reset();  // an idle init reads EOF and exits by itself
  ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  siginfo_t info{};
  ::syscall(SYS_waitid, P_PIDFD, pidfd.get(), &info, WEXITED, nullptr);
}

WarmPool::WarmPool(size_t size, Factory factory)
    : size_(size),
      factory_(std::move(factory)),
      thread_([this](const std::stop_token& stop) { Refill(stop); }) {}

WarmPool::~WarmPool() {
  thread_.request_stop();
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  std::lock_guard lock(mutex_);
  ready_.clear();
}

std::optional<WarmSandbox> WarmPool::Take() {
  std::optional<WarmSandbox> taken;
  {
    std::lock_guard lock(mutex_);
    while (!ready_.empty() && !taken) {
      WarmSandbox candidate = std::move(ready_.front());
      ready_.pop_front();
      // An init that died meanwhile (its pidfd is readable) is no use.
      struct pollfd pfd = {candidate.pidfd.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 0) == 0) {
        taken.emplace(std::move(candidate));
      }
    }
  }
  wake_.notify_one();
  return taken;
}

void WarmPool::Refill(const std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    if (ready_.size() >= size_) {
      wake_.wait(lock, stop, [&] { return ready_.size() < size_; });
      continue;
    }
    lock.unlock();
    Result<WarmSandbox> sandbox = factory_();
    lock.lock();
    if (sandbox.ok()) {
      ready_.push_back(std::move(sandbox).value());
      continue;
    }
    // Runs still work cold; try again later rather than spin.
    LOG_WARN("cannot prepare a warm sandbox: {}", sandbox.error().message());
    wake_.wait_for(lock, stop, std::chrono::seconds(5), [] { return false; });
  }
}

}  // namespace warden::sandbox
