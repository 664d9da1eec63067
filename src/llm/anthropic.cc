// Anthropic Messages: system prompt apart, content blocks (text, tool_use, tool_result), strictly
// alternating roles, SSE events named by type.
#include <map>

#include <fmt/format.h>

#include "base/json_text.h"
#include "llm/stream.h"
#include "llm/wire.h"

namespace warden::llm {
namespace {

constexpr std::string_view kApiVersion = "2023-06-01";

json::value ParsedArguments(const std::string& text) {
  boost::system::error_code ec;
  json::value value = json::parse(text.empty() ? "{}" : text, ec);
  return !ec && value.is_object() && AllNumbersFinite(value) ? value : json::value(json::object{});
}

// Appends blocks to the last message when it has the same role (the API wants alternation).
void Append(json::array& messages, std::string_view role, json::array blocks) {
  if (blocks.empty()) {
    return;
  }
  if (!messages.empty()) {
    json::object& last = messages.back().as_object();
    if (last["role"].as_string() == role) {
      for (json::value& block : blocks) {
        last["content"].as_array().push_back(std::move(block));
      }
      return;
    }
  }
  messages.push_back(json::object{{"role", role}, {"content", std::move(blocks)}});
}

void EncodeMessages(const std::vector<Message>& messages, json::object& body) {
  std::string system;
  json::array out;
  for (const Message& message : messages) {
    json::array blocks;
    if (message.role == Role::kSystem) {
      system += (system.empty() ? "" : "\n\n") + message.content;
      continue;
    }
    if (message.role == Role::kTool) {
      blocks.push_back(json::object{{"type", "tool_result"},
                                    {"tool_use_id", message.tool_call_id},
                                    {"content", message.content}});
      Append(out, "user", std::move(blocks));
      continue;
    }
    if (!message.content.empty()) {
      blocks.push_back(json::object{{"type", "text"}, {"text", message.content}});
    }
    for (const ToolCall& call : message.tool_calls) {
      blocks.push_back(json::object{{"type", "tool_use"},
                                    {"id", call.id},
                                    {"name", call.name},
                                    {"input", ParsedArguments(call.arguments)}});
    }
    Append(out, message.role == Role::kAssistant ? "assistant" : "user", std::move(blocks));
  }
  if (!system.empty()) {
    body["system"] = system;
  }
  body["messages"] = std::move(out);
}

std::string ErrorIn(const json::object& object) {
  const json::value* error = object.if_contains("error");
  if (error == nullptr || !error->is_object()) {
    return "";
  }
  std::string type = StringAt(error->get_object(), "type");
  std::string message = StringAt(error->get_object(), "message");
  return type.empty() ? message : fmt::format("{}: {}", type, message);
}

void ReadUsage(const json::value* usage, Usage& out) {
  if (usage == nullptr || !usage->is_object()) {
    return;
  }
  const json::object& u = usage->get_object();
  auto number = [&](std::string_view key) -> uint64_t {
    return CountOf(u.if_contains(key));
  };
  if (uint64_t n = number("input_tokens") + number("cache_read_input_tokens") +
                   number("cache_creation_input_tokens");
      n > 0) {
    out.input_tokens = n;
  }
  if (uint64_t n = number("output_tokens"); n > 0) {
    out.output_tokens = n;
  }
}

class AnthropicDecoder final : public SseOrWholeDecoder {
 public:
  using SseOrWholeDecoder::SseOrWholeDecoder;

  Result<ChatResponse> Finish() override {
    if (!stream_) {
      return Whole();
    }
    if (!done_) {
      return Error(ErrorCode::kUnavailable,
                   "the response stream ended before its end (message_stop)");
    }
    for (auto& [index, block] : blocks_) {
      if (block.kind == "tool_use") {
        response_.tool_calls.push_back(std::move(block.call));
      }
    }
    return response_;
  }

 private:
  struct Block {
    std::string kind;
    ToolCall call;
  };

  void Text(DeltaKind kind, const std::string& text) {
    if (text.empty()) {
      return;
    }
    (kind == DeltaKind::kText ? response_.content : response_.reasoning) += text;
    if (sink_) {
      sink_(kind, text);
    }
  }

  Status Event(const SseEvent& event) override {
    ASSIGN_OR_RETURN(json::value value, ParseJson(event.data, "a streamed event"));
    if (!value.is_object()) {
      return Error(ErrorCode::kDataLoss, "a streamed event is not a JSON object");
    }
    const json::object& e = value.get_object();
    std::string type = StringAt(e, "type");
    if (type == "error") {
      return Error(ErrorCode::kUnavailable,
                   "the server reported an error mid-stream: " + ErrorIn(e));
    }
    int64_t index = 0;
    if (const json::value* i = e.if_contains("index"); i != nullptr && i->is_int64()) {
      index = i->get_int64();
    }
    if (type == "message_start") {
      if (const json::value* m = e.if_contains("message"); m != nullptr && m->is_object()) {
        ReadUsage(m->get_object().if_contains("usage"), response_.usage);
      }
    } else if (type == "content_block_start") {
      const json::value* b = e.if_contains("content_block");
      if (b != nullptr && b->is_object()) {
        Block& block = blocks_[index];
        block.kind = StringAt(b->get_object(), "type");
        block.call.id = StringAt(b->get_object(), "id");
        block.call.name = StringAt(b->get_object(), "name");
        Text(DeltaKind::kText, StringAt(b->get_object(), "text"));
      }
    } else if (type == "content_block_delta") {
      const json::value* d = e.if_contains("delta");
      if (d != nullptr && d->is_object()) {
        const json::object& delta = d->get_object();
        std::string kind = StringAt(delta, "type");
        if (kind == "text_delta") {
          Text(DeltaKind::kText, StringAt(delta, "text"));
        } else if (kind == "thinking_delta") {
          Text(DeltaKind::kReasoning, StringAt(delta, "thinking"));
        } else if (kind == "input_json_delta") {
          blocks_[index].call.arguments += StringAt(delta, "partial_json");
        }
      }
    } else if (type == "message_delta") {
      if (const json::value* d = e.if_contains("delta"); d != nullptr && d->is_object()) {
        if (std::string reason = StringAt(d->get_object(), "stop_reason"); !reason.empty()) {
          response_.finish_reason = reason;
        }
      }
      ReadUsage(e.if_contains("usage"), response_.usage);
    } else if (type == "message_stop") {
      done_ = true;
    }
    return OkStatus();
  }

  Result<ChatResponse> Whole() {
    ASSIGN_OR_RETURN(json::value value, ParseJson(body_, "the response"));
    if (!value.is_object()) {
      return Error(ErrorCode::kDataLoss, "the response is not a JSON object");
    }
    const json::object& object = value.get_object();
    if (StringAt(object, "type") == "error") {
      return Error(ErrorCode::kUnavailable, "the server reported an error: " + ErrorIn(object));
    }
    const json::value* content = object.if_contains("content");
    if (content == nullptr || !content->is_array()) {
      return Error(ErrorCode::kDataLoss, "the response has no content: " + Excerpt(body_));
    }
    for (const json::value& item : content->get_array()) {
      if (!item.is_object()) {
        continue;
      }
      const json::object& block = item.get_object();
      std::string type = StringAt(block, "type");
      if (type == "text") {
        Text(DeltaKind::kText, StringAt(block, "text"));
      } else if (type == "thinking") {
        Text(DeltaKind::kReasoning, StringAt(block, "thinking"));
      } else if (type == "tool_use") {
        ToolCall call{StringAt(block, "id"), StringAt(block, "name"), "{}"};
        if (const json::value* input = block.if_contains("input"); input != nullptr) {
          call.arguments = json::serialize(*input);
        }
        response_.tool_calls.push_back(std::move(call));
      }
    }
    response_.finish_reason = StringAt(object, "stop_reason");
    ReadUsage(object.if_contains("usage"), response_.usage);
    return response_;
  }

  ChatResponse response_;
  std::map<int64_t, Block> blocks_;
  bool done_ = false;
};

class AnthropicWire final : public WireProtocol {
 public:
  HttpRequest BuildRequest(const ProviderConfig& config, const ChatRequest& request,
                           bool native_tools) const override {
    json::object body;
    body["model"] = config.model;
    body["max_tokens"] = request.max_output_tokens;
    body["temperature"] = request.temperature;
    EncodeMessages(native_tools ? request.messages : WithoutNativeTools(request.messages), body);
    if (native_tools && !request.tools.empty()) {
      json::array tools;
      for (const ToolSpec& tool : request.tools) {
        tools.push_back(json::object{{"name", tool.name},
                                     {"description", tool.description},
                                     {"input_schema", tool.parameters}});
      }
      body["tools"] = std::move(tools);
    }
    body["stream"] = config.stream;
    HttpRequest http;
    http.url = config.base_url + "/v1/messages";
    http.headers = {{"Content-Type", "application/json"},
                    {"anthropic-version", std::string(kApiVersion)}};
    if (!config.api_key.empty()) {
      http.headers.emplace_back("x-api-key", config.api_key);
    }
    http.body = SerializeJson(body);  // valid UTF-8 whatever a program printed
    return http;
  }

  std::unique_ptr<Decoder> NewDecoder(const ProviderConfig& config,
                                      const DeltaSink& sink) const override {
    return std::make_unique<AnthropicDecoder>(config.stream, sink);
  }

  std::string ErrorMessage(std::string_view body) const override {
    boost::system::error_code ec;
    json::value value = json::parse(body, ec);
    if (!ec && value.is_object()) {
      if (std::string message = ErrorIn(value.get_object()); !message.empty()) {
        return Excerpt(message);
      }
    }
    return Excerpt(body);
  }
};

}  // namespace

std::unique_ptr<WireProtocol> NewAnthropicWire() {
  return std::make_unique<AnthropicWire>();
}

}  // namespace warden::llm
