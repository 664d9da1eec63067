// The agent's tools, and how each action runs: every one in a fresh sandbox over the task's
// workspace (mounted at /workspace), so files persist between steps and nothing else does.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/json.h"
#include "llm/types.h"
#include "sandbox/sandbox.h"

namespace warden::agent {

// run_shell, run_python, write_file, read_file, finish.
const std::vector<llm::ToolSpec>& ToolSpecs();

struct Observation {
  bool ok = false;
  std::string outcome;  // exited, timeout, memory_limit, ... (sandbox outcomes), or refused
  int exit_code = -1;
  std::chrono::milliseconds duration{0};
  // All three are valid UTF-8: bytes of the program's that are not are shown as U+FFFD.
  std::string text;     // what the model reads: status line and capped output
  std::string summary;  // one line for people: "exit 0 in 0.2 s"
  std::string failure;  // for the repetition guard: how it failed ("" when it did not)
};

struct ToolOptions {
  std::string workspace;                     // host directory
  std::vector<sandbox::BindMount> ro_binds;  // the user's files, read-only, in every action
  sandbox::Limits limits;
  sandbox::NetworkMode network = sandbox::NetworkMode::kNone;
  sandbox::EgressPolicy egress;  // network == kProxy: what runs may reach
  // network == kProxy: told of each connection the proxy refused (on a proxy thread).
  sandbox::EgressDenialCallback on_egress_denied;
  size_t observation_bytes = 8000;  // stdout and stderr shown to the model, each (head + tail)
  // The most an action's timeout_seconds may ask for; 0: four times limits.wall_time.
  std::chrono::milliseconds max_wall_time{0};
  // Called before each run with its limits, which it may lower (a job's remaining budget). An
  // error refuses the run: the observation (outcome "job_limit") says why.
  std::function<Status(sandbox::Limits&)> fit_limits;
};

class ToolRunner {
 public:
  ToolRunner(sandbox::Supervisor& supervisor, ToolOptions options);

  // Runs one validated action (not finish). Output streams to `on_output` as it is produced.
  Observation Run(const std::string& tool, const json::object& arguments,
                  const sandbox::OutputCallback& on_output, const sandbox::CancelToken* cancel);

  const ToolOptions& options() const { return options_; }

  // The end of the whole task (its --max-time): an action never runs past it, whatever its own
  // limit; one that would is stopped there, and its observation says so.
  void set_deadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }

 private:
  sandbox::Spec BaseSpec() const;
  Observation Finish(const std::string& tool, const Result<sandbox::RunResult>& result,
                     const sandbox::Spec& spec) const;

  sandbox::Supervisor& supervisor_;
  ToolOptions options_;
  std::string shell_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

// Keeps the head and the tail of `text` within `limit` bytes, with a marker saying how much of
// the middle was left out.
std::string HeadAndTail(std::string_view text, size_t limit);

struct FileEntry {
  std::string path;  // relative to the workspace
  uint64_t size = 0;
};
// Regular files under `workspace` (not following symlinks), sorted by path; at most `limit`.
std::vector<FileEntry> ListFiles(const std::string& workspace, size_t limit = 1000);

}  // namespace warden::agent
