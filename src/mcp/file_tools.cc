// sandbox_write_file, sandbox_read_file and sandbox_list_files. Files are written by a program in
// the sandbox itself, so that a link the sandbox planted cannot redirect a write out of its
// workspace and the files belong to the sandbox's user; they are read with artifacts/, which never
// leaves the workspace.
#include <algorithm>

#include <fmt/format.h>

#include "artifacts/artifacts.h"
#include "base/base64.h"
#include "base/sha256.h"
#include "base/utf8.h"
#include "mcp/sandbox_tools.h"

namespace warden::mcp {
namespace {

// Writes stdin to "$1", creating its directories first.
constexpr const char* kWriteScript = R"sh(mkdir -p -- "$(dirname -- "$1")" && cat > "$1")sh";

// Reads up to `max_bytes` from `offset` of an open file.
Result<std::string> ReadRange(artifacts::OpenFile file, uint64_t offset, uint64_t max_bytes) {
  artifacts::FileReader reader(std::move(file));
  std::string data;
  uint64_t position = 0;
  while (data.size() < max_bytes) {
    ASSIGN_OR_RETURN(std::optional<std::string> piece, reader.Next());
    if (!piece) {
      break;
    }
    uint64_t end = position + piece->size();
    if (end > offset) {
      size_t from = position < offset ? offset - position : 0;
      data.append(*piece, from, std::min<uint64_t>(piece->size() - from, max_bytes - data.size()));
    }
    position = end;
  }
  return data;
}

}  // namespace

Result<ToolResult> SandboxTools::WriteFile(const json::object& arguments,
                                           const CallContext& context) {
  ASSIGN_OR_RETURN(Arguments args, Arguments::Check(arguments, "sandbox_write_file",
                                                    {"sandbox_id", "path", "content", "encoding"}));
  ASSIGN_OR_RETURN(std::string path_arg, args.RequiredString("path"));
  ASSIGN_OR_RETURN(std::string path, WorkspacePath(path_arg));
  ASSIGN_OR_RETURN(std::string content, args.RequiredString("content"));
  ASSIGN_OR_RETURN(std::optional<std::string> encoding, args.OptionalString("encoding"));
  if (encoding == "base64") {
    std::optional<std::string> bytes = Base64Decode(content);
    if (!bytes) {
      return Error(ErrorCode::kInvalidArgument,
                   "content is not valid base64 (RFC 4648, with padding)");
    }
    content = std::move(*bytes);
  } else if (encoding && *encoding != "utf-8") {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("encoding \"{}\" is unknown: use utf-8 or base64", *encoding));
  }
  if (content.size() > options_.max_write_bytes) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("the file is {} bytes, more than the {} allowed in one call",
                             content.size(), options_.max_write_bytes));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Box> box, BoxFor(args, context, /*create=*/true));
  sandbox::Spec spec = SpecFor(*box);
  spec.argv = {"/bin/sh", "-c", kWriteScript, "sh", "/workspace/" + path};
  spec.stdin_data = content;
  std::lock_guard turn(box->run_mutex());
  ASSIGN_OR_RETURN(sandbox::RunResult run, supervisor_.Run(spec, context.cancel));
  if (run.outcome != sandbox::Outcome::kExited || run.exit_code != 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("could not write {}: {}{}", path, run.message,
                             run.stderr_data.empty() ? "" : ": " + ToValidUtf8(run.stderr_data)));
  }
  std::string sha256 = Sha256Hex(content);
  ToolResult result;
  result.structured = json::object{
      {"sandbox_id", box->id()}, {"path", path}, {"size", content.size()}, {"sha256", sha256}};
  result.content.push_back(TextContent(fmt::format("wrote {} bytes to /workspace/{} in sandbox {}",
                                                   content.size(), path, box->id())));
  return result;
}

Result<ToolResult> SandboxTools::ReadFile(const json::object& arguments,
                                          const CallContext& context) {
  ASSIGN_OR_RETURN(Arguments args, Arguments::Check(arguments, "sandbox_read_file",
                                                    {"sandbox_id", "path", "offset", "max_bytes"}));
  ASSIGN_OR_RETURN(std::string path_arg, args.RequiredString("path"));
  ASSIGN_OR_RETURN(std::string path, WorkspacePath(path_arg));
  ASSIGN_OR_RETURN(std::optional<uint64_t> offset, args.OptionalCount("offset"));
  ASSIGN_OR_RETURN(std::optional<uint64_t> max_bytes, args.OptionalCount("max_bytes"));
  uint64_t limit =
      std::min(max_bytes.value_or(options_.max_inline_bytes), options_.max_inline_bytes);
  ASSIGN_OR_RETURN(std::shared_ptr<Box> box, BoxFor(args, context, /*create=*/false));
  ASSIGN_OR_RETURN(artifacts::OpenFile file, artifacts::OpenInWorkspace(box->workspace(), path));
  uint64_t size = file.size;
  uint64_t from = offset.value_or(0);
  ASSIGN_OR_RETURN(std::string data, ReadRange(std::move(file), from, limit));
  if (from + data.size() < size) {
    data.resize(data.size() - Utf8UnfinishedTail(data));  // a character cut at the end: next time
  }
  bool truncated = from + data.size() < size;
  bool text = IsValidUtf8(data) && data.find('\0') == std::string::npos;
  std::string content = text ? data : Base64Encode(data);
  ToolResult result;
  result.structured = json::object{{"sandbox_id", box->id()},
                                   {"path", path},
                                   {"size", size},
                                   {"offset", from},
                                   {"encoding", text ? "utf-8" : "base64"},
                                   {"content", content},
                                   {"truncated", truncated}};
  std::string note = truncated ? fmt::format("\n[bytes {} to {} of {}; read on with offset {}]",
                                             from, from + data.size(), size, from + data.size())
                               : "";
  if (text) {
    result.content.push_back(TextContent(content + note));
  } else {
    result.content.push_back(TextContent(
        fmt::format("{} ({} bytes, binary) as base64:\n{}{}", path, size, content, note)));
  }
  return result;
}

Result<ToolResult> SandboxTools::ListFiles(const json::object& arguments,
                                           const CallContext& context) {
  ASSIGN_OR_RETURN(Arguments args,
                   Arguments::Check(arguments, "sandbox_list_files", {"sandbox_id"}));
  ASSIGN_OR_RETURN(std::shared_ptr<Box> box, BoxFor(args, context, /*create=*/false));
  artifacts::ManifestOptions options;
  options.hashing = std::nullopt;
  ASSIGN_OR_RETURN(std::vector<artifacts::FileInfo> files,
                   artifacts::Manifest(box->workspace(), options));
  json::array listed;
  std::string text = fmt::format("{} files in /workspace of sandbox {}", files.size(), box->id());
  for (const artifacts::FileInfo& file : files) {
    listed.push_back(json::object{{"path", file.path}, {"size", file.size}});
    text += fmt::format("\n{} ({} bytes)", file.path, file.size);
  }
  ToolResult result;
  result.structured = json::object{{"sandbox_id", box->id()}, {"files", std::move(listed)}};
  result.content.push_back(TextContent(text));
  return result;
}

}  // namespace warden::mcp
