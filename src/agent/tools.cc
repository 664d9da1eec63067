#include "agent/tools.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "base/units.h"
#include "base/utf8.h"

namespace warden::agent {
namespace {

using sandbox::Outcome;
using std::chrono::milliseconds;

constexpr size_t kReadFileBytes = 100'000;

json::object Schema(std::initializer_list<std::pair<const char*, json::object>> properties,
                    std::initializer_list<const char*> required) {
  json::object props;
  for (const auto& [name, schema] : properties) {
    props[name] = schema;
  }
  json::array req;
  for (const char* name : required) {
    req.push_back(json::value(name));
  }
  return json::object{{"type", "object"},
                      {"properties", std::move(props)},
                      {"required", std::move(req)},
                      {"additionalProperties", false}};
}

json::object Property(const char* type, const char* description) {
  return json::object{{"type", type}, {"description", description}};
}

std::string StringArg(const json::object& arguments, std::string_view key) {
  const json::value* value = arguments.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

// What a sandbox outcome means, in words the model can act on.
std::string ExplainOutcome(const sandbox::RunResult& run, const sandbox::Limits& limits) {
  switch (run.outcome) {
    case Outcome::kExited:
      if (run.exec_errno != 0) {
        return run.exit_code == 127 ? "the program was not found (exit code 127)"
                                    : "the program could not be started (exit code 126)";
      }
      return fmt::format("exit code {}", run.exit_code);
    case Outcome::kSignaled:
      return fmt::format("killed by signal {}", run.signal);
    case Outcome::kTimeout:
      return fmt::format(
          "stopped: it ran longer than {} (make it faster, work in smaller steps, or pass a "
          "larger timeout_seconds)",
          FormatDuration(limits.wall_time));
    case Outcome::kCpuLimit:
      return fmt::format("stopped: it used more than {} of CPU time",
                         FormatDuration(limits.cpu_time));
    case Outcome::kMemoryLimit:
      return fmt::format("stopped: out of memory (the limit is {}); use less memory",
                         FormatBytes(limits.memory_bytes));
    case Outcome::kOutputLimit:
      return fmt::format(
          "stopped: it printed more than {} (print less, or write big results to a file)",
          FormatBytes(limits.output_bytes));
    case Outcome::kDiskLimit:
      return fmt::format("stopped: it wrote more than {} to disk", FormatBytes(limits.disk_bytes));
    case Outcome::kCancelled:
      return "cancelled by the user";
    case Outcome::kSetupError:
      return fmt::format("the sandbox could not start ({})", run.message);
  }
  return "unknown";
}

}  // namespace

const std::vector<llm::ToolSpec>& ToolSpecs() {
  static const std::vector<llm::ToolSpec> specs = {
      {"run_shell",
       "Run a bash command (or a multi-line script) in /workspace. Returns its exit code, stdout "
       "and stderr.",
       Schema(
           {{"command", Property("string", "The bash command or script to run.")},
            {"timeout_seconds", Property("integer", "Time limit for this command, in seconds.")}},
           {"command"})},
      {"run_python",
       "Run a Python 3 program in /workspace (standard library only). Returns its exit code, "
       "stdout and stderr.",
       Schema({{"code", Property("string", "The complete Python program.")},
               {"timeout_seconds", Property("integer", "Time limit for this run, in seconds.")}},
              {"code"})},
      {"write_file",
       "Write a text file (creating directories as needed). Relative paths are under "
       "/workspace.",
       Schema({{"path", Property("string", "Where to write, e.g. report.csv or src/main.py.")},
               {"content", Property("string", "The whole content of the file.")}},
              {"path", "content"})},
      {"read_file", "Read a text file (up to 100 kB). Relative paths are under /workspace.",
       Schema({{"path", Property("string", "The file to read.")}}, {"path"})},
      {"finish",
       "End the task: call it when the task is done, or when it cannot be done, and say which.",
       Schema({{"summary", Property("string", "What was done, and where the results are.")},
               {"files", json::object{{"type", "array"},
                                      {"items", json::object{{"type", "string"}}},
                                      {"description", "The files that are the results."}}}},
              {"summary"})},
  };
  return specs;
}

ToolRunner::ToolRunner(sandbox::Supervisor& supervisor, ToolOptions options)
    : supervisor_(supervisor), options_(std::move(options)) {
  shell_ = ::access("/usr/bin/bash", X_OK) == 0 ? "/usr/bin/bash" : "/bin/sh";
}

sandbox::Spec ToolRunner::BaseSpec() const {
  sandbox::Spec spec;
  spec.workspace = options_.workspace;
  spec.ro_binds = options_.ro_binds;
  spec.limits = options_.limits;
  spec.network = options_.network;
  spec.egress = options_.egress;
  spec.on_egress_denied = options_.on_egress_denied;
  spec.env = {"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"};
  return spec;
}

Observation ToolRunner::Run(const std::string& tool, const json::object& arguments,
                            const sandbox::OutputCallback& on_output,
                            const sandbox::CancelToken* cancel) {
  sandbox::Spec spec = BaseSpec();
  spec.on_output = on_output;
  if (const json::value* t = arguments.if_contains("timeout_seconds");
      t != nullptr && t->is_number()) {
    // The model may ask for less time than the limit, or more up to 4 times it.
    // NaN, infinities and huge numbers land on the bounds.
    double seconds = t->to_number<double>();
    seconds = seconds >= 1.0 ? std::min(seconds, 1e9) : 1.0;
    milliseconds top =
        options_.max_wall_time.count() > 0 ? options_.max_wall_time : options_.limits.wall_time * 4;
    top = std::max(top, milliseconds(1000));
    spec.limits.wall_time =
        std::clamp(milliseconds(static_cast<int64_t>(seconds * 1000)), milliseconds(1000), top);
    spec.limits.cpu_time = std::max(spec.limits.cpu_time, spec.limits.wall_time);
  }
  if (tool == "run_shell") {
    spec.argv = {shell_, "-c", StringArg(arguments, "command")};
  } else if (tool == "run_python") {
    spec.argv = {"/usr/bin/python3", "-c", StringArg(arguments, "code")};
  } else if (tool == "write_file") {
    // Written from inside a sandbox, like everything else: a path or a symlink that leads out of
    // /workspace meets a read-only root, not the host.
    spec.argv = {"/bin/sh", "-c", R"sh(mkdir -p -- "$(dirname -- "$1")" && cat > "$1")sh", "sh",
                 StringArg(arguments, "path")};
    spec.stdin_data = StringArg(arguments, "content");
  } else if (tool == "read_file") {
    spec.argv = {
        "/bin/sh",
        "-c",
        R"sh([ -f "$1" ] || { echo "$1: no such file" >&2; exit 1; }; head -c $2 -- "$1")sh",
        "sh",
        StringArg(arguments, "path"),
        std::to_string(kReadFileBytes + 1)};
    spec.on_output = nullptr;  // the content is the observation, not live output
  } else {
    Observation refused;
    refused.outcome = "unknown_tool";
    refused.text = fmt::format("there is no tool named {}", tool);
    refused.summary = refused.text;
    refused.failure = refused.text;
    return refused;
  }
  if (options_.fit_limits) {
    if (Status fitted = options_.fit_limits(spec.limits); !fitted.ok()) {
      Observation refused;
      refused.outcome = "job_limit";
      refused.text = fitted.error().message();
      refused.summary = refused.text;
      refused.failure = refused.text;
      return refused;
    }
  }
  bool cut_at_deadline = false;
  if (deadline_ != std::chrono::steady_clock::time_point::max()) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline_ - std::chrono::steady_clock::now());
    if (left <= milliseconds(0)) {
      Observation refused;
      refused.outcome = "task_time";
      refused.text = "not run: the task's time limit (--max-time) is used up";
      refused.summary = refused.text;
      refused.failure = refused.text;
      return refused;
    }
    if (spec.limits.wall_time.count() == 0 || left < spec.limits.wall_time) {
      spec.limits.wall_time = left;
      cut_at_deadline = true;
    }
  }
  Result<sandbox::RunResult> result = supervisor_.Run(spec, cancel);
  Observation observation = Finish(tool, result, spec);
  if (cut_at_deadline && result.ok() && result->outcome == sandbox::Outcome::kTimeout) {
    observation.outcome = "task_time";
    observation.summary = "stopped: the task's time limit (--max-time) ran out during this action";
    observation.text = observation.summary + "\n" + observation.text;
  }
  if (tool == "read_file" && observation.ok) {
    const std::string& content = result->stdout_data;
    observation.text = content.size() > kReadFileBytes
                           ? content.substr(0, kReadFileBytes) + "\n[... the file goes on ...]"
                           : content;
    observation.summary =
        fmt::format("read {}", FormatBytes(std::min(content.size(), kReadFileBytes)));
  } else if (tool == "write_file" && observation.ok) {
    observation.text =
        fmt::format("wrote {} bytes to {}", spec.stdin_data.size(), StringArg(arguments, "path"));
    observation.summary = observation.text;
  }
  // The model reads the text as JSON: bytes that are not UTF-8 (binary output, a file read, a
  // file name) are shown as U+FFFD rather than making the request unreadable.
  for (std::string* text : {&observation.text, &observation.summary, &observation.failure}) {
    if (!IsValidUtf8(*text)) {
      *text = ToValidUtf8(*text);
    }
  }
  return observation;
}

Observation ToolRunner::Finish(const std::string& tool, const Result<sandbox::RunResult>& result,
                               const sandbox::Spec& spec) const {
  Observation observation;
  if (!result.ok()) {
    observation.outcome = "setup_error";
    observation.text = "the action could not run: " + result.error().message();
    observation.summary = observation.text;
    observation.failure = observation.text;
    return observation;
  }
  const sandbox::RunResult& run = *result;
  observation.outcome = std::string(sandbox::OutcomeName(run.outcome));
  observation.exit_code = run.exit_code;
  observation.duration = std::chrono::duration_cast<milliseconds>(run.wall_time);
  observation.ok = run.outcome == Outcome::kExited && run.exit_code == 0;
  std::string status = ExplainOutcome(run, spec.limits);
  std::string text = fmt::format("{} ({:.1f} s)\n", status,
                                 std::chrono::duration<double>(observation.duration).count());
  if (tool != "read_file" || !observation.ok) {
    if (!run.stdout_data.empty()) {
      text += "--- stdout ---\n" + HeadAndTail(run.stdout_data, options_.observation_bytes);
      if (text.back() != '\n') {
        text += '\n';
      }
    }
    if (!run.stderr_data.empty()) {
      text += "--- stderr ---\n" + HeadAndTail(run.stderr_data, options_.observation_bytes);
      if (text.back() != '\n') {
        text += '\n';
      }
    }
    if (run.stdout_data.empty() && run.stderr_data.empty()) {
      text += "(no output)\n";
    }
  }
  observation.text = std::move(text);
  observation.summary = fmt::format("{} in {:.1f} s", observation.ok ? "ok" : status,
                                    std::chrono::duration<double>(observation.duration).count());
  if (!observation.ok) {
    // The same failure: same outcome and code, and the same last line of stderr.
    std::string_view err = run.stderr_data;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) {
      err.remove_suffix(1);
    }
    size_t start = err.rfind('\n');
    err = start == std::string_view::npos ? err : err.substr(start + 1);
    observation.failure =
        fmt::format("{}:{}:{}", observation.outcome, run.exit_code, err.substr(0, 200));
  }
  return observation;
}

std::string HeadAndTail(std::string_view text, size_t limit) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  // Cut between characters, not inside one: back to the start of a character for the head,
  // forward to the next one for the tail (a UTF-8 character is at most 4 bytes).
  auto continues = [&](size_t at) {
    return (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80;
  };
  size_t head = limit / 3;
  for (int i = 0; i < 3 && head > 0 && continues(head); ++i) {
    --head;
  }
  size_t tail_at = text.size() - (limit - limit / 3);
  for (int i = 0; i < 3 && tail_at < text.size() && continues(tail_at); ++i) {
    ++tail_at;
  }
  return fmt::format("{}\n[... {} bytes left out ...]\n{}", text.substr(0, head), tail_at - head,
                     text.substr(tail_at));
}

std::vector<FileEntry> ListFiles(const std::string& workspace, size_t limit) {
  namespace fs = std::filesystem;
  std::vector<FileEntry> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(workspace, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator() && files.size() < limit;
       it.increment(ec)) {
    std::error_code status_ec;
    if (it->is_symlink(status_ec) || !it->is_regular_file(status_ec)) {
      continue;
    }
    files.push_back({fs::relative(it->path(), workspace, status_ec).string(),
                     static_cast<uint64_t>(it->file_size(status_ec))});
  }
  std::sort(files.begin(), files.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  return files;
}

}  // namespace warden::agent
