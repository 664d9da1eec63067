// Warden's sandbox as MCP tools: sandbox_create, sandbox_run, sandbox_write_file,
// sandbox_read_file, sandbox_list_files and sandbox_destroy (tool_list.cc describes them to
// clients). Each call runs in a fresh sandbox over the workspace of a sandbox of the pool, with
// the limits of `warden exec`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mcp/arguments.h"
#include "mcp/sandbox_pool.h"
#include "mcp/tool.h"
#include "sandbox/sandbox.h"

namespace warden::mcp {

// The tools' descriptions, schemas and annotations.
json::array SandboxToolList();

struct ToolOptions {
  // The limits of a run: the defaults, and the most a client may ask for (jobs/limits.h).
  sandbox::Limits limits;
  sandbox::NetworkMode network = sandbox::NetworkMode::kNone;
  sandbox::EgressPolicy egress;  // network == kProxy: what its runs may reach
  // The most bytes sandbox_read_file returns in one call (base64 makes a third more).
  uint64_t max_inline_bytes = uint64_t{256} * 1024;
  // The largest file sandbox_write_file accepts.
  uint64_t max_write_bytes = 16ULL << 20;
};

// Thread-safe; the supervisor and the pool outlive it.
class SandboxTools : public ToolSet {
 public:
  SandboxTools(sandbox::Supervisor& supervisor, SandboxPool& pool, const ToolOptions& options);

  json::array List() const override;
  Result<ToolResult> Call(std::string_view name, const json::object& arguments,
                          const CallContext& context) override;

 private:
  // The sandbox named by the argument sandbox_id, or (when `create` and it is absent) a new one.
  Result<std::shared_ptr<Box>> BoxFor(const Arguments& args, const CallContext& context,
                                      bool create);
  Result<ToolResult> Create(const json::object& arguments, const CallContext& context);
  Result<ToolResult> Destroy(const json::object& arguments, const CallContext& context);
  Result<ToolResult> Run(const json::object& arguments, const CallContext& context);
  Result<ToolResult> WriteFile(const json::object& arguments, const CallContext& context);
  Result<ToolResult> ReadFile(const json::object& arguments, const CallContext& context);
  Result<ToolResult> ListFiles(const json::object& arguments, const CallContext& context);
  // A spec over `box`'s workspace with the default limits.
  sandbox::Spec SpecFor(const Box& box) const;

  sandbox::Supervisor& supervisor_;
  SandboxPool& pool_;
  const ToolOptions options_;
};

// A path inside /workspace as the client gave it ("a/b.txt" or "/workspace/a/b.txt"), relative
// to the workspace; kInvalidArgument for anything outside it or with "." or ".." segments.
Result<std::string> WorkspacePath(std::string_view path);

}  // namespace warden::mcp
