// The protocol core of MCP, independent of the transport: the lifecycle (initialize with version
// negotiation, notifications/initialized), ping, tools/list, tools/call with progress and
// cancellation. A transport hands it each message's text and sends what comes back.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/json.h"
#include "mcp/jsonrpc.h"
#include "mcp/tool.h"

namespace warden::mcp {

// The protocol revisions this server speaks, newest first.
std::span<const std::string_view> SupportedVersions();

// Sends a message (a notification) to the client. Called from the thread of a tool call.
using SendFn = std::function<void(const json::object& message)>;

// What became of one message.
struct Handled {
  // The reply to send now (a request answered at once, or an error); unset for notifications.
  std::optional<json::object> reply;
  // A tools/call to run, on a thread the transport chooses, whose return value is the reply. Set
  // only when `reply` is not. It stays cancellable by notifications/cancelled while it runs.
  std::function<json::object()> call;
  // The id of the request whose reply `call` returns (for Session::CancelCall).
  json::value id;
};

// One MCP session: the state of one client's connection. Thread-safe: Handle() may be called
// while calls it returned run on other threads. The ToolSet must outlive the session and the calls.
class Session {
 public:
  // `api_base`: see CallContext::api_base. `tasks`, when set, serves the tasks/* methods and
  // task-augmented tools/call (negotiated with protocol 2025-11-25); it outlives the session.
  Session(ToolSet& tools, std::string owner, std::string api_base = "",
          TaskRunner* tasks = nullptr);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Handles the text of one message. `send` delivers progress notifications of a call.
  Handled Handle(std::string_view text, SendFn send);

  // Cancels the call of request `id`, if it still runs (its client went away).
  void CancelCall(const json::value& id);
  // Cancels every call still running (the client is gone).
  void CancelAll();

  // The protocol version agreed on by initialize, or "" before it.
  std::string version() const;
  const std::string& owner() const { return owner_; }

 private:
  json::object Initialize(const Message& message);
  Handled CallTool(const Message& message, SendFn send);
  // tools/call with params.task: starts the task, answers its Task at once.
  Handled CallAsTask(const Message& message, std::string_view tool, const json::object& arguments);
  // tasks/get, tasks/result, tasks/cancel, tasks/list (session_tasks.cc).
  Handled HandleTask(const Message& message, SendFn send);
  CallContext ContextFor(const Message& message, SendFn send,
                         const std::shared_ptr<sandbox::CancelToken>& token);
  void Cancel(const json::object& params);

  ToolSet& tools_;
  const std::string owner_;
  const std::string api_base_;
  TaskRunner* const tasks_;
  mutable std::mutex mu_;
  std::string version_;  // guarded by mu_
  // The tokens of running calls by request id (serialized): guarded by mu_.
  std::map<std::string, std::shared_ptr<sandbox::CancelToken>> running_;
};

}  // namespace warden::mcp
