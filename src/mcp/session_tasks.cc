// Session: MCP tasks (protocol 2025-11-25). A task-augmented tools/call of a tool the TaskRunner
// runs as a task answers its Task at once; tasks/get, tasks/result, tasks/cancel and tasks/list
// read and steer it, for the session's owner only.
#include <fmt/format.h>

#include "mcp/session.h"
#include "mcp/session_internal.h"

namespace warden::mcp {
namespace {

// The JSON-RPC error for a TaskRunner's error: an unknown task or bad params are the client's.
json::object TaskError(const json::value& id, const Error& error) {
  int code = error.code() == ErrorCode::kInternal || error.code() == ErrorCode::kUnavailable ||
                     error.code() == ErrorCode::kDataLoss
                 ? kInternalError
                 : kInvalidParams;
  return ErrorReply(id, code, error.message());
}

}  // namespace

Handled Session::CallAsTask(const Message& message, std::string_view tool,
                            const json::object& arguments) {
  const json::value& id = message.id;
  if (tasks_ == nullptr || !tasks_->RunsAsTask(tool)) {
    return Reply(
        ErrorReply(id, kInvalidParams,
                   fmt::format("{} does not run as a task: call it without params.task", tool)));
  }
  CallContext context{owner_, nullptr, [](double, std::optional<double>, std::string_view) {},
                      api_base_};
  Result<json::object> task = tasks_->StartTask(tool, arguments, context);
  if (!task.ok()) {
    // As for a plain call: the model reads why, and corrects its arguments.
    ToolResult refused;
    refused.is_error = true;
    refused.content.push_back(TextContent(task.error().message()));
    return Reply(ResultReply(id, ResultJson(refused)));
  }
  return Reply(ResultReply(id, json::object{{"task", std::move(*task)}}));
}

Handled Session::HandleTask(const Message& message, SendFn send) {
  const json::value& id = message.id;
  std::string task_id;
  if (const json::value* given = message.params.if_contains("taskId");
      given != nullptr && given->is_string()) {
    task_id = given->get_string();
  }
  if (task_id.empty() && message.method != "tasks/list") {
    return Reply(ErrorReply(
        id, kInvalidParams,
        fmt::format("{} needs params.taskId (from the task the call made)", message.method)));
  }
  CallContext context{owner_, nullptr, [](double, std::optional<double>, std::string_view) {},
                      api_base_};
  Result<json::object> answer = Error(ErrorCode::kInternal, "unanswered");
  if (message.method == "tasks/get") {
    answer = tasks_->GetTask(task_id, context);
  } else if (message.method == "tasks/cancel") {
    answer = tasks_->CancelTask(task_id, context);
  } else if (message.method == "tasks/list") {
    std::string cursor;
    if (const json::value* given = message.params.if_contains("cursor");
        given != nullptr && given->is_string()) {
      cursor = given->get_string();
    }
    answer = tasks_->ListTasks(cursor, context);
  } else if (message.method == "tasks/result") {
    // Blocks until the task ends: run like a tool call, cancellable, on the transport's thread.
    auto token = std::make_shared<sandbox::CancelToken>();
    CallContext waiting = ContextFor(message, std::move(send), token);
    auto call = [this, id, task_id, waiting = std::move(waiting), token]() -> json::object {
      Result<ToolResult> result = tasks_->AwaitTask(task_id, waiting);
      {
        std::lock_guard lock(mu_);
        running_.erase(KeyOf(id));
      }
      if (!result.ok()) {
        return TaskError(id, result.error());
      }
      json::object out = ResultJson(*result);
      out["_meta"] =
          json::object{{"io.modelcontextprotocol/related-task", json::object{{"taskId", task_id}}}};
      return ResultReply(id, std::move(out));
    };
    return {std::nullopt, std::move(call), id};
  } else {
    return Reply(ErrorReply(id, kMethodNotFound,
                            fmt::format("method \"{}\" not found: this server offers tasks/get, "
                                        "tasks/result, tasks/cancel and tasks/list",
                                        message.method)));
  }
  if (!answer.ok()) {
    return Reply(TaskError(id, answer.error()));
  }
  return Reply(ResultReply(id, std::move(*answer)));
}

}  // namespace warden::mcp
