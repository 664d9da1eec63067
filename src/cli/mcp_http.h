// MCP over Streamable HTTP on `warden serve`: POST /mcp carries one JSON-RPC message; the reply
// comes as JSON, or as an SSE stream (progress notifications, then the reply) for a tools/call of
// a client that accepts text/event-stream. Sessions are named by Mcp-Session-Id and belong to the
// API key that opened them; the sandboxes belong to the key. An Origin other than a loopback one
// (or one listed) is refused, against DNS rebinding.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/router.h"
#include "base/thread_pool.h"
#include "mcp/job_tools.h"
#include "mcp/sandbox_pool.h"
#include "mcp/sandbox_tools.h"
#include "mcp/session.h"

namespace warden::cli {

struct McpHttpOptions {
  std::vector<std::string> allowed_origins;  // beyond http(s)://localhost, 127.0.0.1 and [::1]
  size_t max_sessions = 10'000;              // the least recently used goes beyond it
  size_t call_threads = 8;                   // tool calls at once; more wait their turn
  std::string scheme = "http";               // how clients reach this server: http or https
  mcp::TaskRunner* tasks = nullptr;          // MCP tasks (2025-11-25); null: none
};

// Thread-safe. The tools outlive it.
class McpHttp {
 public:
  McpHttp(mcp::ToolSet& tools, McpHttpOptions options);
  ~McpHttp();  // cancels the calls in progress and waits for them

  void AddRoutes(api::Router& router);

 private:
  struct Entry {
    std::shared_ptr<mcp::Session> session;
    std::chrono::steady_clock::time_point last_used;
  };

  api::Response Post(api::Request& request);
  api::Response Delete(api::Request& request);
  // The session the request names, or the response that refuses it.
  std::shared_ptr<mcp::Session> Find(const api::Request& request, api::Response* refusal);
  std::string Open(std::shared_ptr<mcp::Session> session);
  api::Response RunCall(const api::Request& request, const std::shared_ptr<mcp::Session>& session,
                        mcp::Handled handled, const std::shared_ptr<struct McpSink>& sink);
  bool OriginAllowed(const api::Request& request) const;

  mcp::ToolSet& tools_;
  const McpHttpOptions options_;
  std::mutex mu_;
  std::map<std::string, Entry> sessions_;  // by Mcp-Session-Id; guarded by mu_
  ThreadPool calls_;                       // last: stops first
};

struct McpEndpointOptions {
  std::string workspace_root;  // the sandboxes' workspaces go in <workspace_root>/.mcp
  uid_t sandbox_uid = 0;
  size_t max_sandboxes = 8;  // live sandboxes of one API key
  std::chrono::milliseconds idle_ttl{30 * 60 * 1000};
  mcp::JobToolOptions jobs;
  McpHttpOptions http;
};

// The MCP endpoint of `warden serve` with its own sandboxes, in <workspace_root>/.mcp: the same
// tools as `warden mcp`, with the limits of `warden exec`. Not movable.
class McpEndpoint {
 public:
  // With `store`, Warden's agent is a tool too (agent_task: a durable job of the caller's key).
  static Result<std::unique_ptr<McpEndpoint>> Create(sandbox::Supervisor& supervisor,
                                                     jobs::JobStore* store,
                                                     McpEndpointOptions options);
  void AddRoutes(api::Router& router) { http_->AddRoutes(router); }

 private:
  McpEndpoint() = default;
  std::unique_ptr<mcp::SandboxPool> pool_;
  std::unique_ptr<mcp::SandboxTools> sandbox_tools_;
  std::unique_ptr<mcp::JobTools> job_tools_;
  std::unique_ptr<mcp::CombinedTools> tools_;
  std::unique_ptr<McpHttp> http_;  // last: goes first
};

}  // namespace warden::cli
