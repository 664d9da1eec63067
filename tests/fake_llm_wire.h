// How each wire spells what FakeLlm sends: scripted replies (whole or as stream events), errors,
// and the request checks the real services make. Pure functions, no I/O. Header-only so that a
// test links the whole fake by listing fake_llm.cc alone; only fake_llm.cc includes it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/json.h"
#include "fake_llm.h"

namespace warden::testing::wire_format {

inline constexpr std::string_view kNotJson = "fake LLM: this is not JSON {";
inline constexpr std::string_view kEventStream = "text/event-stream; charset=utf-8";
inline constexpr std::string_view kSignature = "ZmFrZS1zaWduYXR1cmU=";  // of thinking blocks

inline std::string Ser(const json::value& value) {
  return json::serialize(value);
}

struct ChatContext {
  std::string model;
  std::string id;       // of the response
  uint64_t serial = 0;  // makes tool call ids unique across responses
  int64_t created = 0;  // Unix seconds
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;

  std::string CallId(std::string_view prefix, size_t index) const {
    return fmt::format("{}{:012x}{:012x}", prefix, serial, index);
  }
};

// A named value for Fill(); converts like json::value_from (strings, numbers, JSON values).
struct Field {
  template <typename T>
  Field(std::string_view field_name, T&& field_value)  // NOLINT(google-explicit-constructor)
      : name(field_name), value(json::value_from(std::forward<T>(field_value))) {}
  std::string_view name;
  json::value value;
};
using Fields = std::initializer_list<Field>;

inline void Substitute(json::value& value, Fields fields, const ChatContext* c) {
  if (json::string* text = value.if_string(); text != nullptr && text->starts_with('$')) {
    std::string_view name = text->subview().substr(1);
    for (const Field& field : fields) {
      if (field.name == name) {
        value = field.value;
        return;
      }
    }
    if (c != nullptr) {
      value = name == "id"        ? json::value(c->id)
              : name == "model"   ? json::value(c->model)
              : name == "created" ? json::value(c->created)
              : name == "in"      ? json::value(c->input_tokens)
              : name == "out"     ? json::value(c->output_tokens)
                                  : json::value(*text);
    }
  } else if (json::object* object = value.if_object(); object != nullptr) {
    for (auto& member : *object) {
      Substitute(member.value(), fields, c);
    }
  } else if (json::array* array = value.if_array(); array != nullptr) {
    for (json::value& element : *array) {
      Substitute(element, fields, c);
    }
  }
}

// A JSON value from a pattern in the wire's own spelling, so that each message's exact shape
// reads in one place: every string "$name" becomes the field `name`, else the context's $id,
// $model, $created, $in (input tokens) or $out (output tokens).
inline json::value Fill(std::string_view pattern, Fields fields = {},
                        const ChatContext* c = nullptr) {
  boost::system::error_code ec;
  json::value value = json::parse(pattern, ec);
  if (ec) {
    (void)std::fprintf(stderr, "FakeLlm: broken pattern %.*s\n", static_cast<int>(pattern.size()),
                       pattern.data());
    std::abort();
  }
  Substitute(value, fields, c);
  return value;
}

inline std::string StringField(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

inline std::string ErrorBody(Wire wire, int status, std::string_view message) {
  if (wire == Wire::kOllama) {
    return Ser(json::object{{"error", message}});
  }
  if (wire == Wire::kAnthropic) {
    static constexpr std::pair<int, std::string_view> kTypes[] = {
        {401, "authentication_error"}, {403, "permission_error"}, {404, "not_found_error"},
        {413, "request_too_large"},    {429, "rate_limit_error"}, {529, "overloaded_error"}};
    std::string_view type = status >= 500 ? "api_error" : "invalid_request_error";
    for (const auto& [code, name] : kTypes) {
      type = code == status ? name : type;
    }
    return Ser(Fill(R"({"type":"error","error":{"type":"$type","message":"$message"}})",
                    {{"type", type}, {"message", message}}));
  }
  std::string_view type = status == 429   ? "requests"
                          : status >= 500 ? "server_error"
                                          : "invalid_request_error";
  json::value code = status == 401   ? json::value("invalid_api_key")
                     : status == 429 ? json::value("rate_limit_exceeded")
                                     : json::value(nullptr);
  return Ser(Fill(R"({"error":{"message":"$message","type":"$type","param":null,"code":"$code"}})",
                  {{"message", message}, {"type", type}, {"code", code}}));
}

// One stream event before framing; `name` is the SSE event name (only Anthropic sends it).
struct Event {
  std::string name;
  std::string data;
};

inline std::string Frame(Wire wire, const Event& event) {
  switch (wire) {
    case Wire::kOpenAi:
      return fmt::format("data: {}\n\n", event.data);
    case Wire::kAnthropic:
      return fmt::format("event: {}\ndata: {}\n\n", event.name, event.data);
    case Wire::kOllama:
      return event.data + "\n";
  }
  return {};
}

// A scripted reply as its wire spells it, before faults are applied.
struct Rendered {
  bool stream = false;
  std::string content_type = "application/json";
  std::string body;           // non-stream
  std::vector<Event> events;  // stream
  size_t final_events = 0;    // trailing events that end the stream: truncate_stream omits them

  void Add(const json::value& event, std::string name = "") {
    events.push_back({std::move(name), Ser(event)});
  }
};

// Splits `text` into pieces of similar size, about one per 16 bytes: at least 3 (given 3 bytes),
// at most 13, never cutting a UTF-8 sequence, as each piece travels in a JSON string of its own.
inline std::vector<std::string> Split(std::string_view text) {
  size_t step = std::max<size_t>(1, text.size() / std::clamp<size_t>(text.size() / 16, 3, 12));
  std::vector<std::string> pieces;
  for (size_t begin = 0, end = 0; begin < text.size(); begin = end) {
    end = std::min(text.size(), begin + step);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
      ++end;
    }
    pieces.emplace_back(text.substr(begin, end - begin));
  }
  return pieces;
}

// For the wires that carry arguments as an object; text that does not parse goes as a string.
inline json::value ArgumentsValue(const std::string& arguments_json) {
  boost::system::error_code ec;
  json::value value = json::parse(arguments_json, ec);
  return ec ? json::value(arguments_json) : value;
}

// RFC 3339 with nanoseconds, as Go marshals a time.Time.
inline std::string OllamaTime() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()) %
               std::chrono::seconds(1);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     nanos.count());
}

inline Rendered RenderOpenAi(const FakeReply& reply, const ChatContext& c) {
  auto fill = [&](std::string_view pattern, Fields fields = {}) {
    return Fill(pattern, fields, &c);
  };
  std::string finish = !reply.stop_reason.empty() ? reply.stop_reason
                       : reply.tool_calls.empty() ? "stop"
                                                  : "tool_calls";
  json::value usage =
      Fill(R"({"prompt_tokens":"$in","completion_tokens":"$out","total_tokens":"$all"})",
           {{"all", c.input_tokens + c.output_tokens}}, &c);
  Rendered out;
  out.stream = c.stream;
  if (!c.stream) {
    json::object message{{"role", "assistant"}, {"content", reply.text}};
    if (reply.text.empty() && !reply.tool_calls.empty()) {
      message["content"] = nullptr;
    }
    if (!reply.reasoning.empty()) {
      message["reasoning_content"] = reply.reasoning;
    }
    json::array calls;
    for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
      calls.push_back(fill(
          R"({"id":"$call","type":"function","function":{"name":"$name","arguments":"$args"}})",
          {{"call", c.CallId("call_", i)},
           {"name", reply.tool_calls[i].name},
           {"args", reply.tool_calls[i].arguments_json}}));
    }
    if (!calls.empty()) {
      message["tool_calls"] = std::move(calls);
    }
    message["refusal"] = nullptr;
    out.body =
        Ser(fill(R"({"id":"$id","object":"chat.completion","created":"$created","model":"$model",
        "choices":[{"index":0,"message":"$message","logprobs":null,"finish_reason":"$finish"}],
        "usage":"$usage","system_fingerprint":"fp_fake"})",
                 {{"message", message}, {"finish", finish}, {"usage", usage}}));
    return out;
  }
  out.content_type = kEventStream;
  auto chunk = [&](json::value delta, json::value finish_reason = nullptr) {
    json::value object = fill(R"({"id":"$id","object":"chat.completion.chunk","created":"$created",
        "model":"$model","system_fingerprint":"fp_fake",
        "choices":[{"index":0,"delta":"$delta","logprobs":null,"finish_reason":"$finish"}]})",
                              {{"delta", std::move(delta)}, {"finish", std::move(finish_reason)}});
    if (c.include_usage) {
      object.get_object()["usage"] = nullptr;  // every chunk has it, null but in the last one
    }
    out.Add(object);
  };
  // A turn of tool calls alone starts with a null content, as OpenAI sends it.
  chunk(Fill(R"({"role":"assistant","content":"$content","refusal":null})",
             {{"content", reply.text.empty() && !reply.tool_calls.empty() ? json::value(nullptr)
                                                                          : json::value("")}}));
  for (const std::string& piece : Split(reply.reasoning)) {
    chunk(json::object{{"reasoning_content", piece}});
  }
  for (const std::string& piece : Split(reply.text)) {
    chunk(json::object{{"content", piece}});
  }
  for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
    // The first fragment names the call; later ones carry only its index and argument text.
    chunk(Fill(R"({"tool_calls":[{"index":"$i","id":"$call","type":"function",
                   "function":{"name":"$name","arguments":""}}]})",
               {{"i", i}, {"call", c.CallId("call_", i)}, {"name", reply.tool_calls[i].name}}));
    for (const std::string& piece : Split(reply.tool_calls[i].arguments_json)) {
      chunk(Fill(R"({"tool_calls":[{"index":"$i","function":{"arguments":"$piece"}}]})",
                 {{"i", i}, {"piece", piece}}));
    }
  }
  size_t body_events = out.events.size();
  chunk(json::object(), json::value(finish));
  if (c.include_usage) {
    out.Add(fill(R"({"id":"$id","object":"chat.completion.chunk","created":"$created",
        "model":"$model","system_fingerprint":"fp_fake","choices":[],"usage":"$usage"})",
                 {{"usage", usage}}));
  }
  out.events.push_back({"", "[DONE]"});
  out.final_events = out.events.size() - body_events;
  return out;
}

inline Rendered RenderOllama(const FakeReply& reply, const ChatContext& c) {
  auto line = [&](json::value message, bool done) {
    // Durations are nanoseconds, as Go marshals a time.Duration.
    return Ser(Fill(done ? R"({"model":"$model","created_at":"$time","message":"$message",
        "done_reason":"$reason","done":true,"total_duration":120000000,"load_duration":2000000,
        "prompt_eval_count":"$in","prompt_eval_duration":30000000,"eval_count":"$out",
        "eval_duration":88000000})"
                         : R"({"model":"$model","created_at":"$time","message":"$message",
        "done":false})",
                    {{"time", OllamaTime()},
                     {"message", std::move(message)},
                     {"reason", reply.stop_reason.empty() ? "stop" : reply.stop_reason}},
                    &c));
  };
  json::array calls;
  for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
    calls.push_back(Fill(R"({"function":{"index":"$i","name":"$name","arguments":"$args"}})",
                         {{"i", i},
                          {"name", reply.tool_calls[i].name},
                          {"args", ArgumentsValue(reply.tool_calls[i].arguments_json)}}));
  }
  Rendered out;
  out.stream = c.stream;
  if (!c.stream) {
    json::object message{{"role", "assistant"}, {"content", reply.text}};
    if (!reply.reasoning.empty()) {
      message["thinking"] = reply.reasoning;
    }
    if (!calls.empty()) {
      message["tool_calls"] = calls;
    }
    out.content_type = "application/json; charset=utf-8";
    out.body = line(std::move(message), true);
    return out;
  }
  out.content_type = "application/x-ndjson";
  auto add = [&](json::object message, bool done = false) {
    out.events.push_back({"", line(std::move(message), done)});
  };
  for (const std::string& piece : Split(reply.reasoning)) {
    add({{"role", "assistant"}, {"content", ""}, {"thinking", piece}});
  }
  for (const std::string& piece : Split(reply.text)) {
    add({{"role", "assistant"}, {"content", piece}});
  }
  if (!calls.empty()) {  // Ollama sends a turn's tool calls whole, in one line
    add({{"role", "assistant"}, {"content", ""}, {"tool_calls", calls}});
  }
  add({{"role", "assistant"}, {"content", ""}}, true);
  out.final_events = 1;
  return out;
}

inline Rendered RenderAnthropic(const FakeReply& reply, const ChatContext& c) {
  std::string stop_reason = !reply.stop_reason.empty() ? reply.stop_reason
                            : reply.tool_calls.empty() ? "end_turn"
                                                       : "tool_use";
  bool text_block = !reply.text.empty() || reply.tool_calls.empty();
  Rendered out;
  out.stream = c.stream;
  if (!c.stream) {
    json::array content;
    if (!reply.reasoning.empty()) {
      content.push_back(Fill(R"({"type":"thinking","thinking":"$text","signature":"$signature"})",
                             {{"text", reply.reasoning}, {"signature", kSignature}}));
    }
    if (text_block) {
      content.push_back(json::object{{"type", "text"}, {"text", reply.text}});
    }
    for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
      content.push_back(Fill(R"({"type":"tool_use","id":"$call","name":"$name","input":"$input"})",
                             {{"call", c.CallId("toolu_", i)},
                              {"name", reply.tool_calls[i].name},
                              {"input", ArgumentsValue(reply.tool_calls[i].arguments_json)}}));
    }
    out.body = Ser(Fill(R"({"id":"$id","type":"message","role":"assistant","model":"$model",
        "content":"$content","stop_reason":"$stop","stop_sequence":null,
        "usage":{"input_tokens":"$in","output_tokens":"$out"}})",
                        {{"content", std::move(content)}, {"stop", stop_reason}}, &c));
    return out;
  }
  out.content_type = kEventStream;
  auto add = [&](std::string_view pattern, Fields fields = {}) {
    json::value event = Fill(pattern, fields, &c);
    out.Add(event, std::string(event.at("type").get_string()));
  };
  size_t index = 0;
  auto start_block = [&](json::value block) {
    add(R"({"type":"content_block_start","index":"$i","content_block":"$block"})",
        {{"i", index}, {"block", std::move(block)}});
    if (index == 0) {
      add(R"({"type":"ping"})");
    }
  };
  auto delta = [&](std::string_view type, std::string_view field, std::string_view text) {
    add(R"({"type":"content_block_delta","index":"$i","delta":"$delta"})",
        {{"i", index}, {"delta", json::object{{"type", type}, {field, text}}}});
  };
  auto stop_block = [&] {
    add(R"({"type":"content_block_stop","index":"$i"})", {{"i", index++}});
  };

  // message_start reports the input tokens; message_delta the final output count.
  add(R"({"type":"message_start","message":{"id":"$id","type":"message","role":"assistant",
      "model":"$model","content":[],"stop_reason":null,"stop_sequence":null,
      "usage":{"input_tokens":"$in","output_tokens":1}}})");
  if (!reply.reasoning.empty()) {
    start_block(Fill(R"({"type":"thinking","thinking":""})"));
    for (const std::string& piece : Split(reply.reasoning)) {
      delta("thinking_delta", "thinking", piece);
    }
    delta("signature_delta", "signature", kSignature);
    stop_block();
  }
  if (text_block) {
    start_block(Fill(R"({"type":"text","text":""})"));
    for (const std::string& piece : Split(reply.text)) {
      delta("text_delta", "text", piece);
    }
    stop_block();
  }
  for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
    start_block(Fill(R"({"type":"tool_use","id":"$call","name":"$name","input":{}})",
                     {{"call", c.CallId("toolu_", i)}, {"name", reply.tool_calls[i].name}}));
    delta("input_json_delta", "partial_json", "");
    for (const std::string& piece : Split(reply.tool_calls[i].arguments_json)) {
      delta("input_json_delta", "partial_json", piece);
    }
    stop_block();
  }
  add(R"({"type":"message_delta","delta":{"stop_reason":"$stop","stop_sequence":null},
      "usage":{"output_tokens":"$out"}})",
      {{"stop", stop_reason}});
  add(R"({"type":"message_stop"})");
  out.final_events = 2;
  return out;
}

// OpenAI: every tool message answers a call of the assistant message before it, and every call
// is answered before the next other message.
inline std::string CheckOpenAiToolPairs(const json::array& messages) {
  std::set<std::string> open;
  for (size_t i = 0; i <= messages.size(); ++i) {
    const json::object* message = i < messages.size() ? messages[i].if_object() : nullptr;
    if (i < messages.size() && message == nullptr) {
      return fmt::format("Invalid type for 'messages[{}]': expected an object.", i);
    }
    std::string role = message != nullptr ? StringField(*message, "role") : "";
    if (role == "tool") {
      if (open.erase(StringField(*message, "tool_call_id")) == 0) {
        return fmt::format(  // "preceeding" sic: OpenAI's own spelling, which clients may match
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
            "message with 'tool_calls'. (messages[{}])",
            i);
      }
      continue;
    }
    if (!open.empty()) {
      return fmt::format(
          "An assistant message with 'tool_calls' must be followed by tool messages responding "
          "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
          "{}",
          *open.begin());
    }
    const json::value* calls = role == "assistant" ? message->if_contains("tool_calls") : nullptr;
    for (const json::value& call :
         calls != nullptr && calls->is_array() ? calls->get_array() : json::array()) {
      open.insert(call.is_object() ? StringField(call.get_object(), "id") : "");
    }
  }
  return "";
}

// Anthropic: roles are user or assistant; the user message after an assistant message with
// tool_use blocks answers each of them with a tool_result block, and no others.
inline std::string CheckAnthropicMessages(const json::array& messages) {
  std::set<std::string> open;  // tool_use ids of the previous assistant message
  for (size_t i = 0; i < messages.size(); ++i) {
    const json::object* message = messages[i].if_object();
    std::string role = message != nullptr ? StringField(*message, "role") : "";
    if (role == "system") {
      return "messages: Unexpected role \"system\". The Messages API accepts a top-level `system` "
             "parameter, not \"system\" as an input message role.";
    }
    if (role != "user" && role != "assistant") {
      return fmt::format("messages.{}.role: Input should be 'user' or 'assistant'", i);
    }
    std::set<std::string> uses;
    std::set<std::string> results;
    const json::value* content = message->if_contains("content");
    for (const json::value& block :
         content != nullptr && content->is_array() ? content->get_array() : json::array()) {
      std::string type = block.is_object() ? StringField(block.get_object(), "type") : "";
      if (type == "tool_use") {
        uses.insert(StringField(block.get_object(), "id"));
      } else if (type == "tool_result") {
        results.insert(StringField(block.get_object(), "tool_use_id"));
      }
    }
    for (const std::string& id : results) {
      if (role == "assistant" || !open.contains(id)) {
        return fmt::format(
            "messages.{}.content: unexpected `tool_use_id` found in `tool_result` blocks: {}. "
            "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
            "message.",
            i, id);
      }
    }
    for (const std::string& id : open) {
      if (!results.contains(id)) {
        return fmt::format(
            "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately "
            "after: {}. Each `tool_use` block must have a corresponding `tool_result` block in "
            "the next message.",
            i - 1, id);
      }
    }
    open = role == "assistant" ? uses : std::set<std::string>();
  }
  return "";  // a final assistant message is a prefill, tool_use blocks and all
}

// The checks the real services make before generating anything; empty when the request passes.
inline std::string CheckChat(Wire wire, const json::object& body, const RecordedRequest& request) {
  if (StringField(body, "model").empty()) {
    return wire == Wire::kOllama   ? "model is required"
           : wire == Wire::kOpenAi ? "you must provide a model parameter"
                                   : "model: Field required";
  }
  const json::value* messages = body.if_contains("messages");
  if (wire == Wire::kOllama) {
    return "";
  }
  if (messages == nullptr || !messages->is_array()) {
    return wire == Wire::kOpenAi ? "Missing required parameter: 'messages'."
                                 : "messages: Field required";
  }
  if (wire == Wire::kOpenAi) {
    return CheckOpenAiToolPairs(messages->get_array());
  }
  if (!request.headers.contains("anthropic-version")) {
    return "anthropic-version: header is required";
  }
  if (!body.contains("max_tokens")) {
    return "max_tokens: Field required";
  }
  return CheckAnthropicMessages(messages->get_array());
}

// The response's id, stream flags and token counts for `reply` to the chat request `request`
// (`request_bytes` long); `context_length` is the Ollama default num_ctx.
inline ChatContext MakeContext(Wire wire, const json::value& request, size_t request_bytes,
                               const FakeReply& reply, uint64_t serial, uint64_t context_length) {
  ChatContext c;
  c.serial = serial;
  c.created = static_cast<int64_t>(std::time(nullptr));
  c.id = fmt::format("{}{:016x}", wire == Wire::kAnthropic ? "msg_fake" : "chatcmpl-fake", serial);
  boost::system::error_code ec;
  const json::value* model = request.find_pointer("/model", ec);
  c.model = model != nullptr && model->is_string() ? std::string(model->get_string()) : "";
  const json::value* stream = request.find_pointer("/stream", ec);
  c.stream = stream != nullptr && stream->is_bool() ? stream->get_bool()
                                                    : wire == Wire::kOllama;  // streams unasked
  const json::value* usage = request.find_pointer("/stream_options/include_usage", ec);
  c.include_usage = usage != nullptr && usage->is_bool() && usage->get_bool();
  uint64_t num_ctx = context_length;
  if (const json::value* n = request.find_pointer("/options/num_ctx", ec);
      n != nullptr && n->is_number()) {
    uint64_t requested = n->to_number<uint64_t>(ec);
    num_ctx = !ec && requested > 0 ? requested : num_ctx;
  }
  c.input_tokens = reply.input_tokens;
  if (c.input_tokens == 0) {
    c.input_tokens = std::max<uint64_t>(1, request_bytes / 4);
    if (wire == Wire::kOllama) {
      c.input_tokens = std::min(c.input_tokens, num_ctx);  // it cannot read more
    }
  }
  if (wire == Wire::kOllama && reply.prompt_truncated) {
    c.input_tokens = num_ctx;  // what real Ollama shows after cutting the prompt to fit
  }
  c.output_tokens = reply.output_tokens;
  if (c.output_tokens == 0) {
    size_t bytes = reply.text.size() + reply.reasoning.size();
    for (const FakeToolCall& call : reply.tool_calls) {
      bytes += call.name.size() + call.arguments_json.size();
    }
    c.output_tokens = std::max<uint64_t>(1, bytes / 4);
  }
  return c;
}

// `reply` as `wire` spells it: for a status other than 200, its error body (never streamed).
inline Rendered Render(Wire wire, const FakeReply& reply, const ChatContext& c) {
  if (reply.status == 200) {
    return wire == Wire::kOpenAi   ? RenderOpenAi(reply, c)
           : wire == Wire::kOllama ? RenderOllama(reply, c)
                                   : RenderAnthropic(reply, c);
  }
  Rendered out;
  out.content_type = wire == Wire::kOllama ? "application/json; charset=utf-8" : "application/json";
  out.body =
      !reply.error_body.empty() ? reply.error_body
      : reply.status == 429     ? ErrorBody(wire, 429, "fake LLM: rate limit reached")
      : reply.status == 529
          ? ErrorBody(wire, 529, "Overloaded")
          : ErrorBody(wire, reply.status, fmt::format("fake LLM: scripted error {}", reply.status));
  return out;
}

inline constexpr std::string_view kOllamaDetails =
    R"({"parent_model":"","format":"gguf","family":"llama","families":["llama"],
        "parameter_size":"8.0B","quantization_level":"Q4_K_M"})";

}  // namespace warden::testing::wire_format
