// How busy the machine was with work other than the benchmark's own: on two cores, a compiler
// running beside the benchmark doubles its times. Printed with every section so that a noisy
// number says so.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace warden::bench {

// Samples /proc twice a second from its own thread and adds up the CPU time of every process that
// is not this one, not below it and not a kernel thread (those mostly tear down the benchmark's
// own namespaces). Misses processes that start and end between two samples: it is there to catch
// compilers and test runs, not to account for every tick. Thread-safe.
class OtherLoad {
 public:
  OtherLoad();  // starts sampling
  ~OtherLoad();
  OtherLoad(const OtherLoad&) = delete;
  OtherLoad& operator=(const OtherLoad&) = delete;

  // Share of the machine's CPU capacity, 0 to 1, that other processes used since construction.
  double Share();

 private:
  struct Seen {
    uint64_t start_ticks = 0;
    uint64_t cpu_ticks = 0;
  };

  void Sample();  // needs mutex_

  std::mutex mutex_;
  std::map<pid_t, Seen> last_;     // guarded by mutex_: other processes at the last sample
  uint64_t last_boot_ticks_ = 0;   // guarded by mutex_: when the last sample was taken
  uint64_t other_ticks_ = 0;       // guarded by mutex_
  uint64_t start_boot_ticks_ = 0;  // set once in the constructor
  std::condition_variable_any wake_;
  std::jthread thread_;  // last: stopped and joined first
};

}  // namespace warden::bench
