#include "cli/render.h"

#include <unistd.h>

#include <algorithm>

#include "cli/spinner.h"
#include <fmt/format.h>

#include "agent/output.h"
#include "base/json_text.h"
#include "base/units.h"

namespace warden::cli {
namespace {

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

std::string StringAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

int64_t IntAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_number() ? value->to_number<int64_t>() : 0;
}

// The heart of an action, for a person: the command, the program, the path.
std::string ActionText(const std::string& tool, const json::object& arguments) {
  if (tool == "run_shell") {
    return StringAt(arguments, "command");
  }
  if (tool == "run_python") {
    return StringAt(arguments, "code");
  }
  if (tool == "write_file") {
    return fmt::format("{} ({})", StringAt(arguments, "path"),
                       FormatBytes(StringAt(arguments, "content").size()));
  }
  return StringAt(arguments, "path");
}

std::string Indent(std::string_view text, std::string_view prefix, size_t max_lines = 12) {
  std::string out;
  size_t lines = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string_view line =
        text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    if (++lines > max_lines) {
      out += fmt::format("{}…\n", prefix);
      break;
    }
    out += fmt::format("{}{}\n", prefix, line);
    start = end == std::string_view::npos ? text.size() : end + 1;
  }
  return out;
}

}  // namespace

RenderOptions TerminalRenderOptions(bool json) {
  return {json, !json && ColorWanted(STDOUT_FILENO), !json && SpinnerWanted()};
}

Renderer::Renderer(RenderOptions options) : options_(options), spinner_(options.spinner) {}

std::string Renderer::Paint(std::string_view text, const char* code) const {
  return options_.color ? fmt::format("\033[{}m{}\033[0m", code, text) : std::string(text);
}

void Renderer::Print(const std::string& text) {
  spinner_.Stop();
  std::string out = CutNote();
  if (line_open_) {
    out = "\n" + out;
    line_open_ = false;
  }
  WriteAll(STDOUT_FILENO, out + text);
}

std::string Renderer::CutNote() {
  if (cut_lines_ == 0) {
    return "";
  }
  std::string note =
      fmt::format("  │ … {} more line{} not shown{}\n", cut_lines_, cut_lines_ == 1 ? "" : "s",
                  whole_output_.empty() ? "" : " (all of it: " + whole_output_ + ")");
  cut_lines_ = 0;
  return Paint(note, "2");
}

void Renderer::Start(const std::string& task, const std::string& provider,
                     const std::string& workspace) {
  if (options_.json) {
    return;
  }
  std::lock_guard lock(mutex_);
  Print(fmt::format("{} {}\n{}\n", Paint("Task:", "1"), task,
                    Paint(fmt::format("  model: {}\n  workspace: {}", provider, workspace), "2")));
  spinner_.Arm("thinking…");
}

void Renderer::Waiting() {
  spinner_.Arm("thinking…");
}

void Renderer::Output(const std::string& stream, std::string_view text) {
  // Live output, each line marked; stderr in red. Past kShownOutputLines lines of one action,
  // the lines are counted, not shown.
  spinner_.Stop();
  std::string out;
  for (char c : text) {
    if (output_lines_ >= kShownOutputLines) {
      if (!cut_open_) {
        ++cut_lines_;
        cut_open_ = true;
      }
      cut_open_ = c != '\n';
      continue;
    }
    if (!line_open_) {
      out += Paint("  │ ", "2");
      line_open_ = true;
    }
    out += c;
    if (c == '\n') {
      line_open_ = false;
      ++output_lines_;
    }
  }
  WriteAll(STDOUT_FILENO, stream == "stderr" && options_.color ? Paint(out, "31") : out);
}
void Renderer::Show(const agent::Event& event) {
  std::lock_guard lock(mutex_);
  if (options_.json) {
    WriteAll(STDOUT_FILENO, SerializeJson(event.ToJson()) + "\n");
    return;
  }
  ShowLocked(event);
  // The model is asked next, unless an action runs, an answer is awaited or the task ended.
  bool pending =
      event.type == agent::EventType::kApproval && StringAt(event.data, "decision") == "pending";
  if (event.type != agent::EventType::kAction && event.type != agent::EventType::kOutput &&
      event.type != agent::EventType::kFinal && !pending) {
    spinner_.Arm("thinking…");
  }
}

void Renderer::ShowLocked(const agent::Event& event) {
  const json::object& d = event.data;
  switch (event.type) {
    case agent::EventType::kPlan: {
      std::string text = Paint("Plan:", "1") + "\n";
      int n = 0;
      if (const json::value* steps = d.if_contains("steps");
          steps != nullptr && steps->is_array()) {
        for (const json::value& step : steps->get_array()) {
          if (step.is_string()) {
            text +=
                fmt::format("  {}. {}\n", ++n, static_cast<std::string_view>(step.get_string()));
          }
        }
      }
      Print(text);
      break;
    }
    case agent::EventType::kThought:
      Print(Indent(StringAt(d, "text"), Paint("  ", "2"), 6));
      break;
    case agent::EventType::kAction: {
      std::string tool = StringAt(d, "tool");
      const json::value* arguments = d.if_contains("arguments");
      std::string text = arguments != nullptr && arguments->is_object()
                             ? ActionText(tool, arguments->get_object())
                             : "";
      Print(fmt::format("{} {}\n{}", Paint(fmt::format("▶ step {}", IntAt(d, "step")), "1;36"),
                        tool, Indent(text, "    ", 8)));
      output_lines_ = 0;
      cut_open_ = false;
      break;
    }
    case agent::EventType::kOutput:
      Output(StringAt(d, "stream"), agent::OutputBytes(d));
      break;
    case agent::EventType::kObservation: {
      const json::value* ok = d.if_contains("ok");
      bool good = ok != nullptr && ok->is_bool() && ok->get_bool();
      Print(fmt::format("  {} {}\n", good ? Paint("✓", "32") : Paint("✗", "31"),
                        StringAt(d, "summary")));
      break;
    }
    case agent::EventType::kApproval: {
      std::string decision = StringAt(d, "decision");
      if (decision != "approved" && decision != "pending") {  // a server job's question: asked
        Print(fmt::format("  {} {}\n", Paint(fmt::format("⊘ {}:", decision), "33"),
                          StringAt(d, "reason")));
      }
      break;
    }
    case agent::EventType::kError:
      Print(fmt::format("  {} {}\n", Paint(fmt::format("! {}:", StringAt(d, "kind")), "33"),
                        StringAt(d, "message")));
      break;
    case agent::EventType::kUsage:
      break;
    case agent::EventType::kFinal:
      spinner_.Stop();
      break;
  }
}

std::string Renderer::FilesText(const Outcome& outcome) const {
  std::string text;
  if (outcome.files.empty()) {
    text += outcome.no_files + "\n";
  } else {
    text += outcome.files_title + ":\n";
    size_t shown = std::min(outcome.files.size(), kShownFiles);
    for (size_t i = 0; i < shown; ++i) {
      text += fmt::format("  {:<40} {:>8}\n", outcome.files[i].path,
                          FormatBytes(outcome.files[i].size));
    }
    if (shown < outcome.files.size()) {
      text += Paint(
          fmt::format("  … and {} more file{} (all of them: {})\n", outcome.files.size() - shown,
                      outcome.files.size() - shown == 1 ? "" : "s", outcome.all_files),
          "2");
    }
  }
  if (!outcome.deleted.empty()) {
    std::string names;
    for (size_t i = 0; i < outcome.deleted.size() && i < kShownFiles; ++i) {
      names += (i == 0 ? "" : ", ") + outcome.deleted[i];
    }
    if (outcome.deleted.size() > kShownFiles) {
      names += fmt::format(" and {} more", outcome.deleted.size() - kShownFiles);
    }
    text += fmt::format("Deleted: {}\n", names);
  }
  return text;
}

void Renderer::End(const Outcome& outcome) {
  std::lock_guard lock(mutex_);
  spinner_.Stop();
  if (options_.json) {
    return;  // the final event said it all
  }
  std::string head;
  if (outcome.status != "succeeded") {
    head = Paint(fmt::format("{} ({}):", outcome.status, outcome.reason), "1;31");
  } else if (outcome.reason == "finished") {
    head = Paint("Done:", "1;32");
  } else {
    head = Paint("Partly done:", "1;33");  // some actions were not run: the summary says which
  }
  std::string text = fmt::format("\n{} {}\n", head, outcome.summary);
  text += FilesText(outcome);
  std::string figures =
      fmt::format("{} steps, {} tokens ({} in, {} out)", outcome.steps, outcome.usage.total(),
                  outcome.usage.input_tokens, outcome.usage.output_tokens);
  if (outcome.duration) {
    figures += ", " + FormatDuration(*outcome.duration);
  }
  Print(text + Paint(figures + "\n", "2"));
}

Outcome OutcomeOfRun(const agent::AgentResult& result, const std::string& workspace,
                     std::chrono::milliseconds duration) {
  Outcome outcome;
  outcome.status = result.status;
  outcome.reason = result.reason;
  outcome.summary = result.summary;
  outcome.files = result.files;
  outcome.files_title = "Files in " + workspace;
  outcome.no_files = "No files in " + workspace;
  outcome.all_files = workspace;
  outcome.steps = result.steps;
  outcome.usage = result.usage;
  outcome.duration = duration;
  return outcome;
}

std::string Renderer::ApprovalQuestion(const std::string& tool, const json::object& arguments,
                                       const std::string& reason, bool always) const {
  return fmt::format("\n{} {} ({})\n{}Run it? {} ", Paint("Approve", "1;33"), tool, reason,
                     Indent(ActionText(tool, arguments), "    ", 20),
                     always ? "[y/N/a: yes, no, always for this risk]" : "[y/N]");
}

}  // namespace warden::cli
