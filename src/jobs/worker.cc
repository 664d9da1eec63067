#include "jobs/worker.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stop_token>

#include <fmt/format.h>

#include "artifacts/artifacts.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/units.h"
#include "jobs/turns.h"
#include "llm/providers.h"

namespace warden::jobs {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

std::string StringAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

// Events go to the store in batches: output arrives in many small chunks, and each append is a
// durable commit. Anything but output is written at once, with what was pending before it. Output
// waits at most about kOutputDelay: a program that prints a line and then stays quiet for minutes
// must not keep that line from followers (a thread of the log flushes it).
class EventLog {
 public:
  static constexpr milliseconds kOutputDelay{100};

  EventLog(JobStore& store, std::string job_id)
      : store_(store),
        job_id_(std::move(job_id)),
        flusher_([this](const std::stop_token& stop) { FlushPeriodically(stop); }) {}
  ~EventLog() {
    flusher_.request_stop();
    flusher_.join();
    Flush();
  }

  void Add(std::string type, json::object data) {
    std::lock_guard lock(mutex_);
    bool output = type == "output";
    pending_bytes_ += output ? StringAt(data, "text").size() : 0;
    pending_.push_back({job_id_, std::move(type), std::move(data)});
    if (!output || pending_bytes_ > size_t{16} * 1024 ||
        SteadyClock::now() - last_flush_ > kOutputDelay) {
      FlushLocked();
    }
  }

  void Flush() {
    std::lock_guard lock(mutex_);
    FlushLocked();
  }

 private:
  void FlushPeriodically(const std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    while (!stop.stop_requested()) {
      tick_.wait_for(lock, stop, kOutputDelay, [] { return false; });
      FlushLocked();
    }
  }

  void FlushLocked() {
    if (pending_.empty()) {
      return;
    }
    auto written = store_.AppendEvents(std::move(pending_));
    if (!written.ok()) {
      LOG_WARN("job {}: events lost: {}", job_id_, written.error().message());
    }
    pending_.clear();
    pending_bytes_ = 0;
    last_flush_ = SteadyClock::now();
  }

  JobStore& store_;
  std::string job_id_;
  std::mutex mutex_;
  std::vector<NewEvent> pending_;
  size_t pending_bytes_ = 0;
  SteadyClock::time_point last_flush_ = SteadyClock::now();
  std::condition_variable_any tick_;  // never notified: the flusher's stoppable sleep
  std::jthread flusher_;              // last: starts after the members it uses, stops before them
};

Status PrepareWorkspace(const std::string& path, uid_t sandbox_uid) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return Error(ErrorCode::kInternal,
                 fmt::format("cannot create the workspace {}: {}", path, ec.message()));
  }
  if (::geteuid() == 0 && ::chown(path.c_str(), sandbox_uid, sandbox_uid) != 0) {
    return Error::FromErrno("chown(" + path + ")", errno);
  }
  return OkStatus();
}

// Limits from the job's options, bounded by the server's.
Result<agent::ToolOptions> ToolOptionsFor(const json::object& options, const WorkerOptions& server,
                                          const std::string& workspace) {
  agent::ToolOptions tools;
  tools.workspace = workspace;
  tools.limits = server.limits;
  if (std::string text = StringAt(options, "action_timeout"); !text.empty()) {
    ASSIGN_OR_RETURN(milliseconds wall, ParseDuration(text));
    tools.limits.wall_time = std::min(wall, server.max_action_time);
    tools.limits.cpu_time = tools.limits.wall_time;
  }
  if (std::string text = StringAt(options, "memory"); !text.empty()) {
    ASSIGN_OR_RETURN(uint64_t bytes, ParseBytes(text));
    tools.limits.memory_bytes = std::min(bytes, server.max_memory_bytes);
  }
  std::string network = StringAt(options, "network");
  if (network == "host") {
    if (!server.allow_network) {
      return Error(ErrorCode::kPermissionDenied,
                   "this server does not allow jobs on the host's network (warden serve "
                   "--allow-network)");
    }
    tools.network = sandbox::NetworkMode::kHost;
  }
  return tools;
}

json::object FilesJson(const std::string& workspace) {
  json::object result;
  json::array files;
  auto manifest = artifacts::Manifest(workspace);
  if (manifest.ok()) {
    for (const artifacts::FileInfo& file : *manifest) {
      files.push_back(
          json::object{{"path", file.path}, {"size", file.size}, {"sha256", file.sha256}});
    }
  }
  result["files"] = std::move(files);
  return result;
}

}  // namespace

namespace {

// The options a job may set, checked before it is stored so that a typo is a 400 now rather than
// a failed job later.
Status ValidateOptions(const json::object& options) {
  static constexpr std::string_view kKnown =
      "timeout, action_timeout, memory, network, provider, model, max_steps, approve, "
      "requeue_on_crash";
  for (const auto& option : options) {
    std::string_view key = option.key();
    const json::value& value = option.value();
    auto need = [&](std::string_view what) {
      return Error(ErrorCode::kInvalidArgument, fmt::format("options.{} must be {}", key, what));
    };
    if (key == "timeout" || key == "action_timeout") {
      if (!value.is_string() || !ParseDuration(value.get_string()).ok()) {
        return need("a duration such as \"90s\", \"10m\" or \"2h\"");
      }
    } else if (key == "memory") {
      if (!value.is_string() || !ParseBytes(value.get_string()).ok()) {
        return need("a size such as \"512M\" or \"2G\"");
      }
    } else if (key == "network") {
      if (!value.is_string() || (value.get_string() != "none" && value.get_string() != "host")) {
        return need("\"none\" or \"host\"");
      }
    } else if (key == "provider" || key == "model") {
      if (!value.is_string() || value.get_string().empty()) {
        return need("a non-empty string");
      }
    } else if (key == "max_steps") {
      if (!value.is_int64() || value.get_int64() < 1 || value.get_int64() > 1000) {
        return need("a whole number from 1 to 1000");
      }
    } else if (key == "approve") {
      if (!value.is_string() || !agent::ParseApprovalMode(value.get_string()).ok()) {
        return need("\"never\", \"risky\" or \"always\"");
      }
    } else if (key == "requeue_on_crash") {
      if (!value.is_bool()) {
        return need("true or false");
      }
    } else {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("unknown option \"{}\" (known: {})", key, kKnown));
    }
  }
  return OkStatus();
}

}  // namespace

Result<JobKind> ValidateJobInput(const json::object& input) {
  const json::value* task = input.if_contains("task");
  const json::value* steps = input.if_contains("steps");
  if ((task != nullptr) == (steps != nullptr)) {
    return Error(ErrorCode::kInvalidArgument,
                 "a job has either \"task\" (a string) or \"steps\" (an array), not both or none");
  }
  if (const json::value* options = input.if_contains("options"); options != nullptr) {
    if (!options->is_object()) {
      return Error(ErrorCode::kInvalidArgument, "\"options\" must be an object");
    }
    RETURN_IF_ERROR(ValidateOptions(options->get_object()));
  }
  for (const auto& field : input) {
    if (field.key() != "task" && field.key() != "steps" && field.key() != "options") {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("unknown field \"{}\": a job has \"task\" or \"steps\", and "
                               "\"options\"",
                               std::string_view(field.key())));
    }
  }
  if (task != nullptr) {
    if (!task->is_string() ||
        task->get_string().find_first_not_of(" \t\r\n") == json::string::npos) {
      return Error(ErrorCode::kInvalidArgument, "\"task\" must be a non-empty string");
    }
    return JobKind::kTask;
  }
  if (!steps->is_array() || steps->get_array().empty()) {
    return Error(ErrorCode::kInvalidArgument, "\"steps\" must be a non-empty array");
  }
  size_t index = 0;
  for (const json::value& step : steps->get_array()) {
    const json::object* s = step.if_object();
    bool ok = s != nullptr && s->size() == 1 &&
              ((s->contains("shell") && s->at("shell").is_string()) ||
               (s->contains("python") && s->at("python").is_string()) ||
               (s->contains("write_file") && s->at("write_file").is_object() &&
                s->at("write_file").get_object().contains("path") &&
                s->at("write_file").get_object().at("path").is_string() &&
                s->at("write_file").get_object().contains("content") &&
                s->at("write_file").get_object().at("content").is_string()));
    if (!ok) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("steps[{}] must be one of {{\"shell\": \"...\"}}, {{\"python\": "
                               "\"...\"}}, {{\"write_file\": {{\"path\": \"...\", \"content\": "
                               "\"...\"}}}}",
                               index));
    }
    ++index;
  }
  return JobKind::kSteps;
}

WorkerPool::WorkerPool(JobStore& store, sandbox::Supervisor& supervisor, WorkerOptions options)
    : store_(store), supervisor_(supervisor), options_(std::move(options)) {}

WorkerPool::~WorkerPool() {
  Stop();
}

void WorkerPool::Start() {
  for (size_t i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this, i] { Loop(i); });
  }
  watcher_ = std::thread([this] { WatchCancels(); });
}

void WorkerPool::Stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, token] : running_) {
      token->Cancel();
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
    it->second->Cancel();
  }
}

size_t WorkerPool::running() const {
  std::lock_guard lock(mutex_);
  return running_.size();
}

void WorkerPool::WatchCancels() {
  // Cancellation requested through another server process sharing the store.
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, milliseconds(500));
    std::vector<std::pair<std::string, sandbox::CancelToken*>> jobs(running_.begin(),
                                                                    running_.end());
    lock.unlock();
    for (auto& [id, token] : jobs) {
      auto requested = store_.IsCancelRequested(id);
      if (requested.ok() && *requested) {
        std::lock_guard again(mutex_);
        if (running_.contains(id)) {  // still running: the token is still alive
          token->Cancel();
        }
      }
    }
    lock.lock();
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
      (void)store_.WaitForQueued(milliseconds(500));
      continue;
    }
    RunJob(**job, worker);
  }
}

void WorkerPool::RunJob(const Job& job, const std::string& worker) {
  sandbox::CancelToken cancel;
  {
    std::lock_guard lock(mutex_);
    running_[job.id] = &cancel;
    if (stopping_ || job.cancel_requested) {
      cancel.Cancel();
    }
  }
  EventLog log(store_, job.id);
  FinishRequest finish;
  finish.worker = worker;
  finish.state = JobState::kFailed;  // until the job says otherwise
  SteadyClock::time_point start = SteadyClock::now();
  const json::value* options_value = job.input.if_contains("options");
  json::object options = options_value != nullptr && options_value->is_object()
                             ? options_value->get_object()
                             : json::object{};

  auto run = [&]() -> Status {
    RETURN_IF_ERROR(PrepareWorkspace(job.workspace, options_.sandbox_uid));
    ASSIGN_OR_RETURN(agent::ToolOptions tools, ToolOptionsFor(options, options_, job.workspace));
    milliseconds timeout = options_.job_timeout;
    if (std::string text = StringAt(options, "timeout"); !text.empty()) {
      ASSIGN_OR_RETURN(milliseconds asked, ParseDuration(text));
      timeout = std::min(asked, options_.job_timeout);
    }
    agent::ToolRunner runner(supervisor_, tools);
    if (job.kind == JobKind::kSteps) {
      const json::array& steps = job.input.at("steps").get_array();
      int index = 0;
      for (const json::value& step_value : steps) {
        ++index;
        if (cancel.cancelled()) {
          break;
        }
        const json::object& step = step_value.get_object();
        std::string tool;
        json::object arguments;
        if (step.contains("shell")) {
          tool = "run_shell";
          arguments["command"] = step.at("shell");
        } else if (step.contains("python")) {
          tool = "run_python";
          arguments["code"] = step.at("python");
        } else {
          tool = "write_file";
          arguments = step.at("write_file").get_object();
        }
        log.Add("action", json::object{{"step", index}, {"tool", tool}, {"arguments", arguments}});
        auto remaining =
            std::chrono::duration_cast<milliseconds>(timeout - (SteadyClock::now() - start));
        if (remaining.count() <= 0) {
          finish.state = JobState::kFailed;
          finish.reason = std::string(kReasonTimeout);
          finish.summary = fmt::format("the job ran out of time ({}) before step {}",
                                       FormatDuration(timeout), index);
          return OkStatus();
        }
        json::object limited = arguments;
        if (remaining < tools.limits.wall_time) {
          limited["timeout_seconds"] = std::max<int64_t>(1, remaining.count() / 1000);
        }
        agent::Observation observation = runner.Run(
            tool, limited,
            [&](sandbox::Stream stream, std::string_view data) {
              log.Add(
                  "output",
                  json::object{{"step", index},
                               {"stream", stream == sandbox::Stream::kStdout ? "stdout" : "stderr"},
                               {"text", data}});
            },
            &cancel);
        metrics::RecordSandboxRun("job", observation.outcome);
        log.Add("observation", json::object{{"step", index},
                                            {"tool", tool},
                                            {"outcome", observation.outcome},
                                            {"exit_code", observation.exit_code},
                                            {"ok", observation.ok},
                                            {"duration_ms", observation.duration.count()},
                                            {"summary", observation.summary}});
        if (!observation.ok && !cancel.cancelled()) {
          finish.state = JobState::kFailed;
          finish.reason = "step_failed";
          finish.summary = fmt::format("step {} ({}) failed: {}", index, tool, observation.summary);
          return OkStatus();
        }
      }
      if (!cancel.cancelled()) {
        finish.state = JobState::kSucceeded;
        finish.reason = std::string(kReasonFinished);
        finish.summary = fmt::format("{} steps ran", steps.size());
      }
      return OkStatus();
    }

    // A task: the agent, with the model the job names or the server's.
    // Never a base_url from the job: the server's API keys must only go to their own endpoints.
    llm::ProviderFlags flags{StringAt(options, "provider"), StringAt(options, "model"), ""};
    ASSIGN_OR_RETURN(llm::ProviderConfig provider,
                     llm::ResolveProvider(flags, options_.config,
                                          [](const char* name) { return std::getenv(name); }));
    std::unique_ptr<llm::Client> client = llm::MakeClient(provider);
    agent::AgentOptions agent_options;
    agent_options.wall_time = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    if (const json::value* steps = options.if_contains("max_steps");
        steps != nullptr && steps->is_int64() && steps->get_int64() > 0) {
      agent_options.max_steps = static_cast<int>(steps->get_int64());
    }
    auto mode = agent::ParseApprovalMode(
        StringAt(options, "approve").empty() ? "never" : StringAt(options, "approve"));
    RETURN_IF_ERROR(mode);
    agent::Policy policy(*mode, options_.config.Strings("agent.allow"),
                         options_.config.Strings("agent.deny"),
                         tools.network == sandbox::NetworkMode::kHost);
    agent::Agent agent(
        *client, runner, std::move(policy), agent_options,
        [&](const agent::Event& event) {
          if (event.type == agent::EventType::kObservation &&
              StringAt(event.data, "outcome") != "unknown_tool") {
            metrics::RecordSandboxRun("job", StringAt(event.data, "outcome"));
          }
          log.Add(std::string(agent::EventTypeName(event.type)), event.data);
        },
        // No one sits at a server's terminal: actions that need approval are refused, and the
        // model is told so.
        nullptr);
    // A session's message sees the session's earlier turns.
    ASSIGN_OR_RETURN(std::string task, TaskWithSessionContext(store_, job));
    agent::AgentResult result = agent.Run(task, &cancel);
    finish.state = result.status == "succeeded"   ? JobState::kSucceeded
                   : result.status == "cancelled" ? JobState::kCancelled
                                                  : JobState::kFailed;
    finish.reason = result.reason;
    finish.summary = result.summary;
    metrics::RecordTokens(provider.provider, static_cast<int64_t>(result.usage.input_tokens),
                          static_cast<int64_t>(result.usage.output_tokens));
    finish.result["usage"] = json::object{{"input_tokens", result.usage.input_tokens},
                                          {"output_tokens", result.usage.output_tokens}};
    finish.result["steps"] = result.steps;
    return OkStatus();
  };

  Status status = run();
  if (!status.ok()) {
    finish.state = JobState::kFailed;
    finish.reason =
        status.error().code() == ErrorCode::kInvalidArgument ? "invalid_options" : "error";
    finish.summary = status.error().message();
    log.Add("error", json::object{{"kind", "job"}, {"message", finish.summary}});
  }
  if (cancel.cancelled() && finish.reason != kReasonFinished) {
    finish.state = stopping_ ? JobState::kFailed : JobState::kCancelled;
    finish.reason = stopping_ ? "server_stopped" : std::string(kReasonCancelled);
    finish.summary = stopping_ ? "the server stopped while the job ran" : "cancelled on request";
  }
  log.Flush();
  json::object files = FilesJson(job.workspace);
  finish.result["files"] = files["files"];
  finish.result["duration_ms"] =
      std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
  auto finished = store_.Finish(job.id, std::move(finish));
  if (!finished.ok()) {
    LOG_WARN("job {}: could not record its end: {}", job.id, finished.error().message());
  }
  std::lock_guard lock(mutex_);
  running_.erase(job.id);
}

}  // namespace warden::jobs
