// Group commit for PostgreSQL job submissions: Creates that name no parent and no session wait for
// one thread that writes every submission waiting, checked against the queue's limits, with one
// statement and one commit. Durable as each commit is; one fsync (and a few round trips) per batch
// instead of per job: how a server with many clients submitting at once keeps up.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "jobs/pg.h"
#include "jobs/store.h"

namespace warden::jobs::pg {

// kResourceExhausted: the queue holds `queued` jobs, the most allowed (max_queued).
Error QueueFull(int64_t queued);
// kResourceExhausted: the owner has `queued` jobs queued, the most allowed (max_queued_per_owner).
Error OwnerQueueFull(int64_t queued);

// Owns its connection and thread. Thread-safe.
class CreateBatcher {
 public:
  // `workspace_for` gives a new job's workspace from its id; `committed` runs on the batcher's
  // thread after each batch that wrote jobs.
  CreateBatcher(std::string url, StoreOptions options,
                std::function<std::string(const std::string&)> workspace_for,
                std::function<void()> committed);
  CreateBatcher(const CreateBatcher&) = delete;
  CreateBatcher& operator=(const CreateBatcher&) = delete;
  // Writes what is queued, then stops.
  ~CreateBatcher();

  // Gives `job` (queued, no parent, no session) its id, time and workspace and writes it with its
  // first state event; returns once its batch committed. Create's errors: kResourceExhausted at a
  // limit, kUnavailable when the server cannot be reached.
  Status Create(Job& job);

 private:
  struct Request {
    Job* job;
    Status status;
    bool done = false;
  };

  void Loop(const std::stop_token& stop);
  // Runs one batch; sets every request's status.
  void Write(std::span<Request* const> batch);
  Status WriteJobs(std::span<Request* const> batch);
  Status CheckLimits(std::span<Request* const> batch);

  const std::string url_;
  const StoreOptions options_;
  const std::function<std::string(const std::string&)> workspace_for_;
  const std::function<void()> committed_;
  std::unique_ptr<Connection> conn_;  // the thread's alone
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<Request*> queue_;
  bool stopping_ = false;
  std::jthread thread_;  // last: started once everything it uses exists
};

}  // namespace warden::jobs::pg
