// What the protocol core (session.h) needs of the tools it serves: their descriptions for
// tools/list and a way to call one. Independent of any transport and of what the tools do.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/result.h"
#include "sandbox/sandbox.h"

namespace warden::mcp {

// What a tool call answers: MCP's CallToolResult.
struct ToolResult {
  json::array content;      // content blocks ({"type":"text","text":...}, resource links)
  json::object structured;  // structuredContent, when the tool has an outputSchema
  bool is_error = false;    // the tool ran and failed: the model should read why and adapt
};

// A text content block.
json::object TextContent(std::string_view text);

// Reports progress of a long call: a count that only grows, an optional total, a sentence.
using ProgressFn =
    std::function<void(double progress, std::optional<double> total, std::string_view message)>;

// The circumstances of one call.
struct CallContext {
  std::string owner;                             // whose sandboxes: an API key's owner, or "stdio"
  const sandbox::CancelToken* cancel = nullptr;  // cancelled by notifications/cancelled
  ProgressFn progress;                           // never empty; a no-op without a progressToken
  // Where the client reaches Warden's REST API ("https://host:8443"), for resource links to
  // files; "" when it cannot (stdio).
  std::string api_base;
};

// A set of tools. Implementations are thread-safe: calls of one session and of many run at once.
class ToolSet {
 public:
  virtual ~ToolSet() = default;
  // The tool descriptions of tools/list: name, title, description, inputSchema, outputSchema,
  // annotations.
  virtual json::array List() const = 0;
  // Calls the tool `name` (one that List() names). An Error is reported to the client as a tool
  // result with isError set, its message as the text, so that the model can correct its call.
  virtual Result<ToolResult> Call(std::string_view name, const json::object& arguments,
                                  const CallContext& context) = 0;
};

// Tools that also run as MCP tasks (protocol 2025-11-25): a task-augmented tools/call starts the
// work and returns at once; the client then polls tasks/get and collects tasks/result. A task's
// id is only ever visible to the owner that started it.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Whether `tool` can run as a task (its tools/list entry says "taskSupport").
  virtual bool RunsAsTask(std::string_view tool) const = 0;
  // Starts `tool` as a task; returns its Task object (taskId, status, createdAt, ...).
  virtual Result<json::object> StartTask(std::string_view tool, const json::object& arguments,
                                         const CallContext& context) = 0;
  // The Task object of `id`; kNotFound for an unknown id or another owner's.
  virtual Result<json::object> GetTask(std::string_view id, const CallContext& context) = 0;
  // Waits until the task ends (or context.cancel: that stops the wait, not the task); its result.
  virtual Result<ToolResult> AwaitTask(std::string_view id, const CallContext& context) = 0;
  // Cancels the task; its Task object. kFailedPrecondition when it has already ended.
  virtual Result<json::object> CancelTask(std::string_view id, const CallContext& context) = 0;
  // One page of the owner's tasks, newest first: {"tasks": [...], "nextCursor"?}.
  virtual Result<json::object> ListTasks(std::string_view cursor, const CallContext& context) = 0;
};

}  // namespace warden::mcp
