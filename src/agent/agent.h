// The agent loop: plan, act, observe, correct, within hard bounds.
//
//   Agent agent(client, runner, policy, options, sink, approve);
//   AgentResult result = agent.Run("make a CSV of the 20 largest files under /usr", &token);
//
// The model first writes a plan. Then each turn it calls tools; every action is checked by the
// policy, runs in a fresh sandbox, and its observation (exit code, capped output, why it ended)
// goes back to the model, with the task in view when it failed. The loop ends when the model
// calls finish, or at the first bound: steps, wall time, tokens, consecutive format errors, or
// the same action failing the same way again and again (stuck).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "agent/events.h"
#include "agent/policy.h"
#include "agent/tools.h"
#include "llm/client.h"
#include "sandbox/sandbox.h"

namespace warden::agent {

struct AgentOptions {
  int max_steps = 30;                       // model turns that act
  std::chrono::seconds wall_time{30 * 60};  // the whole task
  uint64_t token_budget = 1'000'000;        // input + output tokens of every request; 0: none
  int max_format_errors = 3;                // consecutive replies with no usable action
  int stuck_repeats = 3;  // the same action failing the same way, or succeeding alike in a row
  bool plan = true;       // ask for a plan first
  bool validate = false;  // the model reviews each command before it runs
  // The conversation sent each turn stays under this many bytes: old steps are shortened, then
  // summarised. 0: from the model's context (when known), else 60 kB.
  size_t history_bytes = 0;
};

// Decides on an action that needs approval. Returns true to run it; on false, `why` says why not
// (told to the model).
using ApprovalFn = std::function<bool(const std::string& tool, const json::object& arguments,
                                      const std::string& reason, std::string* why)>;

struct AgentResult {
  std::string status;  // succeeded, failed, cancelled
  // finished, finished_with_refusals (some actions were not run: the summary says which),
  // refused (finish called, but every action was refused: failed), max_steps,
  // wall_time, token_budget, format_errors, stuck (failing, or succeeding, the same way 3 times
  // in a row), llm_error, cancelled
  std::string reason;
  std::string summary;  // the model's (finish) or Warden's (a bound)
  int steps = 0;
  int format_errors = 0;     // replies with no usable action, in all
  int execution_errors = 0;  // actions that failed
  llm::Usage usage;
  std::vector<FileEntry> files;
};

class Agent {
 public:
  Agent(llm::Client& client, ToolRunner& runner, Policy policy, AgentOptions options,
        EventSink sink, ApprovalFn approve);
  ~Agent();

  // Runs the task to its end. Cancelling `cancel` stops it at once: during a model request, or
  // during an action (its sandbox is killed).
  AgentResult Run(const std::string& task, const sandbox::CancelToken* cancel);

 private:
  class Loop;
  llm::Client& client_;
  ToolRunner& runner_;
  Policy policy_;
  AgentOptions options_;
  EventSink sink_;
  ApprovalFn approve_;
};

}  // namespace warden::agent
