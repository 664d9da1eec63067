#include "agent/history.h"

#include <fmt/format.h>

#include "base/json.h"

namespace warden::agent {
namespace {

constexpr size_t kKeepWhole = 2;        // the latest turns are never shortened
constexpr size_t kShortText = 400;      // what a shortened result or reply keeps
constexpr size_t kShortArgument = 300;  // what a shortened call keeps of each string argument

std::string Cut(std::string_view text, size_t limit) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  return fmt::format("{}\n[... {} more bytes, shortened to save context ...]",
                     text.substr(0, limit), text.size() - limit);
}

// Shortens the long string values of a call's arguments, keeping them valid JSON.
std::string CutArguments(const std::string& arguments) {
  boost::system::error_code ec;
  json::value value = json::parse(arguments, ec);
  if (ec || !value.is_object()) {
    return Cut(arguments, kShortArgument);
  }
  for (auto& [key, item] : value.as_object()) {
    if (item.is_string() && item.get_string().size() > kShortArgument) {
      item = json::value(Cut(static_cast<std::string_view>(item.get_string()), kShortArgument));
    }
  }
  return json::serialize(value);
}

std::string FirstLine(std::string_view text, size_t limit = 120) {
  size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  return line.size() > limit ? std::string(line.substr(0, limit)) + "…" : std::string(line);
}

}  // namespace

void Turn::AddResult(const std::string& call_id, const std::string& tool, std::string text) {
  if (!call_id.empty()) {
    llm::Message message;
    message.role = llm::Role::kTool;
    message.tool_call_id = call_id;
    message.tool_name = tool;
    message.content = std::move(text);
    results_.push_back(std::move(message));
    return;
  }
  user_text_ += fmt::format("{}Result of {}:\n{}", user_text_.empty() ? "" : "\n\n", tool, text);
}

void Turn::AddNote(const std::string& text) {
  user_text_ += (user_text_.empty() ? "" : "\n\n") + text;
}

History::History(std::string task, size_t budget_bytes)
    : task_(std::move(task)), budget_(budget_bytes) {}

void History::SetPlan(std::string plan, std::string act_request) {
  plan_ = std::move(plan);
  act_request_ = std::move(act_request);
}

Turn& History::AddTurn(std::string content, std::vector<llm::ToolCall> calls) {
  Turn& turn = turns_.emplace_back();
  turn.assistant_.role = llm::Role::kAssistant;
  turn.assistant_.content = std::move(content);
  turn.assistant_.tool_calls = std::move(calls);
  return turn;
}

size_t History::Size(const Turn& turn) {
  size_t size = turn.assistant_.content.size() + turn.user_text_.size();
  for (const llm::ToolCall& call : turn.assistant_.tool_calls) {
    size += call.arguments.size() + call.name.size();
  }
  for (const llm::Message& result : turn.results_) {
    size += result.content.size();
  }
  return size;
}

void History::ShortenTurn(Turn& turn) {
  turn.assistant_.content = Cut(turn.assistant_.content, kShortText);
  for (llm::ToolCall& call : turn.assistant_.tool_calls) {
    call.arguments = CutArguments(call.arguments);
  }
  for (llm::Message& result : turn.results_) {
    result.content = Cut(result.content, kShortText);
  }
  turn.user_text_ = Cut(turn.user_text_, kShortText * 2);
  turn.shortened_ = true;
}

std::string History::Digest(const Turn& turn) {
  std::string line;
  for (const llm::ToolCall& call : turn.assistant_.tool_calls) {
    line +=
        fmt::format("{}{}({})", line.empty() ? "" : ", ", call.name, FirstLine(call.arguments, 80));
  }
  if (line.empty()) {
    line = FirstLine(turn.assistant_.content, 120);
  }
  std::string outcome = !turn.results_.empty()     ? FirstLine(turn.results_.front().content)
                        : !turn.user_text_.empty() ? FirstLine(turn.user_text_)
                                                   : "";
  return fmt::format("- {} -> {}\n", line, outcome);
}

std::vector<llm::Message> History::Messages() {
  size_t fixed = system_.size() + task_.size() + plan_.size() + act_request_.size();
  size_t total = fixed + digest_.size();
  for (const Turn& turn : turns_) {
    total += Size(turn);
  }
  // First shorten the oldest turns, then fold them into the digest.
  for (size_t i = 0; total > budget_ && i + kKeepWhole < turns_.size(); ++i) {
    if (!turns_[i].shortened_) {
      total -= Size(turns_[i]);
      ShortenTurn(turns_[i]);
      total += Size(turns_[i]);
    }
  }
  while (total > budget_ && turns_.size() > 1) {
    std::string line = Digest(turns_.front());
    total -= Size(turns_.front());
    total += line.size();
    digest_ += line;
    turns_.pop_front();
    ++dropped_;
  }

  std::vector<llm::Message> messages;
  messages.push_back({llm::Role::kSystem, system_, {}, "", ""});
  messages.push_back({llm::Role::kUser, "The task: " + task_, {}, "", ""});
  if (!plan_.empty()) {
    messages.push_back({llm::Role::kAssistant, plan_, {}, "", ""});
    std::string act = act_request_;
    if (!digest_.empty()) {
      act +=
          fmt::format("\n\nThe first {} steps, summarised to save space:\n{}", dropped_, digest_);
    }
    messages.push_back({llm::Role::kUser, act, {}, "", ""});
  } else if (!digest_.empty()) {
    messages.back().content +=
        fmt::format("\n\nThe first {} steps, summarised to save space:\n{}", dropped_, digest_);
  }
  for (const Turn& turn : turns_) {
    messages.push_back(turn.assistant_);
    for (const llm::Message& result : turn.results_) {
      messages.push_back(result);
    }
    if (!turn.user_text_.empty()) {
      messages.push_back({llm::Role::kUser, turn.user_text_, {}, "", ""});
    }
  }
  return messages;
}

}  // namespace warden::agent
