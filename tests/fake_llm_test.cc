// Self-tests of FakeLlm. A raw-socket HTTP/1.1 client (not libcurl, so nothing hides what the
// server sends) checks each wire's framing and JSON, every fault, and the request log.
#include "fake_llm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace warden::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using Headers = std::map<std::string, std::string>;

struct HttpResponse {
  int status = 0;          // 0: no status line arrived
  Headers headers;         // names lowercased
  std::string body;        // chunked framing removed
  bool complete = false;   // the body ended as its framing declared
  bool timed_out = false;  // reading stopped because nothing arrived in time
};

// One client connection that shows exactly what the server sent, including broken framing.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    EXPECT_EQ(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  }

  bool Send(std::string_view method, std::string_view path, std::string_view body,
            const Headers& headers = {}) {
    std::string request = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path);
    if (method == "POST") {
      request += fmt::format("Content-Length: {}\r\n", body.size());
    }
    for (const auto& [name, value] : headers) {
      request += fmt::format("{}: {}\r\n", name, value);
    }
    request += "\r\n";
    request += body;
    return SendRaw(request);
  }

  bool SendRaw(std::string_view data) {
    return ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(data.size());
  }

  // Reads one response; every wait for more bytes gives up after `patience`.
  HttpResponse Read(milliseconds patience = milliseconds(10'000)) {
    HttpResponse response;
    auto until = [&](auto ready) {  // reads until ready() holds; false if the bytes stop coming
      while (!ready()) {
        if (!Fill(patience, &response)) {
          return false;
        }
      }
      return true;
    };
    size_t end = 0;
    if (!until([&] { return (end = buffer_.find("\r\n\r\n")) != std::string::npos; })) {
      return response;
    }
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    response.status = std::atoi(head.c_str() + 9);  // after "HTTP/1.1 "
    for (size_t pos = head.find("\r\n"); pos != std::string::npos;) {
      size_t next = head.find("\r\n", pos + 2);
      std::string line = head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
      std::string name = line.substr(0, line.find(": "));
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      response.headers[name] = line.substr(name.size() + 2);
      pos = next;
    }
    if (response.status < 200 || response.headers.contains("content-length")) {
      size_t length = response.status < 200 ? 0 : std::stoul(response.headers["content-length"]);
      response.complete = until([&] { return buffer_.size() >= length; });
      response.body = buffer_.substr(0, length);
      buffer_.erase(0, std::min(length, buffer_.size()));
      return response;
    }
    EXPECT_EQ(response.headers["transfer-encoding"], "chunked");
    for (size_t size = 1; size != 0;) {
      size_t line_end = 0;
      if (!until([&] { return (line_end = buffer_.find("\r\n")) != std::string::npos; })) {
        return response;
      }
      size = std::stoul(buffer_.substr(0, line_end), nullptr, 16);
      if (!until([&] { return buffer_.size() >= line_end + size + 4; })) {
        return response;
      }
      EXPECT_EQ(buffer_.substr(line_end + 2 + size, 2), "\r\n");
      response.body += buffer_.substr(line_end + 2, size);
      buffer_.erase(0, line_end + size + 4);
    }
    response.complete = true;
    return response;
  }

 private:
  bool Fill(milliseconds patience, HttpResponse* response) {
    pollfd fd{fd_.get(), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(patience.count())) <= 0) {
      response->timed_out = true;
      return false;
    }
    char chunk[16384];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n <= 0) {
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  UniqueFd fd_;
  std::string buffer_;
};

json::value Parse(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return value;
}

// The value at a JSON pointer; null when absent.
json::value At(const json::value& value, std::string_view pointer) {
  boost::system::error_code ec;
  const json::value* found = value.find_pointer(pointer, ec);
  return found != nullptr ? *found : json::value();
}

std::string Str(const json::value& value, std::string_view pointer) {
  json::value found = At(value, pointer);
  return found.is_string() ? std::string(found.get_string()) : "<not a string>";
}

uint64_t Num(const json::value& value, std::string_view pointer) {
  json::value found = At(value, pointer);
  return found.is_number() ? found.to_number<uint64_t>() : 0;
}

struct WireEvent {
  std::string name;  // SSE "event:" (Anthropic)
  std::string data;  // SSE "data:" or an NDJSON line
};

// Splits a streamed body into its events, checking the framing: SSE events end with a blank
// line, NDJSON lines with a newline.
std::vector<WireEvent> Events(Wire wire, const std::string& body) {
  std::vector<WireEvent> events;
  std::string_view separator = wire == Wire::kOllama ? "\n" : "\n\n";
  EXPECT_TRUE(body.ends_with(separator)) << body;
  for (size_t begin = 0, end = 0; (end = body.find(separator, begin)) != std::string::npos;
       begin = end + separator.size()) {
    std::string block = body.substr(begin, end - begin);
    WireEvent event;
    if (wire == Wire::kOllama) {
      event.data = block;
    } else {
      for (size_t line_begin = 0; line_begin <= block.size();) {
        size_t line_end = std::min(block.find('\n', line_begin), block.size());
        std::string_view line(block.data() + line_begin, line_end - line_begin);
        if (line.starts_with("event: ")) {
          event.name = line.substr(7);
        } else if (line.starts_with("data: ")) {
          event.data = line.substr(6);
        } else {
          ADD_FAILURE() << "not an SSE field: " << line;
        }
        line_begin = line_end + 1;
      }
      EXPECT_EQ(wire == Wire::kAnthropic, !event.name.empty()) << block;
    }
    events.push_back(event);
  }
  return events;
}

// What a client would assemble from a stream.
struct Assembled {
  std::string text;
  bool ended = false;  // saw [DONE] / done:true / message_stop
  int not_json = 0;
  size_t events = 0;
};

Assembled Assemble(Wire wire, const std::string& body) {
  Assembled out;
  for (const WireEvent& event : Events(wire, body)) {
    ++out.events;
    boost::system::error_code ec;
    json::value data = json::parse(event.data, ec);
    if (event.data == "[DONE]" && wire == Wire::kOpenAi) {
      out.ended = true;
    } else if (ec) {
      ++out.not_json;
    } else if (wire == Wire::kOpenAi && At(data, "/choices/0/delta/content").is_string()) {
      out.text += Str(data, "/choices/0/delta/content");
    } else if (wire == Wire::kOllama) {
      out.text += Str(data, "/message/content");
      out.ended = out.ended || At(data, "/done") == true;
    } else if (wire == Wire::kAnthropic) {
      EXPECT_EQ(event.name, Str(data, "/type"));
      if (Str(data, "/delta/type") == "text_delta") {
        out.text += Str(data, "/delta/text");
      }
      out.ended = out.ended || event.name == "message_stop";
    }
  }
  return out;
}

std::string ChatPath(Wire wire) {
  return wire == Wire::kOpenAi   ? "/v1/chat/completions"
         : wire == Wire::kOllama ? "/api/chat"
                                 : "/v1/messages";
}

Headers ChatHeaders(Wire wire) {
  Headers headers{{"Content-Type", "application/json"}};
  if (wire == Wire::kAnthropic) {
    headers["anthropic-version"] = "2023-06-01";
  }
  return headers;
}

json::object ChatBody(Wire wire, std::optional<bool> stream) {
  json::object body{
      {"model", "test-model"},
      {"messages", json::array{json::object{{"role", "user"}, {"content", "list the files"}}}}};
  if (wire == Wire::kAnthropic) {
    body["max_tokens"] = 1024;
  }
  if (stream.has_value()) {
    body["stream"] = *stream;
  }
  return body;
}

bool SendChat(RawClient& client, Wire wire, bool stream) {
  return client.Send("POST", ChatPath(wire), json::serialize(ChatBody(wire, stream)),
                     ChatHeaders(wire));
}

HttpResponse Chat(const FakeLlm& llm, Wire wire, const json::value& body, Headers headers = {}) {
  headers.merge(ChatHeaders(wire));
  RawClient client(llm.port());
  EXPECT_TRUE(client.Send("POST", ChatPath(wire), json::serialize(body), headers));
  return client.Read();
}

// The message of an error body, checked to be in the wire's own shape.
std::string ErrorMessage(Wire wire, const std::string& body) {
  json::value error = Parse(body);
  if (wire == Wire::kOllama) {
    return Str(error, "/error");
  }
  if (wire == Wire::kAnthropic) {
    EXPECT_EQ(Str(error, "/type"), "error");
  }
  EXPECT_TRUE(At(error, "/error/type").is_string()) << body;
  return Str(error, "/error/message");
}

// The assistant text of a non-streamed answer.
std::string AnswerText(Wire wire, const std::string& body) {
  json::value answer = Parse(body);
  return Str(answer, wire == Wire::kOpenAi   ? "/choices/0/message/content"
                     : wire == Wire::kOllama ? "/message/content"
                                             : "/content/0/text");
}

constexpr std::string_view kArguments = R"({"command":"ls -la /workspace","timeout_ms":5000})";

TEST(FakeLlmTest, OpenAiAnswersToolCallsInOneCompletion) {
  FakeLlm llm(Wire::kOpenAi);
  llm.Script({ToolCallReply("run", std::string(kArguments))});
  HttpResponse response = Chat(llm, Wire::kOpenAi, ChatBody(Wire::kOpenAi, std::nullopt));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"], "application/json");
  json::value body = Parse(response.body);
  EXPECT_EQ(Str(body, "/object"), "chat.completion");
  EXPECT_EQ(Str(body, "/model"), "test-model");
  EXPECT_TRUE(At(body, "/choices/0/message/content").is_null());
  EXPECT_EQ(Str(body, "/choices/0/message/tool_calls/0/type"), "function");
  EXPECT_TRUE(Str(body, "/choices/0/message/tool_calls/0/id").starts_with("call_"));
  EXPECT_EQ(Str(body, "/choices/0/message/tool_calls/0/function/name"), "run");
  EXPECT_EQ(Str(body, "/choices/0/message/tool_calls/0/function/arguments"), kArguments);
  EXPECT_EQ(Str(body, "/choices/0/finish_reason"), "tool_calls");
  EXPECT_GT(Num(body, "/usage/prompt_tokens"), 0U);
  EXPECT_EQ(Num(body, "/usage/total_tokens"),
            Num(body, "/usage/prompt_tokens") + Num(body, "/usage/completion_tokens"));
}

TEST(FakeLlmTest, OpenAiStreamsDeltasArgumentFragmentsUsageAndDone) {
  FakeLlm llm(Wire::kOpenAi);
  FakeReply reply = ToolCallReply("run", std::string(kArguments));
  reply.text = "Listing the wörkspace ✓ — one moment, then the answer.";
  reply.reasoning = "The user wants files.";
  reply.input_tokens = 321;
  llm.Script({reply});
  json::object request = ChatBody(Wire::kOpenAi, true);
  request["stream_options"] = json::object{{"include_usage", true}};
  HttpResponse response = Chat(llm, Wire::kOpenAi, request);
  ASSERT_EQ(response.status, 200);
  EXPECT_TRUE(response.complete);
  EXPECT_TRUE(response.headers["content-type"].starts_with("text/event-stream"));
  std::vector<WireEvent> events = Events(Wire::kOpenAi, response.body);
  ASSERT_GE(events.size(), 4U);
  EXPECT_EQ(events.back().data, "[DONE]");
  std::string text, reasoning, arguments;
  int text_deltas = 0, argument_fragments = 0;
  for (size_t i = 0; i + 2 < events.size(); ++i) {  // up to the finish chunk
    json::value chunk = Parse(events[i].data);
    EXPECT_EQ(Str(chunk, "/object"), "chat.completion.chunk");
    EXPECT_TRUE(At(chunk, "/usage").is_null()) << "usage is null until the last chunk";
    json::value delta = At(chunk, "/choices/0/delta");
    if (At(delta, "/content").is_string() && i > 0) {
      text += Str(delta, "/content");
      ++text_deltas;
    }
    if (At(delta, "/reasoning_content").is_string()) {
      reasoning += Str(delta, "/reasoning_content");
    }
    if (At(delta, "/tool_calls/0").is_object()) {
      EXPECT_EQ(Num(delta, "/tool_calls/0/index"), 0U);
      bool first = arguments.empty() && argument_fragments == 0;
      EXPECT_EQ(At(delta, "/tool_calls/0/id").is_string(), first);
      EXPECT_EQ(At(delta, "/tool_calls/0/function/name").is_string(), first);
      if (first) {
        EXPECT_EQ(Str(delta, "/tool_calls/0/function/name"), "run");
        EXPECT_EQ(Str(delta, "/tool_calls/0/type"), "function");
      }
      arguments += Str(delta, "/tool_calls/0/function/arguments");
      ++argument_fragments;
    }
  }
  EXPECT_EQ(text, reply.text);
  EXPECT_GE(text_deltas, 3);
  EXPECT_EQ(reasoning, reply.reasoning);
  EXPECT_EQ(arguments, kArguments);
  EXPECT_GE(argument_fragments, 4);  // the naming fragment and at least three of text
  json::value finish = Parse(events[events.size() - 3].data);
  EXPECT_EQ(Str(finish, "/choices/0/finish_reason"), "tool_calls");
  json::value usage = Parse(events[events.size() - 2].data);
  EXPECT_TRUE(At(usage, "/choices").is_array() && At(usage, "/choices").get_array().empty());
  EXPECT_EQ(Num(usage, "/usage/prompt_tokens"), 321U);
  EXPECT_GT(Num(usage, "/usage/completion_tokens"), 0U);
}

TEST(FakeLlmTest, OpenAiStreamHasNoUsageChunkUnlessAsked) {
  FakeLlm llm(Wire::kOpenAi);
  llm.Script({TextReply("hello there")});
  HttpResponse response = Chat(llm, Wire::kOpenAi, ChatBody(Wire::kOpenAi, true));
  std::vector<WireEvent> events = Events(Wire::kOpenAi, response.body);
  ASSERT_GE(events.size(), 2U);
  json::value last = Parse(events[events.size() - 2].data);
  EXPECT_EQ(Str(last, "/choices/0/finish_reason"), "stop");
  EXPECT_FALSE(last.get_object().contains("usage"));
}

TEST(FakeLlmTest, OpenAiChecksToolMessagesAnswerCalls) {
  FakeLlm llm(Wire::kOpenAi);
  llm.Script({TextReply("ok")});
  json::object body = ChatBody(Wire::kOpenAi, false);
  json::array& messages = body["messages"].get_array();
  messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "x"}});
  HttpResponse orphan = Chat(llm, Wire::kOpenAi, body);
  EXPECT_EQ(orphan.status, 400);
  EXPECT_NE(ErrorMessage(Wire::kOpenAi, orphan.body).find("role 'tool'"), std::string::npos);
  EXPECT_EQ(llm.pending_replies(), 1U);
  messages.emplace(messages.end() - 1,
                   Parse(R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1",
                            "type":"function","function":{"name":"run","arguments":"{}"}}]})"));
  EXPECT_EQ(Chat(llm, Wire::kOpenAi, body).status, 200);
}

TEST(FakeLlmTest, OpenAiListsModelsRequestedSoFar) {
  FakeLlm llm(Wire::kOpenAi);
  llm.Script({TextReply("ok")});
  Chat(llm, Wire::kOpenAi, ChatBody(Wire::kOpenAi, false));
  RawClient client(llm.port());
  client.Send("GET", "/v1/models", "");
  json::value list = Parse(client.Read().body);
  EXPECT_EQ(Str(list, "/object"), "list");
  std::vector<std::string> ids;
  json::value data = At(list, "/data");
  for (const json::value& model : data.get_array()) {
    ids.push_back(Str(model, "/id"));
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"fake-model", "test-model"}));
  EXPECT_EQ(llm.BaseUrl(), fmt::format("http://127.0.0.1:{}/v1", llm.port()));
}

TEST(FakeLlmTest, OllamaStreamsNdjsonWhenStreamIsAbsent) {
  FakeLlm llm(Wire::kOllama);
  FakeReply reply = ToolCallReply("run", std::string(kArguments));
  reply.text = "I will list the files now.";
  reply.output_tokens = 17;
  llm.Script({reply});
  HttpResponse response = Chat(llm, Wire::kOllama, ChatBody(Wire::kOllama, std::nullopt));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"], "application/x-ndjson");
  std::vector<WireEvent> lines = Events(Wire::kOllama, response.body);
  ASSERT_GE(lines.size(), 3U);
  std::string text;
  json::value calls;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    json::value line = Parse(lines[i].data);
    EXPECT_EQ(At(line, "/done"), false);
    EXPECT_EQ(Str(line, "/model"), "test-model");
    EXPECT_TRUE(Str(line, "/created_at").ends_with("Z"));
    EXPECT_EQ(Str(line, "/message/role"), "assistant");
    text += Str(line, "/message/content");
    if (At(line, "/message/tool_calls").is_array()) {
      calls = At(line, "/message/tool_calls");
    }
  }
  EXPECT_EQ(text, reply.text);
  EXPECT_EQ(Str(calls, "/0/function/name"), "run");
  EXPECT_EQ(At(calls, "/0/function/arguments"), Parse(kArguments));
  json::value last = Parse(lines.back().data);
  EXPECT_EQ(At(last, "/done"), true);
  EXPECT_EQ(Str(last, "/done_reason"), "stop");
  EXPECT_GT(Num(last, "/prompt_eval_count"), 0U);
  EXPECT_EQ(Num(last, "/eval_count"), 17U);
}

TEST(FakeLlmTest, OllamaAnswersOneObjectWhenStreamIsFalse) {
  FakeLlm llm(Wire::kOllama);
  FakeReply reply = TextReply("Done.");
  reply.reasoning = "Nothing to do.";
  llm.Script({reply});
  HttpResponse response = Chat(llm, Wire::kOllama, ChatBody(Wire::kOllama, false));
  ASSERT_EQ(response.status, 200);
  json::value body = Parse(response.body);
  EXPECT_EQ(Str(body, "/message/content"), "Done.");
  EXPECT_EQ(Str(body, "/message/thinking"), "Nothing to do.");
  EXPECT_EQ(At(body, "/done"), true);
  EXPECT_EQ(Str(body, "/done_reason"), "stop");
  EXPECT_GT(Num(body, "/eval_count"), 0U);
}

TEST(FakeLlmTest, OllamaShowsContextLengthCapabilitiesTagsAndVersion) {
  FakeLlm llm(Wire::kOllama);
  llm.SetContextLength(32768);
  RawClient client(llm.port());
  client.Send("POST", "/api/show", R"({"model":"qwen3:8b"})");
  json::value show = Parse(client.Read().body);
  EXPECT_EQ(Str(show, "/model_info/general.architecture"), "llama");
  EXPECT_EQ(Num(show, "/model_info/llama.context_length"), 32768U);
  EXPECT_EQ(At(show, "/capabilities"), Parse(R"(["completion","tools"])"));
  client.Send("GET", "/api/tags", "");
  EXPECT_EQ(Str(Parse(client.Read().body), "/models/0/name"), "fake-model:latest");
  client.Send("GET", "/api/version", "");
  EXPECT_TRUE(At(Parse(client.Read().body), "/version").is_string());
  client.Send("POST", "/api/show", "{}");
  EXPECT_EQ(client.Read().status, 400);
}

TEST(FakeLlmTest, OllamaPromptTruncationReportsTheWholeContextAsPromptEvalCount) {
  FakeLlm llm(Wire::kOllama);
  FakeReply truncated = TextReply("I only saw the end.");
  truncated.prompt_truncated = true;
  llm.Script({truncated, truncated, TextReply("fine")});
  json::object body = ChatBody(Wire::kOllama, false);
  body["options"] = json::object{{"num_ctx", 2048}};
  HttpResponse with_num_ctx = Chat(llm, Wire::kOllama, body);
  EXPECT_EQ(Num(Parse(with_num_ctx.body), "/prompt_eval_count"), 2048U);
  EXPECT_EQ(with_num_ctx.headers["x-fake-llm-prompt-truncated"], "true");
  HttpResponse without = Chat(llm, Wire::kOllama, ChatBody(Wire::kOllama, false));
  EXPECT_EQ(Num(Parse(without.body), "/prompt_eval_count"), 8192U);
  HttpResponse untouched = Chat(llm, Wire::kOllama, body);
  EXPECT_LT(Num(Parse(untouched.body), "/prompt_eval_count"), 2048U);
  EXPECT_FALSE(untouched.headers.contains("x-fake-llm-prompt-truncated"));
}

TEST(FakeLlmTest, AnthropicAnswersContentBlocks) {
  FakeLlm llm(Wire::kAnthropic);
  FakeReply reply = ToolCallReply("run", std::string(kArguments));
  reply.text = "Let me look.";
  reply.reasoning = "Listing is the first step.";
  llm.Script({reply});
  HttpResponse response = Chat(llm, Wire::kAnthropic, ChatBody(Wire::kAnthropic, std::nullopt));
  ASSERT_EQ(response.status, 200);
  json::value body = Parse(response.body);
  EXPECT_EQ(Str(body, "/type"), "message");
  EXPECT_EQ(Str(body, "/content/0/type"), "thinking");
  EXPECT_TRUE(At(body, "/content/0/signature").is_string());
  EXPECT_EQ(Str(body, "/content/1/text"), "Let me look.");
  EXPECT_EQ(Str(body, "/content/2/type"), "tool_use");
  EXPECT_TRUE(Str(body, "/content/2/id").starts_with("toolu_"));
  EXPECT_EQ(At(body, "/content/2/input"), Parse(kArguments));
  EXPECT_EQ(Str(body, "/stop_reason"), "tool_use");
  EXPECT_GT(Num(body, "/usage/input_tokens"), 0U);
  EXPECT_GT(Num(body, "/usage/output_tokens"), 0U);
}

TEST(FakeLlmTest, AnthropicStreamsTheEventSequence) {
  FakeLlm llm(Wire::kAnthropic);
  FakeReply reply = ToolCallReply("run", std::string(kArguments));
  reply.text = "Let me look at the workspace first.";
  reply.reasoning = "Think.";
  reply.output_tokens = 42;
  llm.Script({reply});
  HttpResponse response = Chat(llm, Wire::kAnthropic, ChatBody(Wire::kAnthropic, true));
  ASSERT_EQ(response.status, 200);
  EXPECT_TRUE(response.headers["content-type"].starts_with("text/event-stream"));
  std::vector<std::string> names;
  std::string thinking, partial_json;
  for (const WireEvent& event : Events(Wire::kAnthropic, response.body)) {
    json::value data = Parse(event.data);
    EXPECT_EQ(event.name, Str(data, "/type"));
    if (names.empty() || names.back() != event.name) {
      names.push_back(event.name);
    }
    if (Str(data, "/delta/type") == "thinking_delta") {
      thinking += Str(data, "/delta/thinking");
    } else if (Str(data, "/delta/type") == "input_json_delta") {
      partial_json += Str(data, "/delta/partial_json");
    } else if (event.name == "content_block_start" && Num(data, "/index") == 2) {
      EXPECT_EQ(Str(data, "/content_block/type"), "tool_use");
      EXPECT_EQ(Str(data, "/content_block/name"), "run");
    } else if (event.name == "message_start") {
      EXPECT_GT(Num(data, "/message/usage/input_tokens"), 0U);
    } else if (event.name == "message_delta") {
      EXPECT_EQ(Str(data, "/delta/stop_reason"), "tool_use");
      EXPECT_EQ(Num(data, "/usage/output_tokens"), 42U);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "message_start", "content_block_start", "ping", "content_block_delta",
                       "content_block_stop",  // thinking
                       "content_block_start", "content_block_delta", "content_block_stop",  // text
                       "content_block_start", "content_block_delta", "content_block_stop",  // call
                       "message_delta", "message_stop"}));
  EXPECT_EQ(Assemble(Wire::kAnthropic, response.body).text, reply.text);
  EXPECT_EQ(thinking, "Think.");
  EXPECT_EQ(Parse(partial_json), Parse(kArguments));
}

TEST(FakeLlmTest, AnthropicChecksVersionHeaderMaxTokensAndToolResults) {
  FakeLlm llm(Wire::kAnthropic);
  llm.Script({TextReply("ok")});
  RawClient client(llm.port());
  client.Send("POST", "/v1/messages", json::serialize(ChatBody(Wire::kAnthropic, false)));
  HttpResponse no_version = client.Read();
  EXPECT_EQ(no_version.status, 400);
  EXPECT_EQ(ErrorMessage(Wire::kAnthropic, no_version.body),
            "anthropic-version: header is required");
  json::object body = ChatBody(Wire::kAnthropic, false);
  body.erase("max_tokens");
  EXPECT_EQ(Chat(llm, Wire::kAnthropic, body).status, 400);
  body = ChatBody(Wire::kAnthropic, false);
  body["messages"].get_array().push_back(Parse(R"({"role":"user","content":[
      {"type":"tool_result","tool_use_id":"toolu_x","content":"output"}]})"));
  HttpResponse orphan = Chat(llm, Wire::kAnthropic, body);
  EXPECT_EQ(orphan.status, 400);
  EXPECT_NE(ErrorMessage(Wire::kAnthropic, orphan.body).find("toolu_x"), std::string::npos);
  EXPECT_EQ(llm.pending_replies(), 1U);
}

TEST(FakeLlmTest, RequestsAreRecordedInOrder) {
  FakeLlm llm(Wire::kOpenAi);
  llm.Script({TextReply("ok")});
  RawClient client(llm.port());
  client.Send("GET", "/v1/models", "");
  client.Read();
  std::string body = json::serialize(ChatBody(Wire::kOpenAi, false));
  client.Send("POST", "/v1/chat/completions", body, {{"X-Trace-Id", "Abc"}});
  EXPECT_EQ(client.Read().status, 200);
  ASSERT_TRUE(llm.WaitForRequests(2, milliseconds(1000)));
  std::vector<RecordedRequest> requests = llm.Requests();
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, "/v1/models");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].headers["x-trace-id"], "Abc");
  EXPECT_EQ(requests[1].body, body);
  ASSERT_EQ(llm.ChatBodies().size(), 1U);
  EXPECT_EQ(llm.ChatBodies()[0], Parse(body));
}

TEST(FakeLlmTest, ConnectionServesRequestsInTurnAndHonoursExpectContinue) {
  FakeLlm llm(Wire::kOpenAi);
  llm.Script({TextReply("one"), TextReply("two")});
  RawClient client(llm.port());
  std::string body = json::serialize(ChatBody(Wire::kOpenAi, false));
  ASSERT_TRUE(client.Send("POST", "/v1/chat/completions", body));
  EXPECT_EQ(AnswerText(Wire::kOpenAi, client.Read().body), "one");
  // Headers first, the body only after "100 Continue", as libcurl sends a large body.
  ASSERT_TRUE(client.SendRaw(
      fmt::format("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n"
                  "Expect: 100-continue\r\n\r\n",
                  body.size())));
  EXPECT_EQ(client.Read().status, 100);
  ASSERT_TRUE(client.SendRaw(body));
  HttpResponse second = client.Read();
  EXPECT_EQ(AnswerText(Wire::kOpenAi, second.body), "two");
  EXPECT_EQ(second.headers["connection"], "keep-alive");
  EXPECT_EQ(llm.Requests().size(), 2U);
}

// The same behaviour on every wire.
class FakeLlmWireTest : public ::testing::TestWithParam<Wire> {};

INSTANTIATE_TEST_SUITE_P(AllWires, FakeLlmWireTest,
                         ::testing::Values(Wire::kOpenAi, Wire::kOllama, Wire::kAnthropic),
                         [](const ::testing::TestParamInfo<Wire>& wire_info) {
                           return wire_info.param == Wire::kOpenAi   ? "OpenAi"
                                  : wire_info.param == Wire::kOllama ? "Ollama"
                                                                     : "Anthropic";
                         });

TEST_P(FakeLlmWireTest, ScriptedErrorHasTheWireShapeAndHeaders) {
  FakeLlm llm(GetParam());
  llm.Script({ErrorReply(429, 1)});
  HttpResponse response = Chat(llm, GetParam(), ChatBody(GetParam(), true));
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.headers["retry-after"], "1");
  EXPECT_FALSE(ErrorMessage(GetParam(), response.body).empty());
}

TEST_P(FakeLlmWireTest, ExhaustedScriptAnswers500) {
  FakeLlm llm(GetParam());
  HttpResponse response = Chat(llm, GetParam(), ChatBody(GetParam(), false));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(ErrorMessage(GetParam(), response.body), "fake LLM: script exhausted");
}

TEST_P(FakeLlmWireTest, UnknownPathAnswers404AndBadJson400) {
  FakeLlm llm(GetParam());
  llm.Script({TextReply("kept")});
  RawClient client(llm.port());
  client.Send("POST", "/v2/nothing", "{}");
  HttpResponse unknown = client.Read();
  EXPECT_EQ(unknown.status, 404);
  EXPECT_FALSE(ErrorMessage(GetParam(), unknown.body).empty());
  client.Send("POST", ChatPath(GetParam()), "{\"model\": ", ChatHeaders(GetParam()));
  HttpResponse bad = client.Read();
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(ErrorMessage(GetParam(), bad.body).empty());
  EXPECT_EQ(llm.pending_replies(), 1U);
}

TEST_P(FakeLlmWireTest, ApiKeyIsRequiredOnceSet) {
  FakeLlm llm(GetParam());
  llm.RequireApiKey("sk-test");
  llm.Script({TextReply("welcome")});
  bool anthropic = GetParam() == Wire::kAnthropic;
  std::string name = anthropic ? "x-api-key" : "Authorization";
  Headers wrong = {{name, anthropic ? "sk-no" : "Bearer no"}};
  Headers right = {{name, anthropic ? "sk-test" : "Bearer sk-test"}};
  HttpResponse missing = Chat(llm, GetParam(), ChatBody(GetParam(), false));
  EXPECT_EQ(missing.status, 401);
  EXPECT_FALSE(ErrorMessage(GetParam(), missing.body).empty());
  EXPECT_EQ(Chat(llm, GetParam(), ChatBody(GetParam(), false), wrong).status, 401);
  HttpResponse ok = Chat(llm, GetParam(), ChatBody(GetParam(), false), right);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(AnswerText(GetParam(), ok.body), "welcome");
}

TEST_P(FakeLlmWireTest, StallSendsNothingAndShutdownEndsIt) {
  auto llm = std::make_unique<FakeLlm>(GetParam());
  llm->Script({FakeReply{.text = "late", .stall = std::chrono::minutes(10)}});
  RawClient client(llm->port());
  SendChat(client, GetParam(), false);
  HttpResponse silent = client.Read(milliseconds(300));
  EXPECT_TRUE(silent.timed_out);
  EXPECT_EQ(silent.status, 0);
  Clock::time_point start = Clock::now();
  llm.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  HttpResponse closed = client.Read(milliseconds(1000));
  EXPECT_EQ(closed.status, 0);
  EXPECT_FALSE(closed.timed_out);
}

TEST_P(FakeLlmWireTest, StallMidStreamSendsTheFirstEventThenHolds) {
  auto llm = std::make_unique<FakeLlm>(GetParam());
  llm->Script({FakeReply{.text = "never finished", .stall_mid_stream = true}});
  RawClient client(llm->port());
  SendChat(client, GetParam(), true);
  HttpResponse partial = client.Read(milliseconds(300));
  EXPECT_EQ(partial.status, 200);
  EXPECT_TRUE(partial.timed_out);
  EXPECT_FALSE(partial.complete);
  EXPECT_EQ(Assemble(GetParam(), partial.body).events, 1U);
  Clock::time_point start = Clock::now();
  llm.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST_P(FakeLlmWireTest, DropConnectionCutsTheResponse) {
  FakeLlm llm(GetParam());
  FakeReply reply{.text = "this answer is cut off before its end", .drop_connection = true};
  llm.Script({reply, reply});
  HttpResponse stream = Chat(llm, GetParam(), ChatBody(GetParam(), true));
  EXPECT_EQ(stream.status, 200);
  EXPECT_FALSE(stream.complete);
  EXPECT_FALSE(stream.timed_out);
  HttpResponse whole = Chat(llm, GetParam(), ChatBody(GetParam(), false));
  EXPECT_EQ(whole.status, 200);
  EXPECT_FALSE(whole.complete);
  EXPECT_LT(whole.body.size(), std::stoul(whole.headers["content-length"]));
}

TEST_P(FakeLlmWireTest, TruncateStreamEndsCleanlyWithoutTheEnding) {
  FakeLlm llm(GetParam());
  FakeReply reply = TextReply("all the text arrives, the ending does not");
  reply.truncate_stream = true;
  llm.Script({reply, TextReply("control")});
  HttpResponse truncated = Chat(llm, GetParam(), ChatBody(GetParam(), true));
  EXPECT_TRUE(truncated.complete);
  Assembled assembled = Assemble(GetParam(), truncated.body);
  EXPECT_EQ(assembled.text, reply.text);
  EXPECT_FALSE(assembled.ended);
  EXPECT_EQ(assembled.not_json, 0);
  EXPECT_TRUE(Assemble(GetParam(), Chat(llm, GetParam(), ChatBody(GetParam(), true)).body).ended);
}

TEST_P(FakeLlmWireTest, InvalidJsonBreaksOneEventOrTheBody) {
  FakeLlm llm(GetParam());
  FakeReply reply = TextReply("some text in several pieces");
  reply.invalid_json = true;
  llm.Script({reply, reply});
  HttpResponse stream = Chat(llm, GetParam(), ChatBody(GetParam(), true));
  EXPECT_TRUE(stream.complete);
  Assembled assembled = Assemble(GetParam(), stream.body);
  EXPECT_EQ(assembled.not_json, 1);
  EXPECT_TRUE(assembled.ended);
  HttpResponse whole = Chat(llm, GetParam(), ChatBody(GetParam(), false));
  EXPECT_TRUE(whole.complete);
  boost::system::error_code ec;
  json::parse(whole.body, ec);
  EXPECT_TRUE(ec);
}

TEST_P(FakeLlmWireTest, ChunkDelaySpacesStreamEvents) {
  FakeLlm llm(GetParam());
  llm.SetChunkDelay(milliseconds(30));
  llm.Script({TextReply("paced text")});
  Clock::time_point start = Clock::now();
  HttpResponse response = Chat(llm, GetParam(), ChatBody(GetParam(), true));
  Assembled assembled = Assemble(GetParam(), response.body);
  EXPECT_EQ(assembled.text, "paced text");
  EXPECT_GE(Clock::now() - start, milliseconds(30) * (assembled.events - 1));
}

}  // namespace
}  // namespace warden::testing
