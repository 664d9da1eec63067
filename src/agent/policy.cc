#include "agent/policy.h"

#include <fnmatch.h>

#include <regex>

#include <fmt/format.h>

namespace warden::agent {
namespace {

struct Rule {
  std::regex pattern;
  const char* reason;
};

std::regex Pattern(const char* text) {
  return std::regex(text, std::regex::ECMAScript | std::regex::optimize);
}

// Commands with no legitimate use in a task's sandbox, and a real chance of harm wherever the
// sandbox is weaker than intended (--no-sandbox, a shared workspace).
const std::vector<Rule>& DenyRules() {
  static const std::vector<Rule> rules = {
      {Pattern(
           R"(\brm\s+(-{1,2}[\w-]+\s+)*(/|/\*|~|~/\*?|\$HOME/?\*?|/(usr|etc|bin|lib|boot|var|home|root)/?\*?)(\s|;|&|\||$))"),
       "deletes the system or a home directory"},
      {Pattern(R"(\bmkfs(\.\w+)?\b|\bmke2fs\b|\bwipefs\b)"), "formats a file system"},
      {Pattern(R"(\bdd\b[^;&|]*\bof=/dev/)"), "writes over a device"},
      {Pattern(R"(>\s*/dev/(sd|nvme|vd|hd|xvd|mmcblk)\w*)"), "writes over a disk device"},
      {Pattern(R"(:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:)"), "is a fork bomb"},
      {Pattern(R"((^|[;&|]\s*|\bsudo\s+)(shutdown|reboot|halt|poweroff)\b|\binit\s+[06]\b)"),
       "shuts the machine down"},
      {Pattern(R"(\bchmod\s+(-\w+\s+)*[0-7]*777\s+/(\s|$))"), "opens the whole file system"},
      {Pattern(R"(\bchown\s+(-\w+\s+)*\S+\s+/(\s|$))"),
       "changes the owner of the whole file system"},
      {Pattern(R"(shutil\.rmtree\(\s*['"](/|~|/home|/usr|/etc)['"])"),
       "deletes the system or a home directory"},
  };
  return rules;
}

const std::vector<Rule>& RiskyRules() {
  static const std::vector<Rule> rules = {
      {Pattern(R"(\brm\s+(-{1,2}[\w-]+\s+)*-\w*[rR])"), "deletes recursively"},
      {Pattern(R"(\bfind\b[^;&|]*\s-delete\b)"), "deletes files found by find"},
      {Pattern(R"(\bsudo\b|\bsu\s)"), "asks for more privilege"},
      {Pattern(R"(\b(curl|wget)\b[^;&]*\|\s*(sudo\s+)?(ba|z|da)?sh\b)"),
       "runs a script straight from the network"},
      {Pattern(R"(\b(pip3?|npm|yarn|pnpm|apt(-get)?|gem|cargo)\s+(install|add)\b)"),
       "installs software"},
      {Pattern(R"(\bgit\s+push\b)"), "pushes to a remote repository"},
      {Pattern(R"(\b(kill|killall|pkill)\b)"), "kills processes"},
      {Pattern(R"(\bchmod\s+(-\w+\s+)*-?R\b|\bchown\b)"), "changes ownership or permissions"},
      {Pattern(R"(shutil\.rmtree|os\.removedirs)"), "deletes directory trees"},
  };
  return rules;
}

const std::vector<Rule>& NetworkRules() {
  static const std::vector<Rule> rules = {
      {Pattern(R"(\b(curl|wget|ssh|scp|rsync|nc|ncat|telnet|ftp)\b)"), "uses the network"},
      {Pattern(R"(\b(requests|urllib|httpx|socket|aiohttp)\b)"), "uses the network"},
  };
  return rules;
}

bool Glob(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

// The text a rule is matched against: a command, a program, or a file write's path.
std::string Subject(std::string_view tool, const json::object& arguments) {
  auto get = [&](std::string_view key) -> std::string {
    const json::value* v = arguments.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
  };
  if (tool == "run_shell") {
    return get("command");
  }
  if (tool == "run_python") {
    return get("code");
  }
  if (tool == "write_file" || tool == "read_file") {
    return get("path");
  }
  return "";
}

}  // namespace

Result<ApprovalMode> ParseApprovalMode(std::string_view text) {
  if (text == "never") {
    return ApprovalMode::kNever;
  }
  if (text == "risky") {
    return ApprovalMode::kRisky;
  }
  if (text == "always") {
    return ApprovalMode::kAlways;
  }
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("--approve must be never, risky or always, not '{}'", text));
}

std::string_view ApprovalModeName(ApprovalMode mode) {
  switch (mode) {
    case ApprovalMode::kNever:
      return "never";
    case ApprovalMode::kRisky:
      return "risky";
    case ApprovalMode::kAlways:
      return "always";
  }
  return "risky";
}

Policy::Policy(ApprovalMode mode, std::vector<std::string> allow, std::vector<std::string> deny,
               bool network)
    : mode_(mode), allow_(std::move(allow)), deny_(std::move(deny)), network_(network) {}

Verdict Policy::Check(std::string_view tool, const json::object& arguments) const {
  if (tool == "finish" || tool == "read_file") {
    return {};
  }
  std::string subject = Subject(tool, arguments);
  bool code = tool == "run_shell" || tool == "run_python";
  if (code) {
    for (const Rule& rule : DenyRules()) {
      if (std::regex_search(subject, rule.pattern)) {
        return {Verdict::kDeny, fmt::format("refused by a built-in rule: it {}", rule.reason)};
      }
    }
  }
  for (const std::string& pattern : deny_) {
    if (Glob(pattern, subject)) {
      return {Verdict::kDeny, fmt::format("refused by the deny rule '{}'", pattern)};
    }
  }
  for (const std::string& pattern : allow_) {
    if (Glob(pattern, subject)) {
      return {};
    }
  }
  if (mode_ == ApprovalMode::kAlways) {
    return {Verdict::kAsk, "every action needs approval (--approve always)"};
  }
  if (mode_ == ApprovalMode::kRisky && code) {
    for (const Rule& rule : RiskyRules()) {
      if (std::regex_search(subject, rule.pattern)) {
        return {Verdict::kAsk, fmt::format("it {}", rule.reason)};
      }
    }
    if (network_) {
      for (const Rule& rule : NetworkRules()) {
        if (std::regex_search(subject, rule.pattern)) {
          return {Verdict::kAsk, fmt::format("it {}", rule.reason)};
        }
      }
    }
  }
  return {};
}

}  // namespace warden::agent
