#include "agent/prompts.h"

#include <fmt/format.h>

#include "base/units.h"

namespace warden::agent {
namespace {

constexpr std::string_view kExample =
    "<tool_call>\n"
    "{\"name\": \"run_shell\", \"arguments\": {\"command\": \"ls -la /workspace\"}}\n"
    "</tool_call>";

std::string DescribeTools(const std::vector<llm::ToolSpec>& tools) {
  std::string out;
  for (const llm::ToolSpec& tool : tools) {
    std::string params;
    const json::value* properties = tool.parameters.if_contains("properties");
    const json::value* required = tool.parameters.if_contains("required");
    if (properties != nullptr && properties->is_object()) {
      for (const auto& [name, schema] : properties->get_object()) {
        bool needed = false;
        if (required != nullptr && required->is_array()) {
          for (const json::value& r : required->get_array()) {
            needed = needed || (r.is_string() && r.get_string() == name);
          }
        }
        const json::value* type =
            schema.is_object() ? schema.get_object().if_contains("type") : nullptr;
        params += fmt::format("{}{}{}: {}", params.empty() ? "" : ", ",
                              static_cast<std::string_view>(name), needed ? "" : "?",
                              type != nullptr && type->is_string()
                                  ? static_cast<std::string_view>(type->get_string())
                                  : std::string_view("any"));
      }
    }
    out += fmt::format("- {}({}): {}\n", tool.name, params, tool.description);
  }
  return out;
}

}  // namespace

std::string SystemPrompt(const sandbox::Limits& limits, sandbox::NetworkMode network,
                         bool native_tools, const std::vector<llm::ToolSpec>& tools) {
  std::string prompt = fmt::format(
      "You are Warden, an agent that carries out tasks on a Linux machine by running shell "
      "commands and Python programs.\n\n"
      "Environment:\n"
      "- Every action runs in a fresh sandbox. The working directory is /workspace: it persists "
      "between actions, and the files you leave there are the results the user receives.\n"
      "- Everything outside /workspace and /tmp is read-only; /tmp is emptied after each "
      "action. You run as an ordinary user; there is no sudo.\n"
      "- {}\n"
      "- Python 3 is /usr/bin/python3; use its standard library. Debian's usual command-line "
      "tools are available.\n"
      "- Each action may run for {} and use {} of memory.\n\n"
      "How to work:\n"
      "- Work in small steps: act, read the result, and fix what failed before going on.\n"
      "- Prefer writing a script to a file and running it for anything longer than a few lines.\n"
      "- Check your results (list the files, look at their first lines) before finishing.\n"
      "- When the task is done, call finish with a short summary of what you did and which files "
      "hold the results. If it cannot be done, call finish and say why.\n",
      network == sandbox::NetworkMode::kNone ? "There is no network: do not download or install "
                                               "anything."
      : network == sandbox::NetworkMode::kProxy
          ? "Only the hosts of the job's allow-list are reachable, through the HTTP proxy that "
            "HTTP_PROXY and HTTPS_PROXY name (pip, curl and Python use it). A host refused by "
            "the job's network policy stays refused: say which host you need instead of trying "
            "another route."
          : "The network is available.",
      FormatDuration(limits.wall_time), FormatBytes(limits.memory_bytes));
  if (!native_tools) {
    prompt += fmt::format(
        "\nTools:\n{}\n"
        "To use a tool, reply with one call in exactly this form, and nothing after it:\n{}\n"
        "A shell command may also be given as a ```bash block, and a Python program as a "
        "```python block.\n",
        DescribeTools(tools), kExample);
  }
  return prompt;
}

std::string PlanRequest() {
  return "Before acting, write a short plan: a numbered list of 2 to 7 steps that will get the "
         "task done. Write only the plan; do not run anything yet.";
}

std::string ActRequest() {
  return "Now carry out the plan, one step at a time, using the tools. Adapt the plan when a "
         "result calls for it.";
}

std::string FormatErrorPrompt(std::string_view problem) {
  return fmt::format(
      "Your last reply could not be used: {}.\n"
      "Reply with exactly one tool call, for example:\n{}\n"
      "When the task is done, call finish with a summary.",
      problem.empty() ? "it contained no tool call" : problem, kExample);
}

std::string FailureReminder(std::string_view task) {
  return fmt::format(
      "\nThat action failed. The task is still: \"{}\"\n"
      "Find the cause in the output above, fix it, and try again. If it cannot be done, call "
      "finish and say why.",
      task);
}

std::string ReviewRequest(std::string_view task, std::string_view tool, std::string_view code) {
  return fmt::format(
      "You review actions before they run. The task is: \"{}\"\n"
      "The next action is {}:\n```\n{}\n```\n"
      "Is it safe, and a sensible step for the task? Answer with APPROVE, or with REJECT and a "
      "one-line reason.",
      task, tool, code);
}

std::vector<std::string> PlanSteps(std::string_view plan) {
  std::vector<std::string> numbered;
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < plan.size()) {
    size_t end = plan.find('\n', start);
    std::string_view line =
        plan.substr(start, end == std::string_view::npos ? plan.npos : end - start);
    start = end == std::string_view::npos ? plan.size() : end + 1;
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
      continue;
    }
    line.remove_prefix(first);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.remove_suffix(1);
    }
    lines.emplace_back(line);
    size_t digits = 0;
    while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) {
      ++digits;
    }
    std::string_view rest;
    if (digits > 0 && digits < line.size() && (line[digits] == '.' || line[digits] == ')')) {
      rest = line.substr(digits + 1);
    } else if (line.starts_with("- ") || line.starts_with("* ")) {
      rest = line.substr(2);
    } else {
      continue;
    }
    size_t text = rest.find_first_not_of(" \t");
    if (text != std::string_view::npos) {
      numbered.emplace_back(rest.substr(text));
    }
  }
  if (!numbered.empty()) {
    return numbered;
  }
  if (lines.size() > 10) {
    lines.resize(10);
  }
  return lines;
}

}  // namespace warden::agent
