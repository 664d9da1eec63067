#include "mcp/sandbox_tools.h"

#include <fmt/format.h>

namespace warden::mcp {

SandboxTools::SandboxTools(sandbox::Supervisor& supervisor, SandboxPool& pool,
                           const ToolOptions& options)
    : supervisor_(supervisor), pool_(pool), options_(options) {}

json::array SandboxTools::List() const {
  return SandboxToolList();
}

Result<ToolResult> SandboxTools::Call(std::string_view name, const json::object& arguments,
                                      const CallContext& context) {
  if (name == "sandbox_run") {
    return Run(arguments, context);
  }
  if (name == "sandbox_write_file") {
    return WriteFile(arguments, context);
  }
  if (name == "sandbox_read_file") {
    return ReadFile(arguments, context);
  }
  if (name == "sandbox_list_files") {
    return ListFiles(arguments, context);
  }
  if (name == "sandbox_create") {
    return Create(arguments, context);
  }
  if (name == "sandbox_destroy") {
    return Destroy(arguments, context);
  }
  return Error(ErrorCode::kNotFound, fmt::format("no tool \"{}\"", name));
}

Result<std::shared_ptr<Box>> SandboxTools::BoxFor(const Arguments& args, const CallContext& context,
                                                  bool create) {
  ASSIGN_OR_RETURN(std::optional<std::string> id, args.OptionalString("sandbox_id"));
  if (id) {
    return pool_.Get(context.owner, *id);
  }
  if (!create) {
    return Error(ErrorCode::kInvalidArgument, "sandbox_id is required");
  }
  return pool_.Open(context.owner);
}

sandbox::Spec SandboxTools::SpecFor(const Box& box) const {
  sandbox::Spec spec;
  spec.workspace = box.workspace();
  spec.limits = options_.limits;
  spec.network = options_.network;
  spec.egress = options_.egress;
  return spec;
}

Result<ToolResult> SandboxTools::Create(const json::object& arguments, const CallContext& context) {
  RETURN_IF_ERROR(Arguments::Check(arguments, "sandbox_create", {}));
  ASSIGN_OR_RETURN(std::shared_ptr<Box> box, pool_.Open(context.owner));
  int64_t ttl = pool_.options().idle_ttl.count() / 1000;
  ToolResult result;
  result.structured = json::object{{"sandbox_id", box->id()}, {"idle_ttl_seconds", ttl}};
  result.content.push_back(TextContent(fmt::format(
      "created sandbox {} (destroyed after {} s unused); pass it as sandbox_id", box->id(), ttl)));
  return result;
}

Result<ToolResult> SandboxTools::Destroy(const json::object& arguments,
                                         const CallContext& context) {
  ASSIGN_OR_RETURN(Arguments args, Arguments::Check(arguments, "sandbox_destroy", {"sandbox_id"}));
  ASSIGN_OR_RETURN(std::string id, args.RequiredString("sandbox_id"));
  RETURN_IF_ERROR(pool_.Destroy(context.owner, id));
  ToolResult result;
  result.content.push_back(TextContent(fmt::format("destroyed sandbox {} and its files", id)));
  return result;
}

Result<std::string> WorkspacePath(std::string_view path) {
  std::string_view relative = path;
  if (relative.starts_with("/workspace/")) {
    relative.remove_prefix(std::string_view("/workspace/").size());
  } else if (relative.starts_with('/')) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("path \"{}\" is outside /workspace: give a path relative to "
                             "/workspace, such as \"data/input.csv\"",
                             path));
  }
  if (relative.empty() || relative.size() > 4000 || relative.find('\0') != std::string_view::npos) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("path \"{}\" does not name a file under /workspace", path));
  }
  size_t start = 0;
  while (start <= relative.size()) {
    size_t end = relative.find('/', start);
    std::string_view segment = relative.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("path \"{}\" has an empty, \".\" or \"..\" part: give a plain "
                               "path under /workspace",
                               path));
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return std::string(relative);
}

}  // namespace warden::mcp
