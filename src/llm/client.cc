#include "llm/client.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "base/log.h"
#include "llm/wire.h"

namespace warden::llm {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::mt19937_64& Random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

// Retry-After: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
std::optional<milliseconds> ParseRetryAfter(const std::string& value) {
  if (value.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  double seconds = std::strtod(value.c_str(), &end);
  if (end != value.c_str() && *end == '\0' && seconds >= 0) {
    return milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  struct tm tm {};
  if (::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) != nullptr) {
    time_t when = ::timegm(&tm);
    time_t now = ::time(nullptr);
    return milliseconds(std::max<int64_t>(0, (when - now) * 1000));
  }
  return std::nullopt;
}

bool Retryable(int64_t status) {
  return status == 408 || status == 409 || status == 425 || status == 429 || status >= 500;
}

// The server refused the tools parameter: the model has no tool support.
bool RejectsTools(int64_t status, std::string_view message) {
  if (status != 400 && status != 404 && status != 422 && status != 500) {
    return false;
  }
  std::string lower(message);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower.find("does not support tools") != std::string::npos ||
         lower.find("tool use is not supported") != std::string::npos ||
         lower.find("tools are not supported") != std::string::npos ||
         lower.find("\"auto\" tool choice requires") != std::string::npos ||
         lower.find("tool choice requires") != std::string::npos;
}

class HttpClient final : public Client {
 public:
  HttpClient(ProviderConfig config, std::unique_ptr<WireProtocol> wire)
      : Client(std::move(config)), wire_(std::move(wire)) {}

  Result<ChatResponse> Chat(const ChatRequest& request, const ChatObserver& observer,
                            const std::atomic<bool>* cancel) override;
  bool native_tools() const override { return native_tools_ && wire_->native_tools(); }
  Status Prepare(const std::atomic<bool>* cancel) override {
    if (!prepared_) {
      RETURN_IF_ERROR(wire_->Prepare(config_, cancel));
      prepared_ = true;
    }
    return OkStatus();
  }
  uint64_t context_tokens() const override { return wire_->context_tokens(); }

 private:
  // What one attempt came to: done (a response, or an error not worth retrying), again (at once,
  // without tools), or a failure to retry.
  struct Outcome {
    std::optional<Result<ChatResponse>> done;
    bool again = false;
    std::string why;
    std::optional<milliseconds> retry_after;
    std::optional<Error> final_error;  // what to report when retries are spent
  };
  Outcome Attempt(const ChatRequest& request, const ChatObserver& observer,
                  const std::atomic<bool>* cancel);
  Error StatusError(int64_t status, const std::string& message) const;
  Status Wait(milliseconds wait, const std::atomic<bool>* cancel) const;

  std::unique_ptr<WireProtocol> wire_;
  bool prepared_ = false;
  bool native_tools_ = true;
};

Error HttpClient::StatusError(int64_t status, const std::string& message) const {
  std::string where = config_.Describe();
  switch (status) {
    case 401:
      return Error(ErrorCode::kUnauthenticated,
                   fmt::format("{} refused the API key{} (401: {}): check the key", where,
                               config_.api_key_source.empty() ? std::string(" (none was given)")
                                                              : " from " + config_.api_key_source,
                               message));
    case 403:
      return Error(ErrorCode::kPermissionDenied,
                   fmt::format("{} denied access (403: {}): the key may lack access to this "
                               "model, or the account may need billing set up",
                               where, message));
    case 404:
      return Error(
          ErrorCode::kNotFound,
          fmt::format("{} answered 404 ({}): check --model{} and --base-url", where, message,
                      config_.wire == Wire::kOllama
                          ? fmt::format(" (or run `ollama pull {}`)", config_.model)
                          : ""));
    case 429:
      return Error(ErrorCode::kResourceExhausted,
                   fmt::format("{} is rate limiting (429: {}), and retries are spent: wait, or "
                               "raise the account's limits",
                               where, message));
    default:
      if (status >= 500) {
        return Error(
            ErrorCode::kUnavailable,
            fmt::format("{} failed with {} ({}), and retries are spent", where, status, message));
      }
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{} rejected the request ({}: {})", where, status, message));
  }
}

Status HttpClient::Wait(milliseconds wait, const std::atomic<bool>* cancel) const {
  Clock::time_point until = Clock::now() + wait;
  while (Clock::now() < until) {
    if (cancel != nullptr && cancel->load()) {
      return Error(ErrorCode::kCancelled, "cancelled");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(50), until - Clock::now()));
  }
  return OkStatus();
}

Result<ChatResponse> HttpClient::Chat(const ChatRequest& request, const ChatObserver& observer,
                                      const std::atomic<bool>* cancel) {
  for (int attempt = 1;; ++attempt) {
    Outcome outcome;
    if (!prepared_) {
      // Ollama asks the model's context first: an unreachable server is retried like a request.
      Status prepared = wire_->Prepare(config_, cancel);
      if (prepared.ok()) {
        prepared_ = true;
      } else if (prepared.error().code() != ErrorCode::kUnavailable &&
                 prepared.error().code() != ErrorCode::kDeadlineExceeded) {
        return std::move(prepared).error();
      } else {
        outcome.why = prepared.error().message();
        outcome.final_error = std::move(prepared).error();
      }
    }
    if (prepared_) {
      outcome = Attempt(request, observer, cancel);
      if (outcome.done) {
        return *std::move(outcome.done);
      }
      if (outcome.again) {
        return Error(ErrorCode::kAborted,
                     fmt::format("{} takes no tools: ask again without them", config_.Describe()));
      }
    }
    if (attempt > config_.max_retries) {
      if (outcome.final_error) {
        return *std::move(outcome.final_error);
      }
      return Error(ErrorCode::kUnavailable, fmt::format("{}: {} (gave up after {} attempts)",
                                                        config_.Describe(), outcome.why, attempt));
    }
    milliseconds wait;
    if (outcome.retry_after) {
      if (*outcome.retry_after > config_.retry_cap) {
        return Error(
            ErrorCode::kResourceExhausted,
            fmt::format("{}: {}; the server asks to wait {} s before trying again",
                        config_.Describe(), outcome.why, outcome.retry_after->count() / 1000));
      }
      wait = *outcome.retry_after;
    } else {
      // Exponential backoff with jitter: a random wait in [half, all] of base * 2^(attempt-1).
      auto full = std::min<int64_t>(config_.retry_cap.count(), config_.retry_base.count()
                                                                   << std::min(attempt - 1, 20));
      std::uniform_int_distribution<int64_t> pick(full / 2, std::max<int64_t>(full / 2, full));
      wait = milliseconds(pick(Random()));
    }
    LOG_DEBUG("LLM attempt {} failed ({}); retrying in {} ms", attempt, outcome.why, wait.count());
    if (observer.on_retry) {
      observer.on_retry(attempt, wait, outcome.why);
    }
    RETURN_IF_ERROR(Wait(wait, cancel));
  }
}

HttpClient::Outcome HttpClient::Attempt(const ChatRequest& request, const ChatObserver& observer,
                                        const std::atomic<bool>* cancel) {
  Outcome outcome;
  HttpRequest http = wire_->BuildRequest(config_, request, native_tools());
  http.connect_timeout = config_.connect_timeout;
  http.idle_timeout = config_.idle_timeout;
  std::unique_ptr<Decoder> decoder = wire_->NewDecoder(config_, observer.on_delta);
  BodySink sink = [&](std::string_view bytes) {
    return decoder->Feed(bytes);
  };
  Result<HttpResponse> response = PerformHttp(http, sink, cancel);
  if (!response.ok()) {
    ErrorCode code = response.error().code();
    if (code == ErrorCode::kCancelled || code == ErrorCode::kFailedPrecondition ||
        code == ErrorCode::kInvalidArgument) {
      outcome.done = std::move(response).error();
      return outcome;
    }
    outcome.why = response.error().message();
    return outcome;
  }
  if (response->status >= 200 && response->status < 300) {
    Result<ChatResponse> result = decoder->Finish();
    if (result.ok()) {
      outcome.done = std::move(result);
      return outcome;
    }
    outcome.why = result.error().message();
    return outcome;
  }
  std::string message = wire_->ErrorMessage(response->body);
  if (native_tools() && !request.tools.empty() && RejectsTools(response->status, message)) {
    LOG_INFO("{} has no native tool calls ({}): describing tools in the prompt instead",
             config_.Describe(), message);
    native_tools_ = false;
    outcome.again = true;
    return outcome;
  }
  if (!Retryable(response->status)) {
    outcome.done = StatusError(response->status, message);
    return outcome;
  }
  outcome.why = fmt::format("HTTP {}: {}", response->status, message);
  outcome.final_error = StatusError(response->status, message);
  if (auto header = response->headers.find("retry-after"); header != response->headers.end()) {
    outcome.retry_after = ParseRetryAfter(header->second);
  }
  return outcome;
}

}  // namespace

std::string ProviderConfig::Describe() const {
  return fmt::format("{} model {} at {}", provider, model.empty() ? "(default)" : model, base_url);
}

std::unique_ptr<Client> MakeClient(ProviderConfig config) {
  std::unique_ptr<WireProtocol> wire;
  switch (config.wire) {
    case Wire::kOpenAi:
      wire = NewOpenAiWire();
      break;
    case Wire::kOllama:
      wire = NewOllamaWire();
      break;
    case Wire::kAnthropic:
      wire = NewAnthropicWire();
      break;
  }
  return std::make_unique<HttpClient>(std::move(config), std::move(wire));
}

std::string NewCallId() {
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string id(9, 'a');
  for (char& c : id) {
    c = kAlphabet[pick(Random())];
  }
  return id;
}

std::vector<Message> WithoutNativeTools(const std::vector<Message>& messages) {
  std::vector<Message> out;
  out.reserve(messages.size());
  for (const Message& message : messages) {
    Message copy = message;
    if (message.role == Role::kTool) {
      copy.role = Role::kUser;
      copy.content = fmt::format("Result of {}:\n{}", message.tool_name, message.content);
      copy.tool_call_id.clear();
    } else if (message.role == Role::kAssistant && !message.tool_calls.empty()) {
      if (copy.content.empty()) {  // a native call turned into text: keep the model's intent
        for (const ToolCall& call : message.tool_calls) {
          copy.content += fmt::format(
              "<tool_call>\n{{\"name\": \"{}\", \"arguments\": {}}}\n"
              "</tool_call>\n",
              call.name, call.arguments.empty() ? "{}" : call.arguments);
        }
      }
      copy.tool_calls.clear();
    }
    // Consecutive user messages are merged: some templates insist on alternation.
    if (!out.empty() && out.back().role == Role::kUser && copy.role == Role::kUser) {
      out.back().content += "\n\n" + copy.content;
      continue;
    }
    out.push_back(std::move(copy));
  }
  return out;
}

namespace {

// Gemini's endpoint rejects some JSON Schema keywords that everyone else accepts.
json::value SanitizedSchema(const json::value& schema, bool gemini) {
  if (!gemini) {
    return schema;
  }
  if (schema.is_object()) {
    json::object out;
    for (const auto& [key, value] : schema.get_object()) {
      if (key == "additionalProperties" || key == "$schema" || key == "const" ||
          key == "propertyNames") {
        continue;
      }
      out[key] = SanitizedSchema(value, gemini);
    }
    return out;
  }
  if (schema.is_array()) {
    json::array out;
    for (const json::value& item : schema.get_array()) {
      out.push_back(SanitizedSchema(item, gemini));
    }
    return out;
  }
  return schema;
}

}  // namespace

json::array FunctionTools(const std::vector<ToolSpec>& tools, bool gemini_schema) {
  json::array out;
  for (const ToolSpec& tool : tools) {
    out.push_back(json::object{
        {"type", "function"},
        {"function", json::object{{"name", tool.name},
                                  {"description", tool.description},
                                  {"parameters", SanitizedSchema(tool.parameters, gemini_schema)}}},
    });
  }
  return out;
}

Result<json::value> ParseJson(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) {
    return Error(ErrorCode::kDataLoss,
                 fmt::format("{} is not valid JSON ({}): {}", what, ec.message(), Excerpt(text)));
  }
  return value;
}

std::string StringAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) {
    return "";
  }
  return std::string(value->get_string());
}

uint64_t CountOf(const json::value* value) {
  if (value == nullptr) {
    return 0;
  }
  boost::system::error_code ec;
  auto count = value->to_number<uint64_t>(ec);
  return ec ? 0 : count;
}

std::string Excerpt(std::string_view body, size_t limit) {
  std::string out;
  for (char c : body) {
    if (out.size() >= limit) {
      out += "…";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  size_t end = out.find_last_not_of(' ');
  out.resize(end == std::string::npos ? 0 : end + 1);
  return out.empty() ? "(empty body)" : out;
}

}  // namespace warden::llm
