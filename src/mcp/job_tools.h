// Warden's agent as MCP tools: agent_task hands a task in plain language to the job service (a
// durable job, as POST /v1/jobs makes) and waits for it, sending progress notifications as the
// agent plans and acts (and at least every few seconds), so that a client with a request timeout
// keeps waiting; agent_task_status waits for a job again, or reads how it ended. The job belongs
// to the caller's API key: the REST API and the dashboard show it too.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job_spec.h"
#include "jobs/llm_availability.h"
#include "jobs/store.h"
#include "mcp/tool.h"

namespace warden::mcp {

// The tools' descriptions, schemas and annotations.
json::array JobToolList();

struct JobToolOptions {
  // What a task's options may ask for (as on POST /v1/jobs).
  jobs::JobBounds bounds;
  // Called before a job is stored: an error refuses it (a full workspace quota). Unset: none.
  std::function<Status(std::string_view owner)> admit;
  // Whether a task can run here: a task without an LLM is refused, saying what to configure.
  // Null: not checked.
  jobs::LlmAvailability* llm = nullptr;
  // Kills the sandbox of a running job whose cancellation was recorded. Unset: none.
  std::function<void(const std::string& job_id)> cancel_running;
  // A progress notification at least this often while a job runs.
  std::chrono::milliseconds progress_every{5000};
  // The longest a call waits for its job (wait_seconds may ask for less).
  std::chrono::seconds max_wait{3600};
};

// Thread-safe; the store outlives it. agent_task also runs as an MCP task (job_tasks.cc): the
// task is the job, its id the job's id.
class JobTools : public ToolSet, public TaskRunner {
 public:
  JobTools(jobs::JobStore& store, JobToolOptions options)
      : store_(store), options_(std::move(options)) {}

  json::array List() const override;
  Result<ToolResult> Call(std::string_view name, const json::object& arguments,
                          const CallContext& context) override;

  bool RunsAsTask(std::string_view tool) const override { return tool == "agent_task"; }
  Result<json::object> StartTask(std::string_view tool, const json::object& arguments,
                                 const CallContext& context) override;
  Result<json::object> GetTask(std::string_view id, const CallContext& context) override;
  Result<ToolResult> AwaitTask(std::string_view id, const CallContext& context) override;
  Result<json::object> CancelTask(std::string_view id, const CallContext& context) override;
  Result<json::object> ListTasks(std::string_view cursor, const CallContext& context) override;

 private:
  // Checks an agent_task call's arguments and stores its job.
  Result<jobs::Job> CreateJob(const json::object& arguments, const CallContext& context);
  Result<ToolResult> RunAgentTask(const json::object& arguments, const CallContext& context);
  Result<ToolResult> TaskStatus(const json::object& arguments, const CallContext& context);
  // Answers the job's pending approval, then waits for it as agent_task_status does.
  Result<ToolResult> Approve(const json::object& arguments, const CallContext& context);
  // The caller's job `id`; kNotFound, saying where ids come from, for any other.
  Result<jobs::Job> OwnJob(std::string_view id, const CallContext& context);
  // Waits up to `wait` for the job to end, reporting progress; then what became of it. A job that
  // waits for approval returns at once, saying what waits and how to answer (agent_task_approve).
  // A cancelled call cancels the job when `cancel_job`, and otherwise only stops waiting.
  Result<ToolResult> Follow(const jobs::Job& job, std::chrono::milliseconds wait,
                            const CallContext& context, bool cancel_job = true);
  // `approval`: the request event the job waits on, if any.
  ToolResult Outcome(const jobs::Job& job, std::chrono::milliseconds waited,
                     const std::string& api_base, const jobs::Event* approval = nullptr) const;

  jobs::JobStore& store_;
  const JobToolOptions options_;
};

// Several tool sets as one: tools/list lists them all; a call goes to the set that lists its name.
class CombinedTools : public ToolSet {
 public:
  explicit CombinedTools(const std::vector<ToolSet*>& sets);
  json::array List() const override { return list_; }
  Result<ToolResult> Call(std::string_view name, const json::object& arguments,
                          const CallContext& context) override;

 private:
  json::array list_;
  std::map<std::string, ToolSet*, std::less<>> by_name_;
};

}  // namespace warden::mcp
