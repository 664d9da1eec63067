#include "agent/agent.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "agent/history.h"
#include "agent/output.h"
#include "agent/prompts.h"
#include "base/log.h"
#include "base/utf8.h"
#include "llm/text_calls.h"

namespace warden::agent {
namespace {

using Clock = std::chrono::steady_clock;

// One action the model asked for.
struct Action {
  std::string tool;
  json::object arguments;
  std::string call_id;  // native calls: the id its result must carry
  bool native = false;
};

// The actions in a reply, and what was wrong with the rest.
struct Extracted {
  std::vector<Action> actions;
  std::string problem;
  std::vector<std::pair<std::string, std::string>> rejected;  // native call id, error
  std::string prose;
};

Extracted Extract(const llm::ChatResponse& response) {
  Extracted out;
  const std::vector<llm::ToolSpec>& specs = ToolSpecs();
  if (!response.tool_calls.empty()) {
    out.prose = response.content;
    for (const llm::ToolCall& call : response.tool_calls) {
      llm::ArgumentCheck check = llm::CheckCall(call, specs);
      if (!check.ok) {
        out.rejected.emplace_back(call.id, check.error);
        out.problem += (out.problem.empty() ? "" : "; ") + check.error;
        continue;
      }
      std::string name = call.name;
      for (const llm::ToolSpec& spec : specs) {
        if (spec.name == call.name) {
          name = spec.name;
        }
      }
      out.actions.push_back({name, std::move(check.arguments), call.id, true});
    }
    return out;
  }
  llm::TextCallParse parse = llm::ParseTextCalls(response.content, specs);
  out.prose = parse.prose;
  out.problem = parse.error;
  for (llm::TextCall& call : parse.calls) {
    out.actions.push_back({call.name, std::move(call.arguments), "", false});
  }
  if (out.actions.empty() && out.problem.empty() && !parse.drafts.empty()) {
    out.problem = fmt::format(
        "its only tool call ({}) was inside a thinking block, where a call is a draft and is never "
        "run; write the call after the thinking block ends",
        parse.drafts.front().name);
  }
  return out;
}

std::string ShortArguments(const Action& action) {
  auto get = [&](std::string_view key) -> std::string {
    const json::value* v = action.arguments.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
  };
  std::string text = action.tool == "run_shell"    ? get("command")
                     : action.tool == "run_python" ? get("code")
                     : action.tool == "finish"     ? get("summary")
                                                   : get("path");
  return text;
}

}  // namespace

class Agent::Loop {
 public:
  Loop(Agent& agent, const std::string& task, const sandbox::CancelToken* cancel)
      : agent_(agent), task_(task), cancel_(cancel), history_(task, HistoryBudget(agent)) {}

  AgentResult Run();

 private:
  static size_t HistoryBudget(const Agent& agent) {
    if (agent.options_.history_bytes > 0) {
      return agent.options_.history_bytes;
    }
    uint64_t tokens = agent.client_.context_tokens();
    return tokens > 0 ? static_cast<size_t>(tokens * 3) : 60'000;
  }

  void Emit(EventType type, json::object data) {
    Event event;
    event.seq = ++seq_;
    event.time = std::chrono::system_clock::now();
    event.type = type;
    event.data = std::move(data);
    if (agent_.sink_) {
      agent_.sink_(event);
    }
  }

  bool Cancelled() const { return cancel_ != nullptr && cancel_->cancelled(); }
  const std::atomic<bool>* CancelFlag() const {
    return cancel_ != nullptr ? &cancel_->flag() : nullptr;
  }

  // One model request; usage is counted and reported.
  Result<llm::ChatResponse> Ask(const llm::ChatRequest& request);
  // Why the loop must stop now, or "".
  std::string Bound() const;
  AgentResult End(std::string status, std::string reason, std::string summary);
  bool MakePlan();
  // Runs the actions of one reply; true when the task ended (finish, stuck).
  bool Act(const Extracted& extracted, Turn& turn);
  // The model called finish: a success, unless actions it needed were refused.
  AgentResult Finished(const std::string& summary);
  // True (and the task ended as stuck) when this success repeats the last ones exactly.
  bool RepeatsItself(const Action& action, const Observation& observation);
  Observation Execute(const Action& action, int step);
  // --validate: the model's verdict on an action, "" when approved.
  struct ReviewVerdict {
    enum Kind { kApproved, kRejected, kUnclear };
    Kind kind = kApproved;
    std::string reason;  // kRejected: why; kUnclear: what the review said, and what was done
  };
  ReviewVerdict Review(const Action& action);

  Agent& agent_;
  std::string task_;
  const sandbox::CancelToken* cancel_;
  History history_;
  Clock::time_point start_ = Clock::now();
  uint64_t seq_ = 0;
  AgentResult result_;
  int consecutive_format_errors_ = 0;
  bool tools_refused_ = false;
  std::map<std::string, int> failures_;  // action + how it failed -> times
  std::string last_success_;             // the last action that succeeded, with what it printed
  int success_repeats_ = 0;              // ... and how many times in a row it ran so
  int actions_ok_ = 0;                   // actions that ran and succeeded
  int refused_ = 0;                      // actions denied, refused or rejected
  std::string first_refusal_;
  std::optional<AgentResult> ended_;
};

Result<llm::ChatResponse> Agent::Loop::Ask(const llm::ChatRequest& request) {
  llm::ChatObserver observer;
  observer.on_retry = [&](int attempt, std::chrono::milliseconds wait, const std::string& why) {
    Emit(EventType::kError,
         json::object{{"kind", "llm_retry"},
                      {"message", fmt::format("model request failed ({}); attempt {} again in "
                                              "{:.1f} s",
                                              why, attempt + 1,
                                              std::chrono::duration<double>(wait).count())}});
  };
  Result<llm::ChatResponse> response = agent_.client_.Chat(request, observer, CancelFlag());
  if (response.ok()) {
    result_.usage += response->usage;
    Emit(EventType::kUsage, json::object{{"input_tokens", result_.usage.input_tokens},
                                         {"output_tokens", result_.usage.output_tokens},
                                         {"total_tokens", result_.usage.total()}});
    if (response->prompt_truncated) {
      history_.Shrink();
      Emit(EventType::kError, json::object{{"kind", "llm"},
                                           {"message",
                                            "the model's context overflowed and the server cut the "
                                            "prompt: older steps will be summarised more"}});
    }
  }
  return response;
}

std::string Agent::Loop::Bound() const {
  const AgentOptions& options = agent_.options_;
  if (Cancelled()) {
    return "cancelled";
  }
  if (result_.steps >= options.max_steps) {
    return "max_steps";
  }
  if (Clock::now() - start_ >= options.wall_time) {
    return "wall_time";
  }
  if (options.token_budget > 0 && result_.usage.total() >= options.token_budget) {
    return "token_budget";
  }
  return "";
}

AgentResult Agent::Loop::End(std::string status, std::string reason, std::string summary) {
  result_.status = std::move(status);
  result_.reason = std::move(reason);
  result_.summary = std::move(summary);
  result_.files = ListFiles(agent_.runner_.options().workspace);
  json::array files;
  for (const FileEntry& file : result_.files) {
    files.push_back(json::object{{"path", file.path}, {"size", file.size}});
  }
  Emit(EventType::kFinal, json::object{{"status", result_.status},
                                       {"reason", result_.reason},
                                       {"summary", result_.summary},
                                       {"files", std::move(files)},
                                       {"steps", result_.steps},
                                       {"format_errors", result_.format_errors},
                                       {"execution_errors", result_.execution_errors},
                                       {"input_tokens", result_.usage.input_tokens},
                                       {"output_tokens", result_.usage.output_tokens}});
  return result_;
}

bool Agent::Loop::MakePlan() {
  llm::ChatRequest request;
  request.messages = {
      {llm::Role::kSystem, history_.system(), {}, "", ""},
      {llm::Role::kUser, "The task: " + task_ + "\n\n" + PlanRequest(), {}, "", ""}};
  request.max_output_tokens = 1024;
  Result<llm::ChatResponse> response = Ask(request);
  if (!response.ok()) {
    if (!Cancelled()) {
      Emit(EventType::kError,
           json::object{{"kind", "llm"}, {"message", response.error().message()}});
      ended_ = End("failed", "llm_error", response.error().message());
    } else {
      ended_ = End("cancelled", "cancelled", "cancelled while planning");
    }
    return false;
  }
  std::string plan = llm::ParseTextCalls(response->content, {}).prose;
  if (plan.empty()) {
    plan = response->content;
  }
  json::array steps;
  for (const std::string& step : PlanSteps(plan)) {
    steps.push_back(json::value(step));
  }
  Emit(EventType::kPlan, json::object{{"steps", steps}, {"text", plan}});
  history_.SetPlan(plan, ActRequest());
  return true;
}

Agent::Loop::ReviewVerdict Agent::Loop::Review(const Action& action) {
  llm::ChatRequest request;
  request.messages = {
      {llm::Role::kUser, ReviewRequest(task_, action.tool, ShortArguments(action)), {}, "", ""}};
  request.max_output_tokens = 256;
  Result<llm::ChatResponse> response = Ask(request);
  if (!response.ok()) {
    return {ReviewVerdict::kRejected, "the review could not be done, so the action was not run: " +
                                          response.error().message()};
  }
  std::string text = llm::ParseTextCalls(response->content, {}).prose;
  // The first of the two words decides ("APPROVE; I see no reason to REJECT it" approves).
  size_t reject = text.find("REJECT");
  size_t approve = text.find("APPROVE");
  if (approve != std::string::npos && (reject == std::string::npos || approve < reject)) {
    return {ReviewVerdict::kApproved, ""};
  }
  if (reject == std::string::npos) {
    std::string said = text.substr(0, 200);
    std::replace(said.begin(), said.end(), '\n', ' ');
    return {ReviewVerdict::kUnclear,
            fmt::format("the review answered neither APPROVE nor REJECT (\"{}{}\"), so the action "
                        "ran on the policy's verdict alone",
                        ToValidUtf8(said), text.size() > 200 ? "..." : "")};
  }
  std::string reason = text.substr(reject + 6);
  size_t first = reason.find_first_not_of(" :-\n");
  return {ReviewVerdict::kRejected,
          first == std::string::npos ? "no reason given" : reason.substr(first)};
}

Observation Agent::Loop::Execute(const Action& action, int step) {
  OutputEncoder encoder(step);
  sandbox::OutputCallback on_output = [&](sandbox::Stream stream, std::string_view data) {
    if (std::optional<json::object> event = encoder.Add(stream, data)) {
      Emit(EventType::kOutput, std::move(*event));
    }
  };
  Observation observation = agent_.runner_.Run(action.tool, action.arguments, on_output, cancel_);
  for (json::object& event : encoder.Finish()) {
    Emit(EventType::kOutput, std::move(event));
  }
  return observation;
}

bool Agent::Loop::Act(const Extracted& extracted, Turn& turn) {
  int step = result_.steps;
  bool failed = false;
  for (const Action& action : extracted.actions) {
    Observation observation;
    auto reply = [&](const std::string& text) {
      turn.AddResult(action.call_id, action.tool, text);
    };
    if (failed) {
      reply("skipped: an earlier action of this reply failed");
      continue;
    }
    if (action.tool == "finish") {
      const json::value* summary = action.arguments.if_contains("summary");
      std::string text =
          summary != nullptr && summary->is_string() ? std::string(summary->get_string()) : "";
      reply("finished");
      ended_ = Finished(text);
      return true;
    }
    Emit(EventType::kAction, json::object{{"step", step},
                                          {"tool", action.tool},
                                          {"arguments", action.arguments},
                                          {"call_id", action.call_id}});
    Verdict verdict = agent_.policy_.Check(action.tool, action.arguments);
    std::string refusal;
    if (verdict.kind == Verdict::kDeny) {
      refusal = verdict.reason;
      Emit(EventType::kApproval, json::object{{"step", step},
                                              {"tool", action.tool},
                                              {"decision", "denied"},
                                              {"reason", verdict.reason}});
    } else if (verdict.kind == Verdict::kAsk) {
      std::string why;
      bool approved =
          agent_.approve_ && agent_.approve_(action.tool, action.arguments, verdict.reason, &why);
      if (!agent_.approve_) {
        why = "no one is there to approve it";
      }
      Emit(EventType::kApproval, json::object{{"step", step},
                                              {"tool", action.tool},
                                              {"decision", approved ? "approved" : "refused"},
                                              {"reason", approved ? verdict.reason : why}});
      if (!approved) {
        refusal = fmt::format("the user did not approve this action ({}): {}", verdict.reason, why);
      }
    }
    if (refusal.empty() && agent_.options_.validate &&
        (action.tool == "run_shell" || action.tool == "run_python")) {
      ReviewVerdict review = Review(action);
      if (review.kind == ReviewVerdict::kRejected) {
        refusal = "the review rejected this action: " + review.reason;
      }
      if (review.kind != ReviewVerdict::kApproved) {
        Emit(EventType::kApproval,
             json::object{
                 {"step", step},
                 {"tool", action.tool},
                 {"decision", review.kind == ReviewVerdict::kRejected ? "rejected" : "unclear"},
                 {"reason", review.reason}});
      }
    }
    if (!refusal.empty()) {
      if (refused_++ == 0) {
        first_refusal_ = refusal;
      }
      last_success_.clear();
      Emit(EventType::kError, json::object{{"kind", "policy"}, {"message", refusal}});
      reply("Not run: " + refusal +
            ". Do something else, or call finish if the task cannot "
            "be done without it.");
      failed = true;
      continue;
    }
    observation = Execute(action, step);
    Emit(EventType::kObservation, json::object{{"step", step},
                                               {"tool", action.tool},
                                               {"outcome", observation.outcome},
                                               {"exit_code", observation.exit_code},
                                               {"ok", observation.ok},
                                               {"duration_ms", observation.duration.count()},
                                               {"summary", observation.summary}});
    if (Cancelled()) {
      reply(observation.text);
      ended_ = End("cancelled", "cancelled", "cancelled during an action");
      return true;
    }
    if (observation.ok) {
      reply(observation.text);
      ++actions_ok_;
      if (RepeatsItself(action, observation)) {
        return true;
      }
      continue;
    }
    last_success_.clear();
    failed = true;
    ++result_.execution_errors;
    reply(observation.text + FailureReminder(task_));
    std::string key =
        action.tool + "\n" + json::serialize(action.arguments) + "\n" + observation.failure;
    if (++failures_[key] >= agent_.options_.stuck_repeats) {
      std::string summary = fmt::format("stuck: the same {} failed the same way {} times ({})",
                                        action.tool, failures_[key], observation.summary);
      Emit(EventType::kError, json::object{{"kind", "execution"}, {"message", summary}});
      ended_ = End("failed", "stuck", summary);
      return true;
    }
  }
  return false;
}

AgentResult Agent::Loop::Finished(const std::string& summary) {
  if (refused_ == 0) {
    return End("succeeded", "finished", summary);
  }
  std::string not_done =
      fmt::format("{} action{} not run ({}{})", refused_, refused_ == 1 ? " was" : "s were",
                  first_refusal_, refused_ == 1 ? "" : ", and others");
  if (actions_ok_ == 0) {
    // Nothing the task needed ran: whatever the model says, the task was not done.
    return End("failed", "refused",
               fmt::format("nothing was done: {}. The model said: {}", not_done, summary));
  }
  return End("succeeded", "finished_with_refusals",
             fmt::format("{}\nNot done: {}", summary, not_done));
}

bool Agent::Loop::RepeatsItself(const Action& action, const Observation& observation) {
  // What it printed, without the first line of the observation (its status and duration).
  size_t status_end = observation.text.find('\n');
  std::string key = action.tool + "\n" + json::serialize(action.arguments) + "\n" +
                    observation.outcome + "\n" +
                    (status_end == std::string::npos ? "" : observation.text.substr(status_end));
  success_repeats_ = key == last_success_ ? success_repeats_ + 1 : 1;
  last_success_ = std::move(key);
  if (success_repeats_ < agent_.options_.stuck_repeats) {
    return false;
  }
  std::string summary =
      fmt::format("stuck: the same {} gave the same result {} times in a row ({})", action.tool,
                  success_repeats_, observation.summary);
  Emit(EventType::kError, json::object{{"kind", "execution"}, {"message", summary}});
  ended_ = End("failed", "stuck", summary);
  return true;
}

AgentResult Agent::Loop::Run() {
  // What the model can do decides the system prompt; a failure here shows again at the first
  // request, which retries and reports it.
  if (Status prepared = agent_.client_.Prepare(CancelFlag()); !prepared.ok()) {
    LOG_DEBUG("preparing the model client: {}", prepared.error().message());
  }
  history_.SetSystem(SystemPrompt(agent_.runner_.options().limits, agent_.runner_.options().network,
                                  agent_.client_.native_tools(), ToolSpecs()));
  agent_.runner_.set_deadline(start_ + agent_.options_.wall_time);
  if (agent_.options_.plan && !MakePlan()) {
    return *ended_;
  }
  for (;;) {
    if (std::string bound = Bound(); !bound.empty()) {
      if (bound == "cancelled") {
        return End("cancelled", bound, "cancelled");
      }
      return End("failed", bound,
                 fmt::format("stopped by a bound: {} (after {} steps, {} tokens)", bound,
                             result_.steps, result_.usage.total()));
    }
    // The system prompt depends on whether tools are native, which the first request decides.
    history_.SetSystem(SystemPrompt(agent_.runner_.options().limits,
                                    agent_.runner_.options().network, agent_.client_.native_tools(),
                                    ToolSpecs()));
    llm::ChatRequest request;
    request.messages = history_.Messages();
    request.tools = ToolSpecs();
    Result<llm::ChatResponse> response = Ask(request);
    if (!response.ok() && response.error().code() == ErrorCode::kAborted &&
        !agent_.client_.native_tools() && !tools_refused_) {
      tools_refused_ = true;  // once: the prompt now describes the tools and how to call them
      continue;
    }
    if (!response.ok()) {
      if (Cancelled()) {
        return End("cancelled", "cancelled", "cancelled");
      }
      Emit(EventType::kError,
           json::object{{"kind", "llm"}, {"message", response.error().message()}});
      return End("failed", "llm_error", response.error().message());
    }
    ++result_.steps;
    Extracted extracted = Extract(*response);
    if (!extracted.prose.empty()) {
      Emit(EventType::kThought, json::object{{"step", result_.steps}, {"text", extracted.prose}});
    }
    Turn& turn = history_.AddTurn(response->content, response->tool_calls);
    for (const auto& [id, error] : extracted.rejected) {
      turn.AddResult(id, "", "error: " + error);
    }
    if (extracted.actions.empty()) {
      ++result_.format_errors;
      ++consecutive_format_errors_;
      std::string problem =
          extracted.problem.empty() ? "it contained no tool call" : extracted.problem;
      Emit(EventType::kError, json::object{{"kind", "format"}, {"message", problem}});
      turn.AddNote(FormatErrorPrompt(problem));
      if (consecutive_format_errors_ >= agent_.options_.max_format_errors) {
        return End("failed", "format_errors",
                   fmt::format("stopped: {} replies in a row had no usable action (last: {})",
                               consecutive_format_errors_, problem));
      }
      continue;
    }
    consecutive_format_errors_ = 0;
    if (!extracted.problem.empty()) {
      turn.AddNote("Some calls of your last reply were not run: " + extracted.problem);
    }
    if (Act(extracted, turn)) {
      return *ended_;
    }
  }
}

Agent::Agent(llm::Client& client, ToolRunner& runner, Policy policy, AgentOptions options,
             EventSink sink, ApprovalFn approve)
    : client_(client),
      runner_(runner),
      policy_(std::move(policy)),
      options_(options),
      sink_(std::move(sink)),
      approve_(std::move(approve)) {}

Agent::~Agent() = default;

AgentResult Agent::Run(const std::string& task, const sandbox::CancelToken* cancel) {
  Loop loop(*this, task, cancel);
  return loop.Run();
}

}  // namespace warden::agent
