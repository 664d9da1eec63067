// The provider-neutral conversation model: what the agent sends to any LLM and what comes back.
// Each wire protocol (openai.cc, ollama.cc, anthropic.cc) translates to and from these types.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/json.h"

namespace warden::llm {

enum class Role { kSystem, kUser, kAssistant, kTool };

// A call of one tool, as the model made it (natively, or recovered from its text).
struct ToolCall {
  std::string id;         // the provider's id, or one Warden made up (9 characters)
  std::string name;       // as the model wrote it: may name no tool at all
  std::string arguments;  // JSON text of an object, as the model sent it (may be malformed)
};

struct Message {
  Role role = Role::kUser;
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant messages: the calls it made
  std::string tool_call_id;          // tool messages: the call this answers
  std::string tool_name;             // tool messages: the tool that answered
};

// A tool as offered to the model: its parameters are a JSON Schema object.
struct ToolSpec {
  std::string name;
  std::string description;
  json::object parameters;
};

struct Usage {
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;

  Usage& operator+=(const Usage& other) {
    input_tokens += other.input_tokens;
    output_tokens += other.output_tokens;
    return *this;
  }
  uint64_t total() const { return input_tokens + output_tokens; }
};

struct ChatRequest {
  std::vector<Message> messages;
  std::vector<ToolSpec> tools;
  uint32_t max_output_tokens = 4096;
  double temperature = 0.2;
};

struct ChatResponse {
  std::string content;    // the text the model printed (think blocks included, as sent)
  std::string reasoning;  // separate reasoning, where the provider returns it apart
  std::vector<ToolCall> tool_calls;
  Usage usage;
  std::string finish_reason;      // the provider's word: stop, tool_calls, length, end_turn, ...
  bool prompt_truncated = false;  // the server dropped part of the prompt to fit its context
};

// Pieces of a response as they stream in, for live display. Tool-call arguments are assembled by
// the client and arrive whole in the ChatResponse.
enum class DeltaKind { kText, kReasoning };
using DeltaSink = std::function<void(DeltaKind, std::string_view)>;

const char* RoleName(Role role);

}  // namespace warden::llm
