// MCP over stdio: newline-delimited JSON-RPC messages on a pair of descriptors (the client's
// pipes to `warden mcp`). Nothing but messages is written to the output; logs go to stderr.
#pragma once

#include <cstddef>

#include "base/result.h"
#include "mcp/session.h"
#include "sandbox/sandbox.h"

namespace warden::mcp {

struct StdioOptions {
  size_t max_line_bytes = 64ULL << 20;  // a longer message is refused, and skipped to its end
  size_t call_threads = 8;              // tool calls that run at once; more wait their turn
};

// Serves `session` until end of input on `in_fd` or until `stop` is cancelled. Each tools/call
// runs on a thread of its own pool, so that ping and notifications/cancelled are read while it
// runs; replies and notifications are written whole, one per line, under one lock. At the end,
// every call still running is cancelled and waited for: when this returns, no call is left.
Status ServeStdio(Session& session, int in_fd, int out_fd, const sandbox::CancelToken* stop,
                  const StdioOptions& options = {});

}  // namespace warden::mcp
