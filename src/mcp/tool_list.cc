// The descriptions of Warden's sandbox tools (tools/list): what a model reads to choose a tool
// and to call it right, their input and output schemas, and their annotations.
#include <string_view>

#include "mcp/sandbox_tools.h"

namespace warden::mcp {
namespace {

constexpr std::string_view kSandboxId =
    R"({"type":"string","description":"A sandbox from an earlier call (sbx_...)."})";

constexpr std::string_view kFileEntry =
    R"({"type":"object","properties":{"path":{"type":"string"},"size":{"type":"integer"},)"
    R"("sha256":{"type":["string","null"]}},"required":["path","size"]})";

// Every tool, as JSON text with @ID@ and @FILE@ standing for the schemas above.
constexpr std::string_view kTools = R"([
{"name":"sandbox_create","title":"Create a sandbox",
 "description":"Create an isolated Linux sandbox with an empty /workspace that keeps its files across calls. Returns its sandbox_id. Optional: sandbox_run and sandbox_write_file create one on first use.",
 "inputSchema":{"type":"object","properties":{},"additionalProperties":false},
 "outputSchema":{"type":"object","properties":{"sandbox_id":{"type":"string"},"idle_ttl_seconds":{"type":"integer"}},"required":["sandbox_id"]},
 "annotations":{"title":"Create a sandbox","readOnlyHint":false,"destructiveHint":false,"idempotentHint":false,"openWorldHint":false}},
{"name":"sandbox_run","title":"Run code in a sandbox",
 "description":"Run python or bash code, or a command, in a sandbox (working directory /workspace; no network; limits on time, memory, processes, output and disk). Returns stdout, stderr, exit code, why the run ended, its duration and the files it changed in /workspace. Without sandbox_id a new sandbox is created; pass the returned sandbox_id to keep working with the same files.",
 "inputSchema":{"type":"object","properties":{
   "sandbox_id":@ID@,
   "language":{"type":"string","enum":["python","bash"],"description":"The language of code (default python)."},
   "code":{"type":"string","description":"The program text. Give code or command."},
   "command":{"type":"array","items":{"type":"string"},"description":"A program and its arguments, e.g. [\"ls\",\"-l\"]. Give code or command."},
   "stdin":{"type":"string","description":"Text for standard input."},
   "timeout":{"type":"string","description":"Wall time limit, e.g. \"30s\" (at most the server's limit)."},
   "memory":{"type":"string","description":"Memory limit, e.g. \"256M\" (at most the server's limit)."}},
  "additionalProperties":false},
 "outputSchema":{"type":"object","properties":{
   "sandbox_id":{"type":"string"},
   "status":{"type":"string","enum":["exited","signaled","timeout","cpu_limit","memory_limit","output_limit","disk_limit","cancelled","setup_error"]},
   "exit_code":{"type":"integer"},"signal":{"type":"integer"},"duration_ms":{"type":"number"},
   "stdout":{"type":"string"},"stderr":{"type":"string"},
   "stdout_truncated":{"type":"boolean"},"stderr_truncated":{"type":"boolean"},
   "message":{"type":"string"},
   "changed_files":{"type":"array","items":@FILE@},
   "deleted_files":{"type":"array","items":{"type":"string"}},
   "changes_truncated":{"type":"boolean"}},
  "required":["sandbox_id","status","exit_code","duration_ms","stdout","stderr","changed_files"]},
 "annotations":{"title":"Run code in a sandbox","readOnlyHint":false,"destructiveHint":true,"idempotentHint":false,"openWorldHint":false}},
{"name":"sandbox_write_file","title":"Write a file into a sandbox",
 "description":"Create or replace a file under /workspace of a sandbox (parent directories are created). content is text, or base64 with encoding \"base64\". Without sandbox_id a new sandbox is created.",
 "inputSchema":{"type":"object","properties":{
   "sandbox_id":@ID@,
   "path":{"type":"string","description":"Relative to /workspace, e.g. \"data/input.csv\"."},
   "content":{"type":"string"},
   "encoding":{"type":"string","enum":["utf-8","base64"],"description":"How content is written (default utf-8)."}},
  "required":["path","content"],"additionalProperties":false},
 "outputSchema":{"type":"object","properties":{"sandbox_id":{"type":"string"},"path":{"type":"string"},"size":{"type":"integer"},"sha256":{"type":"string"}},"required":["sandbox_id","path","size","sha256"]},
 "annotations":{"title":"Write a file into a sandbox","readOnlyHint":false,"destructiveHint":true,"idempotentHint":true,"openWorldHint":false}},
{"name":"sandbox_read_file","title":"Read a file of a sandbox",
 "description":"Read a file under /workspace of a sandbox: text inline, binary as base64, at most max_bytes at a time (read larger files in pieces with offset, or summarize them with sandbox_run).",
 "inputSchema":{"type":"object","properties":{
   "sandbox_id":@ID@,
   "path":{"type":"string","description":"Relative to /workspace."},
   "offset":{"type":"integer","minimum":0,"description":"First byte to read (default 0)."},
   "max_bytes":{"type":"integer","minimum":1,"description":"Most bytes to return (default and ceiling: the server's inline limit)."}},
  "required":["sandbox_id","path"],"additionalProperties":false},
 "outputSchema":{"type":"object","properties":{"sandbox_id":{"type":"string"},"path":{"type":"string"},"size":{"type":"integer"},"offset":{"type":"integer"},"encoding":{"type":"string","enum":["utf-8","base64"]},"content":{"type":"string"},"truncated":{"type":"boolean"}},"required":["path","size","encoding","content","truncated"]},
 "annotations":{"title":"Read a file of a sandbox","readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false}},
{"name":"sandbox_list_files","title":"List the files of a sandbox",
 "description":"List the regular files under /workspace of a sandbox with their sizes.",
 "inputSchema":{"type":"object","properties":{"sandbox_id":@ID@},"required":["sandbox_id"],"additionalProperties":false},
 "outputSchema":{"type":"object","properties":{"sandbox_id":{"type":"string"},"files":{"type":"array","items":@FILE@}},"required":["sandbox_id","files"]},
 "annotations":{"title":"List the files of a sandbox","readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false}},
{"name":"sandbox_destroy","title":"Destroy a sandbox",
 "description":"Destroy a sandbox and delete its files. Sandboxes left idle are destroyed after a while anyway.",
 "inputSchema":{"type":"object","properties":{"sandbox_id":@ID@},"required":["sandbox_id"],"additionalProperties":false},
 "annotations":{"title":"Destroy a sandbox","readOnlyHint":false,"destructiveHint":true,"idempotentHint":true,"openWorldHint":false}}
])";

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

}  // namespace

json::array SandboxToolList() {
  static const json::array tools = [] {
    std::string text(kTools);
    ReplaceAll(text, "@ID@", kSandboxId);
    ReplaceAll(text, "@FILE@", kFileEntry);
    return json::parse(text).as_array();
  }();
  return tools;
}

}  // namespace warden::mcp
