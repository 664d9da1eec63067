// Sandboxes built ahead of time: init processes already in their namespaces and cgroup, with the
// host-only part of the root in place, waiting for a run. Taking one skips most of a run's setup.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sandbox/cgroup.h"

namespace warden::sandbox {

// One warm sandbox. Owns the init process: the destructor of an unused one closes its request
// pipe (init exits), kills it and reaps it.
struct WarmSandbox {
  pid_t pid = -1;
  UniqueFd pidfd;
  std::optional<Cgroup> cgroup;
  UniqueFd request;  // write end: the late request (late_request.h)
  UniqueFd report;   // read ends
  UniqueFd out;
  UniqueFd err;
  UniqueFd in;  // write end of the program's stdin
  uid_t host_uid = 0;
  gid_t host_gid = 0;
  size_t early_op_count = 0;

  WarmSandbox() = default;
  WarmSandbox(WarmSandbox&&) = default;
  ~WarmSandbox();
};

// Keeps up to `size` warm sandboxes, refilled by a background thread. Thread-safe.
class WarmPool {
 public:
  using Factory = std::function<Result<WarmSandbox>()>;
  WarmPool(size_t size, Factory factory);
  ~WarmPool();
  WarmPool(const WarmPool&) = delete;
  WarmPool& operator=(const WarmPool&) = delete;

  // A ready sandbox whose init is still alive, or nothing (the caller builds one cold).
  std::optional<WarmSandbox> Take();

 private:
  void Refill(const std::stop_token& stop);

  const size_t size_;
  Factory factory_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::deque<WarmSandbox> ready_;  // guarded by mutex_
  std::jthread thread_;            // last: stopped and joined first
};

}  // namespace warden::sandbox
