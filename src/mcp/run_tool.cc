// sandbox_run: code or a command in a fresh sandbox over a sandbox's workspace, and what it did.
#include <fmt/format.h>

#include "base/utf8.h"
#include "jobs/limits.h"
#include "mcp/changed_files.h"
#include "mcp/sandbox_tools.h"

namespace warden::mcp {
namespace {

constexpr size_t kMaxCodeBytes = size_t{120} * 1024;

// The argv of a run from its arguments: code in a language, or a command.
Result<std::vector<std::string>> ArgvFor(const Arguments& args) {
  ASSIGN_OR_RETURN(std::optional<std::string> code, args.OptionalString("code"));
  ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> command,
                   args.OptionalStrings("command"));
  ASSIGN_OR_RETURN(std::optional<std::string> language, args.OptionalString("language"));
  if (code.has_value() == command.has_value()) {
    return Error(ErrorCode::kInvalidArgument,
                 "sandbox_run needs either \"code\" (with \"language\": python or bash) or "
                 "\"command\" (an array such as [\"ls\", \"-l\"]), not both or neither");
  }
  if (command) {
    if (command->empty() || command->front().empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "\"command\" is empty: give the program first, e.g. [\"ls\", \"-l\"]");
    }
    if (language) {
      return Error(ErrorCode::kInvalidArgument, "\"language\" goes with \"code\", not \"command\"");
    }
    return std::move(*command);
  }
  if (code->size() > kMaxCodeBytes) {
    return Error(ErrorCode::kInvalidArgument,
                 "the code is over 120K: write it to a file with sandbox_write_file and run that");
  }
  std::string lang = language.value_or("python");
  if (lang == "python") {
    return std::vector<std::string>{"/usr/bin/python3", "-c", std::move(*code)};
  }
  if (lang == "bash") {
    return std::vector<std::string>{"/bin/bash", "-c", std::move(*code)};
  }
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("language \"{}\" is not offered: use python or bash", lang));
}

// The limits a client asked for, each at most the server's own.
Status ApplyLimits(const Arguments& args, const sandbox::Limits& ceiling, sandbox::Limits& limits) {
  const std::pair<const char*, jobs::RunLimit> asked[] = {{"timeout", jobs::RunLimit::kTimeout},
                                                          {"memory", jobs::RunLimit::kMemory}};
  for (const auto& [name, limit] : asked) {
    ASSIGN_OR_RETURN(std::optional<std::string> text, args.OptionalString(name));
    if (text) {
      RETURN_IF_ERROR(jobs::SetRunLimit(limits, limit, *text, ceiling, name));
    }
  }
  return OkStatus();
}

std::string Summary(const Box& box, const sandbox::RunResult& run, const Changes* changes,
                    double duration_ms) {
  std::string text =
      run.outcome == sandbox::Outcome::kExited
          ? fmt::format("sandbox {}: exited with code {} in {:.0f} ms", box.id(), run.exit_code,
                        duration_ms)
          : fmt::format("sandbox {}: {} after {:.0f} ms", box.id(), run.message, duration_ms);
  if (changes != nullptr && !changes->changed.empty()) {
    std::vector<std::string> paths;
    for (const ChangedFile& file : changes->changed) {
      paths.push_back(file.path);
    }
    text += fmt::format("; files changed: {}", fmt::join(paths, ", "));
  }
  if (!run.stdout_data.empty()) {
    text += "\n--- stdout ---\n" + ToValidUtf8(run.stdout_data);
  }
  if (!run.stderr_data.empty()) {
    text += "\n--- stderr ---\n" + ToValidUtf8(run.stderr_data);
  }
  return text;
}

}  // namespace

Result<ToolResult> SandboxTools::Run(const json::object& arguments, const CallContext& context) {
  ASSIGN_OR_RETURN(Arguments args, Arguments::Check(arguments, "sandbox_run",
                                                    {"sandbox_id", "language", "code", "command",
                                                     "stdin", "timeout", "memory"}));
  ASSIGN_OR_RETURN(std::vector<std::string> argv, ArgvFor(args));
  ASSIGN_OR_RETURN(std::optional<std::string> stdin_text, args.OptionalString("stdin"));
  ASSIGN_OR_RETURN(std::shared_ptr<Box> box, BoxFor(args, context, /*create=*/true));
  sandbox::Spec spec = SpecFor(*box);
  RETURN_IF_ERROR(ApplyLimits(args, options_.limits, spec.limits));
  spec.argv = std::move(argv);
  spec.stdin_data = stdin_text.value_or("");

  std::lock_guard turn(box->run_mutex());
  auto before = Snapshot(box->workspace());
  ASSIGN_OR_RETURN(sandbox::RunResult run, supervisor_.Run(spec, context.cancel));
  std::optional<Changes> changes;
  if (before.ok()) {
    if (auto after = ChangesSince(box->workspace(), *before); after.ok()) {
      changes = std::move(after).value();
    }
  }
  double duration_ms = static_cast<double>(run.wall_time.count()) / 1000.0;
  json::object out{{"sandbox_id", box->id()},
                   {"status", sandbox::OutcomeName(run.outcome)},
                   {"exit_code", run.exit_code},
                   {"duration_ms", duration_ms},
                   {"stdout", ToValidUtf8(run.stdout_data)},
                   {"stderr", ToValidUtf8(run.stderr_data)},
                   {"stdout_truncated", run.stdout_truncated},
                   {"stderr_truncated", run.stderr_truncated},
                   {"message", run.message}};
  if (run.signal != 0) {
    out["signal"] = run.signal;
  }
  AddChangesJson(changes.value_or(Changes{}), out);
  if (!changes) {
    out["changes_truncated"] = true;  // the workspace could not be listed (too many files)
  }
  ToolResult result;
  result.content.push_back(
      TextContent(Summary(*box, run, changes ? &*changes : nullptr, duration_ms)));
  result.structured = std::move(out);
  // A program that failed is a result, not a tool error: the model reads its output to fix it.
  result.is_error = run.outcome == sandbox::Outcome::kSetupError;
  return result;
}

}  // namespace warden::mcp
