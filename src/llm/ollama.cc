// Ollama's native API: /api/show for the model's context length and capabilities, /api/chat with
// NDJSON streaming. Unlike its /v1 endpoint, the native one lets Warden set num_ctx (Ollama's
// default context is a few thousand tokens, silently truncated from the start) and tells how many
// prompt tokens were evaluated, which shows truncation.
#include <algorithm>

#include <fmt/format.h>

#include "base/json_text.h"
#include "base/log.h"
#include "llm/stream.h"
#include "llm/wire.h"

namespace warden::llm {
namespace {

constexpr uint64_t kDefaultContext = 8192;   // when the model does not say
constexpr uint64_t kContextCeiling = 32768;  // unless configured: memory grows with the window

json::array EncodeMessages(const std::vector<Message>& messages) {
  json::array out;
  for (const Message& message : messages) {
    json::object m;
    m["role"] = RoleName(message.role);
    m["content"] = message.content;
    if (!message.tool_calls.empty()) {
      json::array calls;
      for (const ToolCall& call : message.tool_calls) {
        boost::system::error_code ec;
        json::value arguments = json::parse(call.arguments, ec);
        if (ec || !arguments.is_object() || !AllNumbersFinite(arguments)) {
          arguments = json::object{};
        }
        calls.push_back(json::object{
            {"function", json::object{{"name", call.name}, {"arguments", arguments}}}});
      }
      m["tool_calls"] = std::move(calls);
    }
    if (message.role == Role::kTool) {
      m["tool_name"] = message.tool_name;
    }
    out.push_back(std::move(m));
  }
  return out;
}

// Ollama itself takes no key; a proxy in front of it may.
void AddKey(const ProviderConfig& config, HttpRequest& http) {
  if (!config.api_key.empty()) {
    http.headers.emplace_back("Authorization", "Bearer " + config.api_key);
  }
}

uint64_t NumberAt(const json::object& object, std::string_view key) {
  return CountOf(object.if_contains(key));
}

class OllamaDecoder final : public Decoder {
 public:
  OllamaDecoder(bool stream, DeltaSink sink, uint64_t num_ctx, uint64_t prompt_estimate)
      : stream_(stream),
        sink_(std::move(sink)),
        num_ctx_(num_ctx),
        prompt_estimate_(prompt_estimate),
        lines_([this](std::string_view line) { return Line(line); }) {}

  Status Feed(std::string_view bytes) override {
    if (!stream_) {
      body_.append(bytes);
      return OkStatus();
    }
    return lines_.Feed(bytes);
  }

  Result<ChatResponse> Finish() override {
    if (!stream_) {
      RETURN_IF_ERROR(Line(body_));
    } else {
      RETURN_IF_ERROR(lines_.Finish());
    }
    if (!done_) {
      return Error(ErrorCode::kUnavailable, "the response stream ended before its end (done)");
    }
    // Ollama keeps the end of a prompt that does not fit and says nothing: the evaluated prompt
    // then fills the window, or is far shorter than the prompt sent.
    uint64_t evaluated = response_.usage.input_tokens;
    response_.prompt_truncated =
        num_ctx_ > 0 && (evaluated + 1 >= num_ctx_ || prompt_estimate_ > num_ctx_ + num_ctx_ / 10);
    return response_;
  }

 private:
  Status Line(std::string_view line) {
    ASSIGN_OR_RETURN(json::value value, ParseJson(line, "a response line"));
    if (!value.is_object()) {
      return Error(ErrorCode::kDataLoss, "a response line is not a JSON object");
    }
    const json::object& object = value.get_object();
    if (std::string error = StringAt(object, "error"); !error.empty()) {
      return Error(ErrorCode::kUnavailable, "Ollama reported an error: " + error);
    }
    if (const json::value* message = object.if_contains("message");
        message != nullptr && message->is_object()) {
      const json::object& m = message->get_object();
      if (std::string text = StringAt(m, "content"); !text.empty()) {
        response_.content += text;
        if (sink_) {
          sink_(DeltaKind::kText, text);
        }
      }
      if (std::string text = StringAt(m, "thinking"); !text.empty()) {
        response_.reasoning += text;
        if (sink_) {
          sink_(DeltaKind::kReasoning, text);
        }
      }
      if (const json::value* calls = m.if_contains("tool_calls");
          calls != nullptr && calls->is_array()) {
        for (const json::value& item : calls->get_array()) {
          const json::value* fn =
              item.is_object() ? item.get_object().if_contains("function") : nullptr;
          if (fn == nullptr || !fn->is_object()) {
            continue;
          }
          ToolCall call;
          call.id = NewCallId();
          call.name = StringAt(fn->get_object(), "name");
          const json::value* arguments = fn->get_object().if_contains("arguments");
          call.arguments = arguments == nullptr     ? ""
                           : arguments->is_string() ? std::string(arguments->get_string())
                                                    : json::serialize(*arguments);
          response_.tool_calls.push_back(std::move(call));
        }
      }
    }
    if (const json::value* done = object.if_contains("done");
        done != nullptr && done->is_bool() && done->get_bool()) {
      done_ = true;
      response_.finish_reason = StringAt(object, "done_reason");
      response_.usage.input_tokens = NumberAt(object, "prompt_eval_count");
      response_.usage.output_tokens = NumberAt(object, "eval_count");
    }
    return OkStatus();
  }

  bool stream_;
  DeltaSink sink_;
  uint64_t num_ctx_;
  uint64_t prompt_estimate_;
  LineSplitter lines_;
  std::string body_;
  ChatResponse response_;
  bool done_ = false;
};

class OllamaWire final : public WireProtocol {
 public:
  Status Prepare(const ProviderConfig& config, const std::atomic<bool>* cancel) override {
    HttpRequest http;
    http.url = config.base_url + "/api/show";
    http.headers = {{"Content-Type", "application/json"}};
    http.body = json::serialize(json::object{{"model", config.model}});
    AddKey(config, http);
    http.connect_timeout = config.connect_timeout;
    http.idle_timeout = config.idle_timeout;
    Result<HttpResponse> response = PerformHttp(http, nullptr, cancel);
    if (!response.ok()) {
      if (response.error().code() == ErrorCode::kUnavailable) {
        return Error(ErrorCode::kUnavailable,
                     fmt::format("cannot reach Ollama at {} ({}): start it with `ollama serve`, "
                                 "or point --base-url or OLLAMA_HOST at it",
                                 config.base_url, response.error().message()));
      }
      return std::move(response).error();
    }
    if (response->status == 404) {
      return Error(ErrorCode::kNotFound,
                   fmt::format("Ollama at {} has no model '{}': run `ollama pull {}`, or pick "
                               "one of `ollama list` with --model",
                               config.base_url, config.model, config.model));
    }
    uint64_t model_context = 0;
    if (response->status == 200) {
      boost::system::error_code ec;
      json::value show = json::parse(response->body, ec);
      if (!ec && show.is_object()) {
        if (const json::value* info = show.get_object().if_contains("model_info");
            info != nullptr && info->is_object()) {
          for (const auto& [key, value] : info->get_object()) {
            if (key.ends_with(".context_length")) {
              model_context = CountOf(&value);
            }
          }
        }
        if (const json::value* caps = show.get_object().if_contains("capabilities");
            caps != nullptr && caps->is_array()) {
          const json::array& list = caps->get_array();
          native_tools_ = std::find(list.begin(), list.end(), json::value("tools")) != list.end();
        }
      }
    } else if (response->status >= 500) {
      return Error(ErrorCode::kUnavailable, fmt::format("Ollama at {} answered {} to /api/show",
                                                        config.base_url, response->status));
    } else {
      LOG_WARN("Ollama /api/show answered {}: assuming a {}-token context", response->status,
               kDefaultContext);
    }
    uint64_t wanted = config.context_tokens > 0 ? config.context_tokens : kContextCeiling;
    num_ctx_ = std::min(wanted, model_context > 0 ? model_context : kDefaultContext);
    prepared_ = true;
    LOG_DEBUG("Ollama model {}: context {} (model's own {}), native tools {}", config.model,
              num_ctx_, model_context, native_tools_);
    return OkStatus();
  }

  HttpRequest BuildRequest(const ProviderConfig& config, const ChatRequest& request,
                           bool native_tools) const override {
    json::object body;
    body["model"] = config.model;
    body["messages"] =
        EncodeMessages(native_tools ? request.messages : WithoutNativeTools(request.messages));
    if (native_tools && !request.tools.empty()) {
      body["tools"] = FunctionTools(request.tools, false);
    }
    body["stream"] = config.stream;
    body["options"] = json::object{{"num_ctx", num_ctx_},
                                   {"temperature", request.temperature},
                                   {"num_predict", request.max_output_tokens}};
    HttpRequest http;
    http.url = config.base_url + "/api/chat";
    http.headers = {{"Content-Type", "application/json"}};
    AddKey(config, http);
    http.body = SerializeJson(body);  // valid UTF-8 whatever a program printed
    // About four bytes a token: enough to notice a prompt far larger than the window.
    prompt_estimate_ = http.body.size() / 4;
    return http;
  }

  std::unique_ptr<Decoder> NewDecoder(const ProviderConfig& config,
                                      const DeltaSink& sink) const override {
    return std::make_unique<OllamaDecoder>(config.stream, sink, num_ctx_, prompt_estimate_);
  }

  std::string ErrorMessage(std::string_view body) const override {
    boost::system::error_code ec;
    json::value value = json::parse(body, ec);
    if (!ec && value.is_object()) {
      if (std::string message = StringAt(value.get_object(), "error"); !message.empty()) {
        return Excerpt(message);
      }
    }
    return Excerpt(body);
  }

  bool native_tools() const override { return native_tools_; }
  uint64_t context_tokens() const override { return prepared_ ? num_ctx_ : 0; }

 private:
  bool prepared_ = false;
  uint64_t num_ctx_ = kDefaultContext;
  bool native_tools_ = true;
  mutable uint64_t prompt_estimate_ = 0;  // of the request last built, for its decoder
};

}  // namespace

std::unique_ptr<WireProtocol> NewOllamaWire() {
  return std::make_unique<OllamaWire>();
}

}  // namespace warden::llm
