#include "jobs/worker.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stop_token>

#include <fmt/format.h>

#include "artifacts/artifacts.h"
#include "artifacts/manifest_json.h"
#include "base/log.h"
#include "base/log_format.h"
#include "base/metrics.h"
#include "base/units.h"
#include "jobs/approvals.h"
#include "jobs/event_log.h"
#include "jobs/turn_changes.h"
#include "jobs/turns.h"
#include "jobs/workspace_dir.h"
#include "llm/providers.h"
#include "sys/fs.h"

namespace warden::jobs {

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

std::string StringAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

json::object ObservationJson(int step, const std::string& tool,
                             const agent::Observation& observation) {
  return json::object{{"step", step},
                      {"tool", tool},
                      {"outcome", observation.outcome},
                      {"exit_code", observation.exit_code},
                      {"ok", observation.ok},
                      {"duration_ms", observation.duration.count()},
                      {"summary", observation.summary}};
}

// The manifest of the workspace at the job's end, hashed within the server's budget, into the
// job's result: "files", or "files_error" when the workspace cannot be listed (too many files).
void AddManifest(const std::string& workspace, const artifacts::HashBudget& budget,
                 json::object* result) {
  artifacts::ManifestOptions options;
  options.hashing = budget;
  auto manifest = artifacts::Manifest(workspace, options);
  if (manifest.ok()) {
    (*result)["files"] = artifacts::ManifestJson(*manifest);
  } else if (manifest.error().code() == ErrorCode::kNotFound) {
    (*result)["files"] = json::array{};  // never created: cancelled before it ran
  } else {
    LOG_WARN("no manifest of {}: {}", workspace, manifest.error().message());
    (*result)["files_error"] = artifacts::ManifestErrorJson(manifest.error());
  }
}

}  // namespace

// What one job's run shares between its parts.
struct JobRun {
  const Job& job;
  const JobSpec& spec;
  EventLog& log;
  JobBudget& budget;
  sandbox::CancelToken& cancel;
  FinishRequest& finish;
  SteadyClock::time_point start;
  agent::ToolOptions tools;
};

WorkerPool::WorkerPool(JobStore& store, sandbox::Supervisor& supervisor, WorkerOptions options)
    : store_(store), supervisor_(supervisor), options_(std::move(options)) {}

WorkerPool::~WorkerPool() {
  Stop();
}

void WorkerPool::Start() {
  for (size_t i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this, i] { Loop(i); });
  }
  watcher_ = std::thread([this] { Heartbeats(); });
}

void WorkerPool::Stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, job] : running_) {
      job.cancel->Cancel();
    }
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) {
    thread.join();
  }
  threads_.clear();
  if (watcher_.joinable()) {
    watcher_.join();
  }
}

void WorkerPool::NotifyCancel(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  if (auto it = running_.find(job_id); it != running_.end()) {
    it->second.cancel->Cancel();
  }
}

size_t WorkerPool::running() const {
  std::lock_guard lock(mutex_);
  return running_.size();
}

void WorkerPool::Heartbeats() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.heartbeat);
    std::vector<Lease> leases;
    for (const auto& [id, job] : running_) {
      leases.push_back(job.lease);
    }
    lock.unlock();
    auto statuses = store_.Heartbeat(leases);
    if (!statuses.ok()) {
      // The leases run on: the next beat may reach the store in time.
      LOG_WARN("renewing the leases of {} running jobs failed: {}", leases.size(),
               statuses.error().message());
    }
    lock.lock();
    if (statuses.ok()) {
      ApplyHeartbeat(*statuses);
    }
  }
}

void WorkerPool::ApplyHeartbeat(const std::vector<LeaseStatus>& statuses) {
  for (const LeaseStatus& status : statuses) {
    auto it = running_.find(status.job_id);
    if (it == running_.end()) {
      continue;  // ended meanwhile: its token is gone
    }
    if (!status.held && !it->second.lost) {
      LOG_WARN(
          "job {}: this worker's claim was lost (the job was rescued by another node); "
          "stopping it",
          status.job_id);
      it->second.lost = true;
    }
    if (!status.held || status.cancel_requested) {
      it->second.cancel->Cancel();
    }
  }
}

void WorkerPool::Loop(size_t index) {
  std::string worker = fmt::format("{}-{}-{}", options_.name, ::getpid(), index);
  while (!stopping_) {
    auto job = store_.ClaimNext(worker);
    if (!job.ok()) {
      LOG_WARN("{}: claiming a job failed: {}", worker, job.error().message());
      std::this_thread::sleep_for(milliseconds(500));
      continue;
    }
    if (!job->has_value()) {
      // Queued jobs that none may claim now (their owners run all they may) answer the wait at
      // once: then wait for a change of the store's running jobs instead of spinning.
      auto waited_from = SteadyClock::now();
      auto queued = store_.WaitForQueued(milliseconds(500));
      if (queued.ok() && *queued && SteadyClock::now() - waited_from < milliseconds(5)) {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, milliseconds(100), [this] { return stopping_.load(); });
      }
      continue;
    }
    log::WriteFields(log::Level::kInfo, fmt::format("job {} running", (*job)->id),
                     json::object{{"job", (*job)->id},
                                  {"state", "running"},
                                  {"kind", JobKindName((*job)->kind)},
                                  {"owner", (*job)->owner},
                                  {"worker", worker}});
    // The loop's exception boundary: one job that throws (a library's exception on a row it did
    // not expect) fails with the reason, and the worker goes on.
    try {
      RunJob(**job, worker);
    } catch (const std::exception& e) {
      LOG_WARN("{}: job {} failed with an exception: {}", worker, (*job)->id, e.what());
      FinishRequest failed{JobState::kFailed,
                           "error",
                           std::string("the worker failed on this job: ") + e.what(),
                           {},
                           worker,
                           (*job)->attempt};
      (void)store_.Finish((*job)->id, std::move(failed));
      std::lock_guard lock(mutex_);
      running_.erase((*job)->id);
    }
  }
}

void WorkerPool::RunJob(const Job& job, const std::string& worker) {
  sandbox::CancelToken cancel;
  const Lease claim{job.id, worker, job.attempt};
  {
    std::lock_guard lock(mutex_);
    running_[job.id] = Running{&cancel, claim, false};
    if (stopping_ || job.cancel_requested) {
      cancel.Cancel();
    }
  }
  EventLog log(store_, claim);
  FinishRequest finish;
  finish.worker = worker;
  finish.attempt = job.attempt;
  finish.state = JobState::kFailed;  // until the job says otherwise
  SteadyClock::time_point start = SteadyClock::now();

  // The stored input is parsed again, with this server's bounds: a row that no longer parses (an
  // older server's, or damaged) fails its job with the reason, and the worker goes on.
  Result<JobSpec> spec = ParseJobSpec(job.input, options_.bounds);
  JobBudget budget(job.workspace, spec.ok() ? spec->disk_bytes : 0,
                   spec.ok() ? spec->output_bytes : 0);
  Status status =
      spec.ok() ? PrepareWorkspace(job.workspace, options_.sandbox_uid) : Status(spec.error());
  // The client's files, before the first action (refused when a path leads through a symlink
  // that an earlier turn of a session left).
  bool files_failed = false;
  if (status.ok()) {
    status = WriteInputFiles(job.workspace, spec->files, SandboxOwner(options_.sandbox_uid));
    files_failed = !status.ok();
  }
  if (status.ok()) {
    JobRun run{job, *spec, log, budget, cancel, finish, start, ToolsFor(*spec, job, budget)};
    run.tools.on_egress_denied = [&log](const sandbox::EgressDenialEvent& event) {
      log.Add("network_denied", EgressDenialJson(event));
    };
    status = spec->kind == JobKind::kSteps ? RunSteps(run) : RunTask(run);
  }
  if (!status.ok()) {
    finish.state = JobState::kFailed;
    finish.reason = !spec.ok()                                             ? "invalid_job"
                    : files_failed                                         ? "input_files"
                    : status.error().code() == ErrorCode::kInvalidArgument ? "invalid_options"
                                                                           : "error";
    finish.summary = status.error().message();
    log.Add("error", json::object{{"kind", "job"}, {"message", finish.summary}});
  }
  if (std::string bound = budget.exhausted(); !bound.empty()) {
    finish.state = JobState::kFailed;  // the agent was stopped for it: not a cancel
    finish.reason = bound;
  } else if (cancel.cancelled() && finish.reason != kReasonFinished) {
    finish.state = stopping_ ? JobState::kFailed : JobState::kCancelled;
    finish.reason = stopping_ ? "server_stopped" : std::string(kReasonCancelled);
    finish.summary = stopping_ ? "the server stopped while the job ran" : "cancelled on request";
  }
  log.Flush();
  // A server on its way down lists the files without reading them, so that it stops promptly.
  AddManifest(job.workspace,
              stopping_ ? artifacts::HashBudget{0, milliseconds(0)} : options_.hash_budget,
              &finish.result);
  // A session's turn also records what it changed since the turn before: its manifest alone
  // cannot say, the workspace being the session's.
  if (const json::value* files = finish.result.if_contains("files");
      !job.session_id.empty() && files != nullptr && files->is_array()) {
    if (auto changes = TurnChanges(store_, job, files->get_array()); changes.ok()) {
      finish.result["changes"] = std::move(*changes);
    } else {
      LOG_WARN("job {}: what its turn changed is unknown: {}", job.id, changes.error().message());
    }
  }
  finish.result["duration_ms"] =
      std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
  if (Result<uint64_t> bytes = sys::DiskUsage(job.workspace); bytes.ok()) {
    finish.workspace_bytes = static_cast<int64_t>(*bytes);  // for its owner's workspace quota
  }
  auto finished = FinishPatiently(job, finish, log);
  if (finished.ok()) {
    log::WriteFields(
        log::Level::kInfo, fmt::format("job {} {}", job.id, JobStateName(finished->state)),
        json::object{
            {"job", job.id},
            {"state", JobStateName(finished->state)},
            {"reason", finished->reason},
            {"owner", job.owner},
            {"worker", worker},
            {"seconds",
             static_cast<double>(
                 std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count()) /
                 1000.0}});
  }
  std::lock_guard lock(mutex_);
  if (!finished.ok() && !running_.at(job.id).lost) {
    LOG_WARN("job {}: could not record its end: {}", job.id, finished.error().message());
  }
  running_.erase(job.id);
}

Result<Job> WorkerPool::FinishPatiently(const Job& job, const FinishRequest& finish,
                                        EventLog& log) {
  const auto give_up = SteadyClock::now() + options_.store_patience;
  for (milliseconds wait(100);; wait = std::min(wait * 2, milliseconds(2000))) {
    // The events first: once the job has ended, the store takes no more of them.
    Result<Job> finished =
        log.Flush()
            ? store_.Finish(job.id, finish)
            : Result<Job>(Error(ErrorCode::kUnavailable, "its events could not be written"));
    if (finished.ok() || finished.error().code() != ErrorCode::kUnavailable || stopping_ ||
        SteadyClock::now() + wait > give_up) {
      return finished;
    }
    if (wait == milliseconds(100)) {
      LOG_WARN("job {}: the store is unavailable ({}); its end is recorded once it answers", job.id,
               finished.error().message());
    }
    std::this_thread::sleep_for(wait);
  }
}

agent::ToolOptions WorkerPool::ToolsFor(const JobSpec& spec, const Job& job,
                                        JobBudget& budget) const {
  agent::ToolOptions tools;
  tools.workspace = job.workspace;
  tools.limits = spec.action_limits;
  tools.max_wall_time = std::max(options_.bounds.max_action_time, spec.action_limits.wall_time);
  tools.network = spec.network;
  tools.egress = spec.egress;
  tools.fit_limits = [&budget](sandbox::Limits& limits) {
    return budget.Fit(limits);
  };
  return tools;
}

sandbox::OutputCallback WorkerPool::OutputTo(JobRun& run, agent::OutputEncoder& encoder) {
  return [&run, &encoder](sandbox::Stream stream, std::string_view data) {
    run.budget.CountOutput(data.size());
    if (std::optional<json::object> event = encoder.Add(stream, data)) {
      run.log.Add("output", std::move(*event));
    }
  };
}

Status WorkerPool::RunSteps(JobRun& run) {
  agent::ToolRunner runner(supervisor_, run.tools);
  int index = 0;
  for (const Step& step : run.spec.steps) {
    ++index;
    if (run.cancel.cancelled()) {
      return OkStatus();
    }
    std::string tool;
    json::object arguments;
    switch (step.kind) {
      case Step::Kind::kShell:
        tool = "run_shell";
        arguments["command"] = step.code;
        break;
      case Step::Kind::kPython:
        tool = "run_python";
        arguments["code"] = step.code;
        break;
      case Step::Kind::kWriteFile:
        tool = "write_file";
        arguments = json::object{{"path", step.path}, {"content", step.code}};
        break;
    }
    run.log.Add("action", json::object{{"step", index}, {"tool", tool}, {"arguments", arguments}});
    auto remaining = std::chrono::duration_cast<milliseconds>(run.spec.timeout -
                                                              (SteadyClock::now() - run.start));
    if (remaining.count() <= 0) {
      run.finish.reason = std::string(kReasonTimeout);
      run.finish.summary = fmt::format("the job ran out of time ({}) before step {}",
                                       FormatDuration(run.spec.timeout), index);
      return OkStatus();
    }
    json::object limited = arguments;
    if (remaining < run.tools.limits.wall_time) {
      limited["timeout_seconds"] = std::max<int64_t>(1, remaining.count() / 1000);
    }
    agent::OutputEncoder output(index);
    agent::Observation observation = runner.Run(tool, limited, OutputTo(run, output), &run.cancel);
    for (json::object& event : output.Finish()) {
      run.log.Add("output", std::move(event));  // a character the program never finished
    }
    metrics::RecordSandboxRun("job", observation.outcome);
    run.log.Add("observation", ObservationJson(index, tool, observation));
    if (!observation.ok && !run.cancel.cancelled()) {
      run.budget.EndedByJobBound(observation.outcome);
      run.finish.reason = "step_failed";
      run.finish.summary = fmt::format("step {} ({}) failed: {}", index, tool, observation.summary);
      return OkStatus();
    }
  }
  if (!run.cancel.cancelled()) {
    run.finish.state = JobState::kSucceeded;
    run.finish.reason = std::string(kReasonFinished);
    run.finish.summary = fmt::format("{} steps ran", run.spec.steps.size());
  }
  return OkStatus();
}

Status WorkerPool::RunTask(JobRun& run) {
  // The model the job names or the server's. Never a base_url from the job: the server's API keys
  // must only go to their own endpoints.
  llm::ProviderFlags flags{run.spec.provider, run.spec.model, ""};
  ASSIGN_OR_RETURN(llm::ProviderConfig provider,
                   llm::ResolveProvider(flags, options_.config,
                                        [](const char* name) { return std::getenv(name); }));
  std::unique_ptr<llm::Client> client = llm::MakeClient(provider);
  agent::ToolRunner runner(supervisor_, run.tools);
  agent::AgentOptions agent_options;
  agent_options.wall_time = std::chrono::duration_cast<std::chrono::seconds>(run.spec.timeout);
  if (run.spec.max_steps > 0) {
    agent_options.max_steps = run.spec.max_steps;
  }
  agent::Policy policy(run.spec.approve, options_.config.Strings("agent.allow"),
                       options_.config.Strings("agent.deny"),
                       run.spec.network == sandbox::NetworkMode::kHost);
  // No one sits at a server's terminal: an action that needs approval waits for an answer
  // through the API.
  ServerApprovals approvals(store_, run.log, Lease{run.job.id, run.finish.worker, run.job.attempt},
                            run.cancel, options_.approval_timeout, run.start + run.spec.timeout);
  RETURN_IF_ERROR(approvals.LoadSessionGrants(run.job));
  agent::Agent agent(
      *client, runner, std::move(policy), agent_options,
      [&](const agent::Event& event) {
        if (event.type == agent::EventType::kObservation) {
          std::string outcome = StringAt(event.data, "outcome");
          if (outcome != "unknown_tool" && outcome != "job_limit") {
            metrics::RecordSandboxRun("job", outcome);
          }
          // A run refused, or ended, by the job's own bounds ends the job: the model cannot
          // free what the job has used.
          const json::value* ok = event.data.if_contains("ok");
          bool failed = ok != nullptr && ok->is_bool() && !ok->get_bool();
          if (outcome == "job_limit" || (failed && run.budget.EndedByJobBound(outcome))) {
            run.cancel.Cancel();
          }
        }
        if (event.type == agent::EventType::kOutput) {
          run.budget.CountOutput(StringAt(event.data, "text").size());
        }
        if (event.type == agent::EventType::kAction) {
          if (const json::value* step = event.data.if_contains("step");
              step != nullptr && step->is_int64()) {
            approvals.SetStep(static_cast<int>(step->get_int64()));
          }
        }
        run.log.Add(std::string(agent::EventTypeName(event.type)), event.data);
      },
      [&approvals](const std::string& tool, const json::object& arguments,
                   const std::string& reason,
                   std::string* why) { return approvals.Ask(tool, arguments, reason, why); });
  // A session's message sees the session's earlier turns.
  ASSIGN_OR_RETURN(std::string task, TaskWithSessionContext(store_, run.job));
  agent::AgentResult result = agent.Run(task, &run.cancel);
  run.finish.state = result.status == "succeeded"   ? JobState::kSucceeded
                     : result.status == "cancelled" ? JobState::kCancelled
                                                    : JobState::kFailed;
  run.finish.reason = result.reason;
  run.finish.summary = result.summary;
  if (std::string bound = run.budget.exhausted(); !bound.empty()) {
    run.finish.summary = fmt::format("the job reached its {} ({})", bound, result.summary);
  }
  metrics::RecordTokens(provider.provider, static_cast<int64_t>(result.usage.input_tokens),
                        static_cast<int64_t>(result.usage.output_tokens));
  run.finish.result["usage"] = json::object{{"input_tokens", result.usage.input_tokens},
                                            {"output_tokens", result.usage.output_tokens}};
  run.finish.result["steps"] = result.steps;
  return OkStatus();
}

}  // namespace warden::jobs
