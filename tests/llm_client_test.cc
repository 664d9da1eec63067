// The LLM clients (llm::MakeClient) against FakeLlm over real HTTP on loopback: for each wire
// protocol, streamed and not, what comes back (text, reasoning, tool calls, usage) and what goes
// out (model, messages, tools, headers), plus Ollama's context window and capabilities.
// Faults and retries are in llm_client_faults_test.cc.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "base/json.h"
#include "fake_llm.h"
#include "llm/client.h"
#include "llm_wire_cases.h"

namespace warden::llm {
namespace {

namespace fake = warden::testing;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kApiKey = "sk-test-SECRET";

constexpr WireCase kOpenAiCases[] = {kAllCases[0], kAllCases[1]};
constexpr WireCase kOllamaCases[] = {kAllCases[2], kAllCases[3]};
constexpr WireCase kAnthropicCases[] = {kAllCases[4], kAllCases[5]};

json::value Json(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return value;
}

// The value at a JSON pointer ("/options/num_ctx"), or null when there is none.
json::value At(const json::value& root, std::string_view pointer) {
  boost::system::error_code ec;
  const json::value* found = root.find_pointer(pointer, ec);
  return found != nullptr ? *found : json::value();
}

bool Has(const json::value& root, std::string_view pointer) {
  boost::system::error_code ec;
  return root.find_pointer(pointer, ec) != nullptr;
}

std::string Str(const json::value& root, std::string_view pointer) {
  json::value found = At(root, pointer);
  return found.is_string() ? std::string(found.get_string()) : "";
}

// The text of a message's content, whether a string or Anthropic text blocks.
std::string TextOf(const json::value& content) {
  if (content.is_string()) {
    return std::string(content.get_string());
  }
  std::string text;
  for (const json::value& block : content.is_array() ? content.get_array() : json::array()) {
    text += Str(block, "/text");
  }
  return text;
}

Message Said(Role role, std::string content) {
  Message message;
  message.role = role;
  message.content = std::move(content);
  return message;
}

Message Called(std::string content, std::vector<ToolCall> calls) {
  Message message = Said(Role::kAssistant, std::move(content));
  message.tool_calls = std::move(calls);
  return message;
}

Message Answered(const ToolCall& call, std::string content) {
  Message message = Said(Role::kTool, std::move(content));
  message.tool_call_id = call.id;
  message.tool_name = call.name;
  return message;
}

std::string Header(const fake::RecordedRequest& request, const std::string& name) {
  auto found = request.headers.find(name);
  return found == request.headers.end() ? "" : found->second;
}

ToolSpec ListFilesTool() {
  return {"list_files", "Lists the files in a directory.",
          Json(R"({"type":"object","properties":{"path":{"type":"string"}},"required":["path"]})")
              .get_object()};
}

ChatRequest Greeting() {
  ChatRequest request;
  request.messages = {Said(Role::kSystem, "You are terse."), Said(Role::kUser, "Say hello.")};
  return request;
}

// A turn after a tool call: the assistant called list_files, and its result came back.
ChatRequest ToolConversation() {
  ChatRequest request;
  ToolCall call{"call_1", "list_files", R"({"path":"."})"};
  request.messages = {Said(Role::kSystem, "You are terse."),
                      Said(Role::kUser, "What files are there?"), Called("", {call}),
                      Answered(call, "a.txt\nb.txt")};
  request.tools = {ListFilesTool()};
  return request;
}

std::string Joined(const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& piece : pieces) {
    out += piece;
  }
  return out;
}

// A client of the fake on this test's wire, with short timeouts and quick retries.
class ClientTest : public ::testing::TestWithParam<WireCase> {
 protected:
  ClientTest() : fake_(GetParam().fake_wire) {}

  Wire wire() const { return GetParam().wire; }
  bool stream() const { return GetParam().stream; }

  ProviderConfig Config() const {
    ProviderConfig config;
    config.provider = wire() == Wire::kOpenAi   ? "openai-compatible"
                      : wire() == Wire::kOllama ? "ollama"
                                                : "anthropic";
    config.wire = wire();
    config.model = "fake-model";
    config.base_url = fake_.BaseUrl();
    if (wire() != Wire::kOllama) {
      config.api_key = kApiKey;
      config.api_key_source = "TEST_API_KEY";
    }
    config.stream = stream();
    config.connect_timeout = milliseconds(2'000);
    config.idle_timeout = milliseconds(1'000);
    config.max_retries = 2;
    config.retry_base = milliseconds(20);
    config.retry_cap = milliseconds(5'000);
    return config;
  }

  // One Chat() whose observer records into text_ / reasoning_ / retries_.
  Result<ChatResponse> Chat(Client& client, const ChatRequest& request) {
    ChatObserver observer;
    observer.on_delta = [this](DeltaKind kind, std::string_view piece) {
      (kind == DeltaKind::kText ? text_ : reasoning_).emplace_back(piece);
    };
    observer.on_retry = [this](int, milliseconds, const std::string& why) {
      retries_.push_back(why);
    };
    return client.Chat(request, observer, nullptr);
  }

  // The bodies of the chat requests the fake received, parsed.
  std::vector<json::value> ChatBodies() const {
    std::string_view path = wire() == Wire::kOpenAi   ? "/v1/chat/completions"
                            : wire() == Wire::kOllama ? "/api/chat"
                                                      : "/v1/messages";
    std::vector<json::value> bodies;
    for (const fake::RecordedRequest& request : fake_.Requests()) {
      if (request.path == path) {
        bodies.push_back(Json(request.body));
      }
    }
    return bodies;
  }

  fake::RecordedRequest LastRequest() const {
    std::vector<fake::RecordedRequest> requests = fake_.Requests();
    return requests.empty() ? fake::RecordedRequest{} : requests.back();
  }

  fake::FakeLlm fake_;
  std::vector<std::string> text_;
  std::vector<std::string> reasoning_;
  std::vector<std::string> retries_;
};

// What comes back: every wire, streamed and not.

using ReplyTest = ClientTest;
INSTANTIATE_TEST_SUITE_P(Wires, ReplyTest, ::testing::ValuesIn(kAllCases), CaseName);

TEST_P(ReplyTest, TextArrivesWithFinishReasonAndUsage) {
  const std::string text = "Hello! This answer is long enough to travel in several pieces.";
  fake_.Script({fake::FakeReply{.text = text, .input_tokens = 42, .output_tokens = 7}});
  auto client = MakeClient(Config());

  Result<ChatResponse> response = Chat(*client, Greeting());

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->content, text);
  EXPECT_EQ(response->finish_reason, wire() == Wire::kAnthropic ? "end_turn" : "stop");
  EXPECT_EQ(response->usage.input_tokens, 42u);
  EXPECT_EQ(response->usage.output_tokens, 7u);
  EXPECT_TRUE(response->tool_calls.empty());
  EXPECT_FALSE(response->prompt_truncated);
  EXPECT_EQ(Joined(text_), text);  // in order, nothing lost or repeated
  if (stream()) {
    EXPECT_GE(text_.size(), 3u) << "a streamed answer is shown as it arrives, not at the end";
  }
  EXPECT_TRUE(retries_.empty());
}

TEST_P(ReplyTest, ReasoningIsKeptApartFromTheAnswer) {
  const std::string reasoning = "The user wants a greeting; one word will do.";
  fake_.Script({fake::FakeReply{.text = "Hello.", .reasoning = reasoning}});
  auto client = MakeClient(Config());

  Result<ChatResponse> response = Chat(*client, Greeting());

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->content, "Hello.");
  EXPECT_EQ(response->reasoning, reasoning);
  EXPECT_EQ(Joined(reasoning_), reasoning);
  EXPECT_EQ(Joined(text_), "Hello.");
}

TEST_P(ReplyTest, CutOffAnswerReportsTheWiresStopWord) {
  std::string word = wire() == Wire::kAnthropic ? "max_tokens" : "length";
  fake_.Script({fake::FakeReply{.text = "Once upon a", .stop_reason = word}});
  auto client = MakeClient(Config());

  Result<ChatResponse> response = Chat(*client, Greeting());

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->finish_reason, word);
  EXPECT_EQ(response->content, "Once upon a");
}

TEST_P(ReplyTest, NativeToolCallsAreReassembledFromFragments) {
  const std::string read_args =
      R"({"path": "src/llm/client.cc", "offset": 120, "limit": 40, "flags": ["a", "b"]})";
  const std::string run_args = R"({"command": "ls -la /workspace && echo \"done\""})";
  fake_.Script(
      {fake::FakeReply{.tool_calls = {{"read_file", read_args}, {"run_command", run_args}}}});
  auto client = MakeClient(Config());

  Result<ChatResponse> response = Chat(*client, Greeting());

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  ASSERT_EQ(response->tool_calls.size(), 2u);
  const ToolCall& read = response->tool_calls[0];
  const ToolCall& run = response->tool_calls[1];
  EXPECT_EQ(read.name, "read_file");
  EXPECT_EQ(Json(read.arguments), Json(read_args)) << read.arguments;
  EXPECT_EQ(run.name, "run_command");
  EXPECT_EQ(Json(run.arguments), Json(run_args)) << run.arguments;
  EXPECT_FALSE(read.id.empty());
  EXPECT_NE(read.id, run.id);
  if (wire() == Wire::kOllama) {  // Ollama sends no ids: the client makes them up
    for (const ToolCall& call : response->tool_calls) {
      EXPECT_EQ(call.id.size(), 9u) << call.id;
      EXPECT_TRUE(std::all_of(call.id.begin(), call.id.end(), [](unsigned char c) {
        return std::isalnum(c) != 0;
      })) << call.id;
    }
  }
  EXPECT_EQ(response->finish_reason, wire() == Wire::kOpenAi   ? "tool_calls"
                                     : wire() == Wire::kOllama ? "stop"
                                                               : "tool_use");
}

TEST_P(ReplyTest, ToolCallAndItsResultGoBackAcceptedByTheServer) {
  // The server checks that every tool result answers a call of the message before it: the ids
  // it handed out (or the client made up) must survive the round trip.
  fake_.Script({fake::ToolCallReply("list_files", R"({"path": "."})"),
                fake::TextReply("There are two files.")});
  auto client = MakeClient(Config());
  ChatRequest request = Greeting();
  request.tools = {ListFilesTool()};

  Result<ChatResponse> first = Chat(*client, request);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_EQ(first->tool_calls.size(), 1u);
  const ToolCall& call = first->tool_calls[0];
  request.messages.push_back(Called(first->content, first->tool_calls));
  request.messages.push_back(Answered(call, "a.txt\nb.txt"));
  Result<ChatResponse> second = Chat(*client, request);

  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->content, "There are two files.");
  EXPECT_EQ(ChatBodies().size(), 2u);
}

// What goes out, in each wire's own shape.

using OpenAiRequestTest = ClientTest;
INSTANTIATE_TEST_SUITE_P(Wires, OpenAiRequestTest, ::testing::ValuesIn(kOpenAiCases), CaseName);

TEST_P(OpenAiRequestTest, CarriesModelMessagesToolsStreamFlagAndKey) {
  fake_.Script({fake::TextReply("Hello.")});
  auto client = MakeClient(Config());
  ChatRequest request = Greeting();
  request.tools = {ListFilesTool()};

  ASSERT_TRUE(Chat(*client, request).ok());

  fake::RecordedRequest sent = LastRequest();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/v1/chat/completions");
  EXPECT_EQ(Header(sent, "authorization"), "Bearer sk-test-SECRET");
  json::value body = Json(sent.body);
  EXPECT_EQ(Str(body, "/model"), "fake-model");
  EXPECT_EQ(At(body, "/stream"), json::value(stream()));
  if (stream()) {  // else no usage arrives in a stream
    EXPECT_EQ(At(body, "/stream_options/include_usage"), json::value(true));
  }
  EXPECT_EQ(At(body, "/messages"), Json(R"([{"role":"system","content":"You are terse."},
                                            {"role":"user","content":"Say hello."}])"));
  EXPECT_EQ(At(body, "/tools"), Json(R"([{"type":"function","function":{"name":"list_files",
                "description":"Lists the files in a directory.",
                "parameters":{"type":"object","properties":{"path":{"type":"string"}},
                              "required":["path"]}}}])"));
}

TEST_P(OpenAiRequestTest, ToolResultIsAToolMessageAnsweringTheCallId) {
  fake_.Script({fake::TextReply("Two files.")});
  auto client = MakeClient(Config());

  Result<ChatResponse> response = Chat(*client, ToolConversation());

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  json::value body = Json(LastRequest().body);
  ASSERT_EQ(At(body, "/messages").as_array().size(), 4u) << body;
  EXPECT_EQ(Str(body, "/messages/2/role"), "assistant");
  EXPECT_EQ(Str(body, "/messages/2/tool_calls/0/id"), "call_1");
  EXPECT_EQ(Str(body, "/messages/2/tool_calls/0/type"), "function");
  EXPECT_EQ(Str(body, "/messages/2/tool_calls/0/function/name"), "list_files");
  EXPECT_EQ(Json(Str(body, "/messages/2/tool_calls/0/function/arguments")),
            Json(R"({"path":"."})"));
  EXPECT_EQ(Str(body, "/messages/3/role"), "tool");
  EXPECT_EQ(Str(body, "/messages/3/tool_call_id"), "call_1");
  EXPECT_EQ(Str(body, "/messages/3/content"), "a.txt\nb.txt");
}

using AnthropicRequestTest = ClientTest;
INSTANTIATE_TEST_SUITE_P(Wires, AnthropicRequestTest, ::testing::ValuesIn(kAnthropicCases),
                         CaseName);

TEST_P(AnthropicRequestTest, CarriesSystemApartToolsVersionAndKey) {
  fake_.Script({fake::TextReply("Hello.")});
  auto client = MakeClient(Config());
  ChatRequest request = Greeting();
  request.tools = {ListFilesTool()};

  ASSERT_TRUE(Chat(*client, request).ok());

  fake::RecordedRequest sent = LastRequest();
  EXPECT_EQ(sent.path, "/v1/messages");
  EXPECT_EQ(Header(sent, "x-api-key"), "sk-test-SECRET");
  EXPECT_EQ(Header(sent, "anthropic-version"), "2023-06-01");
  EXPECT_FALSE(sent.headers.contains("authorization"));
  json::value body = Json(sent.body);
  EXPECT_EQ(Str(body, "/model"), "fake-model");
  EXPECT_EQ(At(body, "/stream"), json::value(stream()));
  EXPECT_EQ(At(body, "/max_tokens"), json::value(request.max_output_tokens));
  EXPECT_EQ(Str(body, "/system"), "You are terse.");
  ASSERT_EQ(At(body, "/messages").as_array().size(), 1u) << body;
  EXPECT_EQ(Str(body, "/messages/0/role"), "user");
  EXPECT_EQ(TextOf(At(body, "/messages/0/content")), "Say hello.");
  EXPECT_EQ(At(body, "/tools"), Json(R"([{"name":"list_files",
      "description":"Lists the files in a directory.",
      "input_schema":{"type":"object","properties":{"path":{"type":"string"}},
                      "required":["path"]}}])"));
}

TEST_P(AnthropicRequestTest, ToolResultIsABlockInTheNextUserMessage) {
  fake_.Script({fake::TextReply("Two files.")});
  auto client = MakeClient(Config());

  Result<ChatResponse> response = Chat(*client, ToolConversation());

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  json::value body = Json(LastRequest().body);
  EXPECT_EQ(Str(body, "/system"), "You are terse.");
  ASSERT_EQ(At(body, "/messages").as_array().size(), 3u) << body;
  EXPECT_EQ(Str(body, "/messages/1/role"), "assistant");
  json::array calls;
  json::value content = At(body, "/messages/1/content");
  for (const json::value& block : content.as_array()) {
    if (Str(block, "/type") == "tool_use") {
      calls.push_back(block);
    }
  }
  ASSERT_EQ(calls.size(), 1u) << body;
  EXPECT_EQ(Str(calls[0], "/id"), "call_1");
  EXPECT_EQ(Str(calls[0], "/name"), "list_files");
  EXPECT_EQ(At(calls[0], "/input"), Json(R"({"path":"."})"));
  EXPECT_EQ(Str(body, "/messages/2/role"), "user");
  EXPECT_EQ(Str(body, "/messages/2/content/0/type"), "tool_result");
  EXPECT_EQ(Str(body, "/messages/2/content/0/tool_use_id"), "call_1");
  EXPECT_EQ(TextOf(At(body, "/messages/2/content/0/content")), "a.txt\nb.txt");
}

// Ollama: its request shape, the context window and the model's capabilities.

using OllamaTest = ClientTest;
INSTANTIATE_TEST_SUITE_P(Wires, OllamaTest, ::testing::ValuesIn(kOllamaCases), CaseName);

TEST_P(OllamaTest, AsksTheModelFirstThenCarriesMessagesToolsAndContext) {
  fake_.Script({fake::TextReply("Hello.")});
  auto client = MakeClient(Config());
  ChatRequest request = Greeting();
  request.tools = {ListFilesTool()};

  ASSERT_TRUE(Chat(*client, request).ok());

  std::vector<fake::RecordedRequest> sent = fake_.Requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].path, "/api/show");
  EXPECT_EQ(Str(Json(sent[0].body), "/model"), "fake-model");
  EXPECT_EQ(sent[1].path, "/api/chat");
  json::value body = Json(sent[1].body);
  EXPECT_EQ(Str(body, "/model"), "fake-model");
  EXPECT_EQ(At(body, "/stream"), json::value(stream()));
  EXPECT_EQ(At(body, "/options/num_ctx"), json::value(8192));  // the fake model's own window
  EXPECT_EQ(At(body, "/messages"), Json(R"([{"role":"system","content":"You are terse."},
                                            {"role":"user","content":"Say hello."}])"));
  EXPECT_EQ(Str(body, "/tools/0/type"), "function");
  EXPECT_EQ(Str(body, "/tools/0/function/name"), "list_files");
  EXPECT_EQ(At(body, "/tools/0/function/parameters"), json::value(ListFilesTool().parameters));
}

TEST_P(OllamaTest, ToolResultIsAToolMessageNamingTheTool) {
  fake_.Script({fake::TextReply("Two files.")});
  auto client = MakeClient(Config());

  Result<ChatResponse> response = Chat(*client, ToolConversation());

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  json::value body = Json(LastRequest().body);
  ASSERT_EQ(At(body, "/messages").as_array().size(), 4u) << body;
  EXPECT_EQ(Str(body, "/messages/2/tool_calls/0/function/name"), "list_files");
  EXPECT_EQ(At(body, "/messages/2/tool_calls/0/function/arguments"), Json(R"({"path":"."})"));
  EXPECT_EQ(Str(body, "/messages/3/role"), "tool");
  EXPECT_EQ(Str(body, "/messages/3/tool_name"), "list_files");
  EXPECT_EQ(Str(body, "/messages/3/content"), "a.txt\nb.txt");
}

TEST_P(OllamaTest, ContextIsTheModelsWindowCappedByTheConfiguredOne) {
  struct Case {
    uint64_t model_context;
    uint64_t configured;  // 0: none, the built-in ceiling applies
    uint64_t expected;
  };
  for (Case c : {Case{131'072, 16'384, 16'384}, Case{4'096, 16'384, 4'096},
                 Case{131'072, 0, 32'768}, Case{8'192, 0, 8'192}}) {
    SCOPED_TRACE(::testing::Message() << "model " << c.model_context << ", cap " << c.configured);
    fake_.SetContextLength(c.model_context);
    fake_.Script({fake::TextReply("Hello.")});
    ProviderConfig config = Config();
    config.context_tokens = c.configured;
    auto client = MakeClient(config);

    ASSERT_TRUE(Chat(*client, Greeting()).ok());

    EXPECT_EQ(At(Json(LastRequest().body), "/options/num_ctx"), json::value(c.expected));
    EXPECT_EQ(client->context_tokens(), c.expected);
  }
}

TEST_P(OllamaTest, FullContextMeansThePromptWasTruncated) {
  fake_.SetContextLength(4'096);
  fake_.Script({fake::FakeReply{.text = "I only saw the end.", .prompt_truncated = true},
                fake::TextReply("I saw everything.")});
  auto client = MakeClient(Config());

  Result<ChatResponse> truncated = Chat(*client, Greeting());
  Result<ChatResponse> whole = Chat(*client, Greeting());

  ASSERT_TRUE(truncated.ok()) << truncated.error().ToString();
  EXPECT_TRUE(truncated->prompt_truncated);
  EXPECT_EQ(truncated->usage.input_tokens, 4'096u);
  ASSERT_TRUE(whole.ok()) << whole.error().ToString();
  EXPECT_FALSE(whole->prompt_truncated);
}

TEST_P(OllamaTest, ModelWithoutToolsGetsToolResultsAsText) {
  fake_.SetCapabilities({"completion"});
  fake_.Script({fake::TextReply("Two files.")});
  auto client = MakeClient(Config());

  Result<ChatResponse> response = Chat(*client, ToolConversation());

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_FALSE(client->native_tools());
  json::value body = Json(LastRequest().body);
  EXPECT_FALSE(Has(body, "/tools")) << body;
  bool result_seen = false;
  json::value messages = At(body, "/messages");
  for (const json::value& message : messages.as_array()) {
    EXPECT_NE(Str(message, "/role"), "tool") << body;
    EXPECT_FALSE(Has(message, "/tool_calls")) << body;
    if (Str(message, "/role") == "user" &&
        Str(message, "/content").find("a.txt\nb.txt") != std::string::npos) {
      result_seen = true;
    }
  }
  EXPECT_TRUE(result_seen) << "the tool result must reach the model as a user message: " << body;
  // The call the assistant made stays visible as text, so the model sees what it asked for.
  EXPECT_NE(json::serialize(body).find("list_files"), std::string::npos) << body;
}

TEST_P(OllamaTest, ApiKeyIsSentAsABearerToken) {
  // Ollama behind an authenticating proxy (or ollama.com): a configured key must reach it.
  fake_.RequireApiKey(std::string(kApiKey));
  fake_.Script({fake::TextReply("Hello.")});
  ProviderConfig config = Config();
  config.api_key = kApiKey;
  config.api_key_source = "TEST_API_KEY";
  auto client = MakeClient(config);

  Result<ChatResponse> response = Chat(*client, Greeting());

  EXPECT_TRUE(response.ok()) << response.error().ToString();
  for (const fake::RecordedRequest& sent : fake_.Requests()) {
    EXPECT_EQ(Header(sent, "authorization"), "Bearer sk-test-SECRET") << sent.path;
  }
}

}  // namespace
}  // namespace warden::llm
