// What Warden tells the model. Kept in one place, apart from the loop's logic.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llm/types.h"
#include "sandbox/sandbox.h"

namespace warden::agent {

// The system prompt: the environment, the limits, how to work. Without native tool calls it
// also describes the tools and the one format to call them in.
std::string SystemPrompt(const sandbox::Limits& limits, sandbox::NetworkMode network,
                         bool native_tools, const std::vector<llm::ToolSpec>& tools);

// Asks for the plan (no tools are offered with it).
std::string PlanRequest();
// After the plan: go.
std::string ActRequest();

// The re-prompt after a reply with no usable action: quotes what was wrong, shows one example.
std::string FormatErrorPrompt(std::string_view problem);

// Appended to the observation of a failed action: the task stays in view.
std::string FailureReminder(std::string_view task);

// Asks the model to review one command before it runs (--validate).
std::string ReviewRequest(std::string_view task, std::string_view tool, std::string_view code);

// The numbered or bulleted steps of a plan; its non-empty lines when it has none.
std::vector<std::string> PlanSteps(std::string_view plan);

}  // namespace warden::agent
