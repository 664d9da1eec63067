// ThreadPool: a fixed set of threads that run submitted tasks in submission order. Used for work
// that may block (HTTP handlers, sandbox runs), so that the threads that submit it never do.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace warden {

// Owns its threads (at least one); the destructor Stop()s. Thread-safe. A task must not throw:
// an exception escaping a task ends the process, as from any thread.
class ThreadPool {
 public:
  explicit ThreadPool(size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`. Returns false, dropping it, once Stop() began.
  bool Submit(std::function<void()> task);
  // Runs what is queued, then joins the threads. Not concurrently with itself, nor from a task.
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::jthread> threads_;
};

}  // namespace warden
