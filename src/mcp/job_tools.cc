#include "mcp/job_tools.h"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "base/units.h"
#include "base/utf8.h"
#include "jobs/approvals.h"
#include "mcp/arguments.h"

namespace warden::mcp {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxLinks = 50;  // resource links in one result; the structured list has all

std::string StringAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

int64_t IntAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_int64() ? value->get_int64() : 0;
}

// One line of what an event says, for a progress notification; "" for events not worth one.
std::string Describe(const jobs::Event& event) {
  const json::object& data = event.data;
  if (event.type == "plan") {
    const json::value* steps = data.if_contains("steps");
    size_t count = steps != nullptr && steps->is_array() ? steps->get_array().size() : 0;
    return fmt::format("planned {} steps", count);
  }
  if (event.type == "action") {
    std::string what = StringAt(data, "tool");
    if (const json::value* arguments = data.if_contains("arguments");
        arguments != nullptr && arguments->is_object()) {
      for (std::string_view key : {"command", "code", "path"}) {
        std::string text = StringAt(arguments->get_object(), key);
        if (!text.empty()) {
          // Cut at 80 bytes, perhaps inside a character: made valid again for the JSON.
          text = ToValidUtf8(text.substr(0, std::min<size_t>(text.find('\n'), 80)));
          what += ": " + text;
          break;
        }
      }
    }
    return fmt::format("step {}: {}", IntAt(data, "step"), what);
  }
  if (event.type == "observation") {
    return fmt::format("step {} ended: {}", IntAt(data, "step"),
                       StringAt(data, "outcome").empty() ? "done" : StringAt(data, "outcome"));
  }
  if (event.type == "state") {
    return "job " + StringAt(data, "state");
  }
  return "";
}

// `path` as a URL path: every byte but unreserved ones and '/' percent-encoded.
std::string EncodePath(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Result<milliseconds> WaitArgument(const Arguments& args, milliseconds fallback,
                                  std::chrono::seconds most) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> seconds, args.OptionalCount("wait_seconds"));
  if (!seconds) {
    return std::min<milliseconds>(fallback, most);
  }
  if (*seconds > static_cast<uint64_t>(most.count())) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("wait_seconds may be at most {}, not {}", most.count(), *seconds));
  }
  return milliseconds(*seconds * 1000);
}

}  // namespace

json::array JobTools::List() const {
  return JobToolList();
}

Result<ToolResult> JobTools::Call(std::string_view name, const json::object& arguments,
                                  const CallContext& context) {
  if (name == "agent_task") {
    return RunAgentTask(arguments, context);
  }
  if (name == "agent_task_status") {
    return TaskStatus(arguments, context);
  }
  if (name == "agent_task_approve") {
    return Approve(arguments, context);
  }
  return Error(ErrorCode::kNotFound, fmt::format("no tool \"{}\"", name));
}

Result<jobs::Job> JobTools::CreateJob(const json::object& arguments, const CallContext& context) {
  ASSIGN_OR_RETURN(Arguments args,
                   Arguments::Check(arguments, "agent_task", {"task", "options", "wait_seconds"}));
  ASSIGN_OR_RETURN(std::string task, args.RequiredString("task"));
  jobs::NewJob job;
  job.owner = context.owner;
  job.kind = jobs::JobKind::kTask;
  job.input["task"] = task;
  if (const json::value* options = arguments.if_contains("options"); options != nullptr) {
    job.input["options"] = *options;
  }
  // Checked as POST /v1/jobs checks it: a bad option is the caller's to fix, named.
  ASSIGN_OR_RETURN(jobs::JobSpec spec, jobs::ParseJobSpec(job.input, options_.bounds));
  if (spec.kind != jobs::JobKind::kTask) {
    return Error(ErrorCode::kInvalidArgument, "agent_task takes a task, not steps");
  }
  job.requeue_on_crash = spec.requeue_on_crash;
  if (options_.llm != nullptr) {
    RETURN_IF_ERROR(options_.llm->Check(spec));
  }
  if (options_.admit) {
    RETURN_IF_ERROR(options_.admit(job.owner));
  }
  return store_.Create(std::move(job));
}

Result<ToolResult> JobTools::RunAgentTask(const json::object& arguments,
                                          const CallContext& context) {
  ASSIGN_OR_RETURN(Arguments args,
                   Arguments::Check(arguments, "agent_task", {"task", "options", "wait_seconds"}));
  ASSIGN_OR_RETURN(milliseconds wait, WaitArgument(args, milliseconds(600'000), options_.max_wait));
  ASSIGN_OR_RETURN(jobs::Job created, CreateJob(arguments, context));
  context.progress(0, std::nullopt, "job " + created.id + " queued");
  return Follow(created, wait, context);
}

Result<jobs::Job> JobTools::OwnJob(std::string_view id, const CallContext& context) {
  Result<jobs::Job> job = store_.Get(id, context.owner);
  if (!job.ok() && job.error().code() == ErrorCode::kNotFound) {
    return Error(ErrorCode::kNotFound,
                 fmt::format("no job {} of yours: pass the job_id agent_task returned", id));
  }
  return job;
}

Result<ToolResult> JobTools::TaskStatus(const json::object& arguments, const CallContext& context) {
  ASSIGN_OR_RETURN(Arguments args,
                   Arguments::Check(arguments, "agent_task_status", {"job_id", "wait_seconds"}));
  ASSIGN_OR_RETURN(std::string id, args.RequiredString("job_id"));
  ASSIGN_OR_RETURN(milliseconds wait, WaitArgument(args, milliseconds(0), options_.max_wait));
  ASSIGN_OR_RETURN(jobs::Job job, OwnJob(id, context));
  return Follow(job, wait, context);
}

Result<ToolResult> JobTools::Approve(const json::object& arguments, const CallContext& context) {
  ASSIGN_OR_RETURN(Arguments args, Arguments::Check(arguments, "agent_task_approve",
                                                    {"job_id", "decision", "reason", "approval_id",
                                                     "wait_seconds"}));
  ASSIGN_OR_RETURN(std::string id, args.RequiredString("job_id"));
  ASSIGN_OR_RETURN(std::string decision, args.RequiredString("decision"));
  if (decision != "approve" && decision != "deny" && decision != "always") {
    return Error(ErrorCode::kInvalidArgument,
                 "decision must be \"approve\", \"deny\" or \"always\"");
  }
  ASSIGN_OR_RETURN(std::optional<uint64_t> approval_id, args.OptionalCount("approval_id"));
  ASSIGN_OR_RETURN(milliseconds wait, WaitArgument(args, milliseconds(600'000), options_.max_wait));
  ASSIGN_OR_RETURN(jobs::Job job, OwnJob(id, context));
  jobs::AnswerRequest answer{.id = static_cast<int64_t>(approval_id.value_or(0)),
                             .approve = decision != "deny",
                             .always = decision == "always",
                             .reason = StringAt(arguments, "reason"),
                             .by = context.owner.empty() ? "operator" : context.owner};
  ASSIGN_OR_RETURN(jobs::ApprovalAnswer answered, jobs::AnswerApproval(store_, job, answer));
  context.progress(
      0, std::nullopt,
      fmt::format("approval {} {}", answered.id, answered.approved ? "approved" : "denied"));
  return Follow(job, wait, context, false);
}

Result<ToolResult> JobTools::Follow(const jobs::Job& job, milliseconds wait,
                                    const CallContext& context, bool cancel_job) {
  const auto start = SteadyClock::now();
  const auto deadline = start + wait;
  auto last_progress = start;
  double progress = 1;
  int64_t after = 0;
  bool ended = jobs::IsFinal(job.state);
  std::optional<jobs::Event> approval;  // the request the job waits on
  while (!ended && !approval && SteadyClock::now() < deadline) {
    if (context.cancel != nullptr && context.cancel->cancelled()) {
      if (!cancel_job) {
        return Error(ErrorCode::kCancelled, "the wait for job " + job.id + " was cancelled");
      }
      // The client cancelled the call (or went away): the job it started stops too.
      (void)store_.RequestCancel(job.id, context.owner);
      if (options_.cancel_running) {
        options_.cancel_running(job.id);
      }
      return Error(ErrorCode::kCancelled, "cancelled: job " + job.id + " was cancelled");
    }
    jobs::EventQuery query;
    query.after_seq = after;
    query.limit = 200;
    query.max_bytes = jobs::kEventPageBytes;
    ASSIGN_OR_RETURN(jobs::EventPage page, store_.ReadEvents(job.id, query));
    for (const jobs::Event& event : page.events) {
      after = event.seq;
      if (event.type == "state" && jobs::IsFinal(jobs::ParseJobState(StringAt(event.data, "state"))
                                                     .value_or(jobs::JobState::kRunning))) {
        ended = true;
      }
      if (event.type == jobs::kApprovalEventType && StringAt(event.data, "decision") == "pending") {
        approval = event;
      } else if (event.type == jobs::kApprovalAnswerEventType && approval &&
                 IntAt(event.data, "id") == approval->seq) {
        approval.reset();
      }
      if (std::string line = Describe(event); !line.empty()) {
        context.progress(++progress, std::nullopt, line);
        last_progress = SteadyClock::now();
      }
    }
    if (ended || page.more || approval) {
      continue;
    }
    const auto now = SteadyClock::now();
    if (now - last_progress >= options_.progress_every) {
      auto running = std::chrono::duration_cast<milliseconds>(now - start);
      context.progress(++progress, std::nullopt,
                       fmt::format("job {} still running ({})", job.id, FormatDuration(running)));
      last_progress = now;
    }
    // Short waits, so that a cancelled call is noticed within a quarter of a second.
    auto slice = std::min<SteadyClock::duration>(
        {deadline - now, options_.progress_every - (now - last_progress), milliseconds(250)});
    ASSIGN_OR_RETURN(
        bool more, store_.WaitForEvents(
                       job.id, after,
                       std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(slice))));
    (void)more;
  }
  ASSIGN_OR_RETURN(jobs::Job now, store_.Get(job.id, context.owner));
  return Outcome(now, std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start),
                 context.api_base, approval && !jobs::IsFinal(now.state) ? &*approval : nullptr);
}

ToolResult JobTools::Outcome(const jobs::Job& job, milliseconds waited, const std::string& api_base,
                             const jobs::Event* approval) const {
  ToolResult result;
  json::object& out = result.structured;
  out["job_id"] = job.id;
  out["state"] = jobs::JobStateName(job.state);
  out["reason"] = job.reason;
  out["summary"] = job.summary;
  json::array files;
  if (const json::value* listed = job.result.if_contains("files");
      listed != nullptr && listed->is_array()) {
    files = listed->get_array();
  }
  out["files"] = files;
  if (const json::value* usage = job.result.if_contains("usage"); usage != nullptr) {
    out["usage"] = *usage;
  }
  if (approval != nullptr) {
    std::string what = Describe(jobs::Event{0, 0, "action", approval->data});
    out["approval"] = json::object{
        {"id", approval->seq},
        {"tool", StringAt(approval->data, "tool")},
        {"arguments", approval->data.contains("arguments") ? approval->data.at("arguments")
                                                           : json::value(json::object{})},
        {"reason", StringAt(approval->data, "reason")},
        {"expires_at", IntAt(approval->data, "expires_at")}};
    result.content.push_back(TextContent(fmt::format(
        "Job {} waits for approval {} before {} ({}). Ask the user, then call agent_task_approve "
        "with job_id \"{}\" and decision \"approve\", \"deny\" (with a reason the agent is told) "
        "or \"always\" (this risk, from now on in this job and its session). Unanswered, it is "
        "denied when it expires.",
        job.id, approval->seq, what.substr(what.find(": ") + 2), StringAt(approval->data, "reason"),
        job.id)));
    return result;
  }
  if (!jobs::IsFinal(job.state)) {
    result.content.push_back(TextContent(fmt::format(
        "Job {} is still {} after {}. Call agent_task_status with job_id \"{}\" to wait for it.",
        job.id, jobs::JobStateName(job.state), FormatDuration(waited), job.id)));
    return result;
  }
  std::string text = fmt::format("Job {} {}", job.id, jobs::JobStateName(job.state));
  if (!job.reason.empty() && job.reason != jobs::kReasonFinished) {
    text += " (" + job.reason + ")";
  }
  text += job.summary.empty() ? "." : ": " + job.summary;
  if (!files.empty()) {
    text += fmt::format("\nFiles ({}):", files.size());
    for (const json::value& file : files) {
      if (file.is_object()) {
        text += fmt::format("\n  {} ({})", StringAt(file.get_object(), "path"),
                            FormatBytes(static_cast<uint64_t>(IntAt(file.get_object(), "size"))));
      }
    }
  }
  result.content.push_back(TextContent(text));
  // Links rather than contents: a client fetches what it needs, the model's context stays small.
  if (!api_base.empty()) {
    for (size_t i = 0; i < files.size() && i < kMaxLinks; ++i) {
      if (!files[i].is_object()) {
        continue;
      }
      const json::object& file = files[i].get_object();
      std::string path = StringAt(file, "path");
      result.content.push_back(
          json::object{{"type", "resource_link"},
                       {"uri", api_base + "/v1/jobs/" + job.id + "/files/" + EncodePath(path)},
                       {"name", path},
                       {"size", IntAt(file, "size")}});
    }
  }
  result.is_error = job.state != jobs::JobState::kSucceeded;
  return result;
}

CombinedTools::CombinedTools(const std::vector<ToolSet*>& sets) {
  for (ToolSet* set : sets) {
    for (json::value& tool : set->List()) {
      if (tool.is_object()) {
        by_name_.emplace(StringAt(tool.get_object(), "name"), set);
      }
      list_.push_back(std::move(tool));
    }
  }
}

Result<ToolResult> CombinedTools::Call(std::string_view name, const json::object& arguments,
                                       const CallContext& context) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return Error(ErrorCode::kNotFound, fmt::format("no tool \"{}\"", name));
  }
  return it->second->Call(name, arguments, context);
}

}  // namespace warden::mcp
