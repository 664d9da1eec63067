#include "host_load.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

#include "procfs.h"

namespace warden::bench {
namespace {

constexpr std::chrono::milliseconds kSampleInterval(500);

const uint64_t kTicksPerSecond = static_cast<uint64_t>(sysconf(_SC_CLK_TCK));

// Clock ticks since boot, the clock of ProcessInfo::start_ticks.
uint64_t BootTicks() {
  timespec now = {};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * kTicksPerSecond +
         static_cast<uint64_t>(now.tv_nsec) * kTicksPerSecond / 1'000'000'000;
}

}  // namespace

OtherLoad::OtherLoad() {
  {
    std::lock_guard lock(mutex_);
    Sample();
    other_ticks_ = 0;
    start_boot_ticks_ = last_boot_ticks_;
  }
  thread_ = std::jthread([this](const std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    while (!stop.stop_requested()) {
      // Nothing notifies wake_: it only makes the wait end early when the thread is stopped.
      wake_.wait_for(lock, stop, kSampleInterval, [] { return false; });
      if (!stop.stop_requested()) {
        Sample();
      }
    }
  });
}

OtherLoad::~OtherLoad() = default;

void OtherLoad::Sample() {
  std::vector<ProcessInfo> all = ListProcesses();
  std::set<pid_t> ours = {getpid()};
  for (const ProcessInfo& process : DescendantsOf(getpid(), all)) {
    ours.insert(process.pid);
  }
  std::map<pid_t, Seen> seen;
  for (const ProcessInfo& process : all) {
    if (process.kernel_thread || ours.count(process.pid) != 0) {
      continue;
    }
    auto last = last_.find(process.pid);
    if (last != last_.end() && last->second.start_ticks == process.start_ticks) {
      other_ticks_ += process.cpu_ticks - last->second.cpu_ticks;
    } else if (process.start_ticks >= last_boot_ticks_) {
      other_ticks_ += process.cpu_ticks;  // started since the last sample
    }
    seen[process.pid] = {process.start_ticks, process.cpu_ticks};
  }
  last_ = std::move(seen);
  last_boot_ticks_ = BootTicks();
}

double OtherLoad::Share() {
  std::lock_guard lock(mutex_);
  Sample();
  double capacity = static_cast<double>(last_boot_ticks_ - start_boot_ticks_) *
                    std::max(1u, std::thread::hardware_concurrency());
  return capacity > 0 ? std::min(1.0, static_cast<double>(other_ticks_) / capacity) : 0;
}

}  // namespace warden::bench
