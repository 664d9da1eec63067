// LeaseRescuer: the thread of a node (API or worker) that rescues the jobs of dead workers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "jobs/store.h"

namespace warden::jobs {

// Calls JobStore::RescueExpiredLeases every `period` (a fraction of the lease: a dead worker's
// jobs are rescued within lease + period) until destroyed. Every node runs one; the store makes
// nodes rescuing at once take different jobs. Thread-safe; owns its thread.
class LeaseRescuer {
 public:
  LeaseRescuer(JobStore& store, std::chrono::milliseconds period);
  ~LeaseRescuer();
  LeaseRescuer(const LeaseRescuer&) = delete;
  LeaseRescuer& operator=(const LeaseRescuer&) = delete;

  // The period for a store whose leases last `lease`.
  static std::chrono::milliseconds PeriodFor(std::chrono::milliseconds lease);

 private:
  void Run(const std::stop_token& stop);

  JobStore& store_;
  std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable_any wake_;  // never notified: the thread's stoppable sleep
  std::jthread thread_;               // last: starts after the members it uses
};

}  // namespace warden::jobs
