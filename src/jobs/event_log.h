// EventLog: how a worker records a job's events: in batches, fenced by its claim on the job.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "jobs/store.h"

namespace warden::jobs {

// Events go to the store in batches: output arrives in many small chunks, and each append is a
// durable commit. Anything but output is written at once, with what was pending before it. Output
// waits at most about kOutputDelay: a program that prints a line and then stays quiet for minutes
// must not keep that line from followers (a thread of the log flushes it). Every event carries the
// worker's claim (a Lease): once the job was rescued from this worker, the store refuses them.
// While the store is unavailable, events are held and sent again (up to kMaxHeldBytes).
// Thread-safe.
class EventLog {
 public:
  static constexpr std::chrono::milliseconds kOutputDelay{100};
  // Events kept while the store is unavailable, about (output text and 256 bytes per event).
  static constexpr size_t kMaxHeldBytes = size_t{8} << 20;

  EventLog(JobStore& store, Lease claim);
  ~EventLog();  // flushes

  void Add(std::string type, json::object data);
  // True when every event added so far is in the store (none is held for want of it).
  bool Flush();

 private:
  void FlushPeriodically(const std::stop_token& stop);
  void FlushLocked();

  JobStore& store_;
  Lease claim_;
  std::mutex mutex_;
  std::vector<NewEvent> pending_;
  size_t pending_bytes_ = 0;
  bool holding_ = false;  // the last flush failed and kept its batch
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
  std::condition_variable_any tick_;  // never notified: the flusher's stoppable sleep
  std::jthread flusher_;              // last: starts after the members it uses, stops before them
};

}  // namespace warden::jobs
