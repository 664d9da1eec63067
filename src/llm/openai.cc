// OpenAI-compatible chat completions: OpenAI, OpenRouter, Gemini's OpenAI endpoint, vLLM,
// llama.cpp server, LM Studio, Ollama's /v1.
#include <map>

#include <fmt/format.h>

#include "base/json_text.h"
#include "llm/stream.h"
#include "llm/wire.h"

namespace warden::llm {
namespace {

json::array EncodeMessages(const std::vector<Message>& messages) {
  json::array out;
  for (const Message& message : messages) {
    json::object m;
    m["role"] = RoleName(message.role);
    m["content"] = message.content;
    if (!message.tool_calls.empty()) {
      json::array calls;
      for (const ToolCall& call : message.tool_calls) {
        calls.push_back(json::object{
            {"id", call.id},
            {"type", "function"},
            {"function",
             json::object{{"name", call.name},
                          {"arguments", call.arguments.empty() ? "{}" : call.arguments}}},
        });
      }
      m["tool_calls"] = std::move(calls);
    }
    if (message.role == Role::kTool) {
      m["tool_call_id"] = message.tool_call_id;
    }
    out.push_back(std::move(m));
  }
  return out;
}

// Reads usage {prompt_tokens, completion_tokens} when present.
void ReadUsage(const json::object& object, Usage& usage) {
  const json::value* value = object.if_contains("usage");
  if (value == nullptr || !value->is_object()) {
    return;
  }
  const json::object& u = value->get_object();
  if (const json::value* n = u.if_contains("prompt_tokens"); n != nullptr) {
    usage.input_tokens = CountOf(n);
  }
  if (const json::value* n = u.if_contains("completion_tokens"); n != nullptr) {
    usage.output_tokens = CountOf(n);
  }
}

// Arguments arrive as a JSON string (the standard) or, from some servers, as an object.
std::string ArgumentsText(const json::value* arguments) {
  if (arguments == nullptr || arguments->is_null()) {
    return "";
  }
  if (arguments->is_string()) {
    return std::string(arguments->get_string());
  }
  return json::serialize(*arguments);
}

std::string ErrorIn(const json::object& object) {
  const json::value* error = object.if_contains("error");
  if (error == nullptr) {
    return "";
  }
  if (error->is_string()) {
    return std::string(error->get_string());
  }
  if (error->is_object()) {
    std::string message = StringAt(error->get_object(), "message");
    return message.empty() ? json::serialize(*error) : message;
  }
  return json::serialize(*error);
}

class OpenAiDecoder final : public SseOrWholeDecoder {
 public:
  using SseOrWholeDecoder::SseOrWholeDecoder;

  Result<ChatResponse> Finish() override {
    if (!stream_) {
      return Whole();
    }
    if (!done_ && response_.finish_reason.empty()) {
      return Error(ErrorCode::kUnavailable, "the response stream ended before its end ([DONE])");
    }
    for (auto& [index, call] : calls_) {
      if (call.id.empty()) {
        call.id = NewCallId();
      }
      response_.tool_calls.push_back(std::move(call));
    }
    return response_;
  }

 private:
  Status Event(const SseEvent& event) override {
    if (event.data == "[DONE]") {
      done_ = true;
      return OkStatus();
    }
    ASSIGN_OR_RETURN(json::value value, ParseJson(event.data, "a streamed chunk"));
    if (!value.is_object()) {
      return Error(ErrorCode::kDataLoss, "a streamed chunk is not a JSON object");
    }
    const json::object& chunk = value.get_object();
    if (std::string error = ErrorIn(chunk); !error.empty()) {
      return Error(ErrorCode::kUnavailable, "the server reported an error mid-stream: " + error);
    }
    ReadUsage(chunk, response_.usage);
    const json::value* choices = chunk.if_contains("choices");
    if (choices == nullptr || !choices->is_array() || choices->get_array().empty()) {
      return OkStatus();
    }
    const json::value& choice = choices->get_array()[0];
    if (!choice.is_object()) {
      return OkStatus();
    }
    if (std::string reason = StringAt(choice.get_object(), "finish_reason"); !reason.empty()) {
      response_.finish_reason = reason;
    }
    const json::value* delta = choice.get_object().if_contains("delta");
    if (delta == nullptr || !delta->is_object()) {
      return OkStatus();
    }
    const json::object& d = delta->get_object();
    if (std::string text = StringAt(d, "content"); !text.empty()) {
      response_.content += text;
      if (sink_) {
        sink_(DeltaKind::kText, text);
      }
    }
    for (const char* key : {"reasoning_content", "reasoning"}) {
      if (std::string text = StringAt(d, key); !text.empty()) {
        response_.reasoning += text;
        if (sink_) {
          sink_(DeltaKind::kReasoning, text);
        }
      }
    }
    if (const json::value* calls = d.if_contains("tool_calls");
        calls != nullptr && calls->is_array()) {
      for (const json::value& item : calls->get_array()) {
        if (!item.is_object()) {
          continue;
        }
        const json::object& c = item.get_object();
        int64_t index = 0;
        if (const json::value* i = c.if_contains("index"); i != nullptr && i->is_int64()) {
          index = i->get_int64();
        }
        ToolCall& call = calls_[index];
        if (std::string id = StringAt(c, "id"); !id.empty()) {
          call.id = id;
        }
        if (const json::value* fn = c.if_contains("function"); fn != nullptr && fn->is_object()) {
          call.name += StringAt(fn->get_object(), "name");
          call.arguments += ArgumentsText(fn->get_object().if_contains("arguments"));
        }
      }
    }
    return OkStatus();
  }

  Result<ChatResponse> Whole() {
    ASSIGN_OR_RETURN(json::value value, ParseJson(body_, "the response"));
    if (!value.is_object()) {
      return Error(ErrorCode::kDataLoss, "the response is not a JSON object");
    }
    const json::object& object = value.get_object();
    if (std::string error = ErrorIn(object); !error.empty()) {
      return Error(ErrorCode::kUnavailable, "the server reported an error: " + error);
    }
    ChatResponse response;
    ReadUsage(object, response.usage);
    const json::value* choices = object.if_contains("choices");
    if (choices == nullptr || !choices->is_array() || choices->get_array().empty() ||
        !choices->get_array()[0].is_object()) {
      return Error(ErrorCode::kDataLoss, "the response has no choices: " + Excerpt(body_));
    }
    const json::object& choice = choices->get_array()[0].get_object();
    response.finish_reason = StringAt(choice, "finish_reason");
    const json::value* message = choice.if_contains("message");
    if (message == nullptr || !message->is_object()) {
      return Error(ErrorCode::kDataLoss, "the response's choice has no message");
    }
    const json::object& m = message->get_object();
    response.content = StringAt(m, "content");
    response.reasoning = StringAt(m, "reasoning_content");
    if (response.reasoning.empty()) {
      response.reasoning = StringAt(m, "reasoning");
    }
    if (const json::value* calls = m.if_contains("tool_calls");
        calls != nullptr && calls->is_array()) {
      for (const json::value& item : calls->get_array()) {
        if (!item.is_object()) {
          continue;
        }
        ToolCall call;
        call.id = StringAt(item.get_object(), "id");
        if (const json::value* fn = item.get_object().if_contains("function");
            fn != nullptr && fn->is_object()) {
          call.name = StringAt(fn->get_object(), "name");
          call.arguments = ArgumentsText(fn->get_object().if_contains("arguments"));
        }
        if (call.id.empty()) {
          call.id = NewCallId();
        }
        response.tool_calls.push_back(std::move(call));
      }
    }
    if (sink_ && !response.reasoning.empty()) {
      sink_(DeltaKind::kReasoning, response.reasoning);
    }
    if (sink_ && !response.content.empty()) {
      sink_(DeltaKind::kText, response.content);
    }
    return response;
  }

  ChatResponse response_;
  std::map<int64_t, ToolCall> calls_;  // by the stream's index
  bool done_ = false;
};

class OpenAiWire final : public WireProtocol {
 public:
  HttpRequest BuildRequest(const ProviderConfig& config, const ChatRequest& request,
                           bool native_tools) const override {
    json::object body;
    body["model"] = config.model;
    body["messages"] =
        EncodeMessages(native_tools ? request.messages : WithoutNativeTools(request.messages));
    if (native_tools && !request.tools.empty()) {
      body["tools"] = FunctionTools(request.tools, config.provider == "gemini");
    }
    // OpenAI's own newer models take max_completion_tokens and only the default temperature.
    if (config.provider == "openai") {
      body["max_completion_tokens"] = request.max_output_tokens;
    } else {
      body["max_tokens"] = request.max_output_tokens;
      body["temperature"] = request.temperature;
    }
    body["stream"] = config.stream;
    if (config.stream) {
      body["stream_options"] = json::object{{"include_usage", true}};
    }
    HttpRequest http;
    http.url = config.base_url + "/chat/completions";
    http.headers = {{"Content-Type", "application/json"}};
    http.headers.emplace_back("Accept", config.stream ? "text/event-stream" : "application/json");
    if (!config.api_key.empty()) {
      http.headers.emplace_back("Authorization", "Bearer " + config.api_key);
    }
    if (config.provider == "openrouter") {
      http.headers.emplace_back("X-Title", "Warden");
    }
    http.body = SerializeJson(body);  // valid UTF-8 whatever a program printed
    return http;
  }

  std::unique_ptr<Decoder> NewDecoder(const ProviderConfig& config,
                                      const DeltaSink& sink) const override {
    return std::make_unique<OpenAiDecoder>(config.stream, sink);
  }

  std::string ErrorMessage(std::string_view body) const override {
    boost::system::error_code ec;
    json::value value = json::parse(body, ec);
    // Some servers wrap the error in a one-element array.
    if (!ec && value.is_array() && !value.get_array().empty()) {
      value = json::value(value.get_array()[0]);
    }
    if (!ec && value.is_object()) {
      if (std::string message = ErrorIn(value.get_object()); !message.empty()) {
        return Excerpt(message);
      }
    }
    return Excerpt(body);
  }
};

}  // namespace

std::unique_ptr<WireProtocol> NewOpenAiWire() {
  return std::make_unique<OpenAiWire>();
}

}  // namespace warden::llm
