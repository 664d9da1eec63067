// JobTools as a TaskRunner: an agent_task started as an MCP task is its job. The task's status is
// the job's state (queued and running are "working"), its id the job's id, and what tasks/result
// returns is what a plain agent_task call returns once the job has ended.
#include <ctime>

#include <fmt/format.h>

#include "mcp/job_tools.h"

namespace warden::mcp {
namespace {

// Suggested between two tasks/get of a client.
constexpr int64_t kPollIntervalMs = 1000;

// "2026-12-07T14:05:09.123Z"
std::string IsoTime(int64_t ms) {
  std::time_t seconds = ms / 1000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

std::string_view TaskStatusOf(jobs::JobState state) {
  switch (state) {
    case jobs::JobState::kQueued:
    case jobs::JobState::kRunning:
      return "working";
    case jobs::JobState::kSucceeded:
      return "completed";
    case jobs::JobState::kFailed:
      return "failed";
    case jobs::JobState::kCancelled:
      return "cancelled";
  }
  return "working";
}

json::object TaskJson(const jobs::Job& job) {
  int64_t updated = job.finished_at_ms.value_or(job.started_at_ms.value_or(job.created_at_ms));
  std::string message = job.summary;
  if (message.empty()) {
    message = fmt::format("job {} is {}", job.id, jobs::JobStateName(job.state));
  }
  return json::object{{"taskId", job.id},
                      {"status", TaskStatusOf(job.state)},
                      {"statusMessage", message},
                      {"createdAt", IsoTime(job.created_at_ms)},
                      {"lastUpdatedAt", IsoTime(updated)},
                      {"ttl", nullptr},  // kept as the server's retention keeps jobs
                      {"pollInterval", kPollIntervalMs}};
}

}  // namespace

Result<json::object> JobTools::StartTask(std::string_view tool, const json::object& arguments,
                                         const CallContext& context) {
  if (!RunsAsTask(tool)) {
    return Error(ErrorCode::kInvalidArgument, fmt::format("{} does not run as a task", tool));
  }
  ASSIGN_OR_RETURN(jobs::Job job, CreateJob(arguments, context));
  return TaskJson(job);
}

Result<json::object> JobTools::GetTask(std::string_view id, const CallContext& context) {
  ASSIGN_OR_RETURN(jobs::Job job, OwnJob(id, context));
  return TaskJson(job);
}

Result<ToolResult> JobTools::AwaitTask(std::string_view id, const CallContext& context) {
  ASSIGN_OR_RETURN(jobs::Job job, OwnJob(id, context));
  for (;;) {
    ASSIGN_OR_RETURN(ToolResult result,
                     Follow(job, options_.max_wait, context, /*cancel_job=*/false));
    std::string state = result.structured.contains("state")
                            ? std::string(result.structured.at("state").as_string())
                            : "";
    if (state != "queued" && state != "running") {
      return result;
    }
  }
}

Result<json::object> JobTools::CancelTask(std::string_view id, const CallContext& context) {
  ASSIGN_OR_RETURN(jobs::Job job, OwnJob(id, context));
  if (jobs::IsFinal(job.state)) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("task {} has already ended ({}): there is nothing to cancel", id,
                             TaskStatusOf(job.state)));
  }
  ASSIGN_OR_RETURN(jobs::Job cancelled, store_.RequestCancel(job.id, context.owner));
  if (options_.cancel_running) {
    options_.cancel_running(job.id);
  }
  json::object task = TaskJson(cancelled);
  // A running job ends once its sandbox is gone; the cancellation is recorded already.
  task["status"] = "cancelled";
  return task;
}

Result<json::object> JobTools::ListTasks(std::string_view cursor, const CallContext& context) {
  jobs::JobFilter filter;
  filter.owner = context.owner;
  jobs::PageRequest page;
  page.limit = 100;
  page.cursor = cursor;
  Result<jobs::JobPage> jobs = store_.List(filter, page);
  if (!jobs.ok()) {
    if (jobs.error().code() == ErrorCode::kInvalidArgument) {
      return Error(ErrorCode::kInvalidArgument, "params.cursor is not one tasks/list gave");
    }
    return jobs.error();
  }
  json::array tasks;
  for (const jobs::Job& job : jobs->jobs) {
    tasks.push_back(TaskJson(job));
  }
  json::object out{{"tasks", std::move(tasks)}};
  if (!jobs->next_cursor.empty()) {
    out["nextCursor"] = jobs->next_cursor;
  }
  return out;
}

}  // namespace warden::mcp
