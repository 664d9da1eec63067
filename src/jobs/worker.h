// Workers: threads that claim queued jobs from the store and run them — explicit steps in
// sandboxes, or a task through the agent — recording every event under the job.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.h"
#include "agent/output.h"
#include "artifacts/artifacts.h"
#include "base/config.h"
#include "jobs/job_budget.h"
#include "jobs/job_spec.h"
#include "jobs/store.h"
#include "sandbox/sandbox.h"

namespace warden::jobs {

struct JobRun;  // worker.cc: what one job's run shares
class EventLog;

struct WorkerOptions {
  size_t workers = 2;
  std::string name = "worker";  // prefix of each worker's name in the store
  // What a job gets unless it asks otherwise, and the most it may ask for.
  JobBounds bounds;
  // Host uid that owns new workspaces when Warden runs as root (the sandbox user's).
  uid_t sandbox_uid = 2'100'001'000;
  // Server configuration: the LLM, the agent's policy. Tasks may name provider and model.
  Config config;
  // What hashing the manifest at a job's end may cost (artifacts.hash_budget, .hash_time).
  artifacts::HashBudget hash_budget;
  // How often the pool renews the leases of its running jobs (JobStore::Heartbeat) and learns of
  // cancels requested through other nodes: well within the store's lease.
  std::chrono::milliseconds heartbeat{500};
  // How long a worker keeps asking a store that is unavailable (a database restarting) to record a
  // job's end before it gives up on it (the job's lease then runs out, and a node rescues it).
  std::chrono::milliseconds store_patience{60'000};
  // How long an action waits for approval (POST /v1/jobs/{id}/approvals) before it is denied.
  std::chrono::milliseconds approval_timeout{10 * 60 * 1000};
};

class WorkerPool {
 public:
  WorkerPool(JobStore& store, sandbox::Supervisor& supervisor, WorkerOptions options);
  ~WorkerPool();  // Stop()s

  void Start();
  // Stops claiming, cancels running jobs (they end failed, reason server_stopped, or queued again
  // when they may be requeued), joins the threads.
  void Stop();

  // The API asked to cancel this job: kill its sandbox now rather than at the next heartbeat.
  void NotifyCancel(const std::string& job_id);

  size_t running() const;

 private:
  void Loop(size_t index);
  void RunJob(const Job& job, const std::string& worker);
  agent::ToolOptions ToolsFor(const JobSpec& spec, const Job& job, JobBudget& budget) const;
  static sandbox::OutputCallback OutputTo(JobRun& run, agent::OutputEncoder& encoder);
  Status RunSteps(JobRun& run);  // explicit steps, in order, until one fails
  Status RunTask(JobRun& run);   // the agent
  // Writes the job's last events and its end; while the store is unavailable, again and again
  // (up to store_patience), the job still counted as running so that its lease is renewed.
  Result<Job> FinishPatiently(const Job& job, const FinishRequest& finish, EventLog& log);
  // Every `heartbeat`: renews the leases of the running jobs; cancels those whose cancellation was
  // requested (on any node) and stops those whose lease was lost (rescued by another node).
  void Heartbeats();
  void ApplyHeartbeat(const std::vector<LeaseStatus>& statuses);

  // A job this pool runs: its cancel token (alive while it is in running_) and its claim.
  struct Running {
    sandbox::CancelToken* cancel = nullptr;
    Lease lease;
    bool lost = false;  // the store says the claim is no longer current
  };

  JobStore& store_;
  sandbox::Supervisor& supervisor_;
  WorkerOptions options_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::thread watcher_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Running> running_;  // by job id
};

}  // namespace warden::jobs
