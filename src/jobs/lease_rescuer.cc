#include "jobs/lease_rescuer.h"

#include <algorithm>

#include "base/log.h"

namespace warden::jobs {

LeaseRescuer::LeaseRescuer(JobStore& store, std::chrono::milliseconds period)
    : store_(store), period_(period), thread_([this](const std::stop_token& stop) { Run(stop); }) {}

LeaseRescuer::~LeaseRescuer() {
  thread_.request_stop();
  thread_.join();
}

std::chrono::milliseconds LeaseRescuer::PeriodFor(std::chrono::milliseconds lease) {
  return std::clamp<std::chrono::milliseconds>(lease / 4, std::chrono::milliseconds(50),
                                               std::chrono::milliseconds(2'500));
}

void LeaseRescuer::Run(const std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    wake_.wait_for(lock, stop, period_, [] { return false; });
    if (stop.stop_requested()) {
      return;
    }
    lock.unlock();
    // The loop's exception boundary: a library's exception must not end the process.
    try {
      for (;;) {
        auto rescued = store_.RescueExpiredLeases(100);
        if (!rescued.ok()) {
          LOG_WARN("rescuing the jobs of lost workers failed: {}", rescued.error().message());
          break;
        }
        if (rescued->failed + rescued->requeued + rescued->cancelled < 100) {
          break;
        }
      }
    } catch (const std::exception& e) {
      LOG_WARN("rescuing the jobs of lost workers failed: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace warden::jobs
