// The wire protocols facing a broken or hostile LLM server: what they decode never throws (nothing
// above the client catches an exception: it would end `warden serve`), and the request that carries
// the reply back is JSON. Inputs found by fuzz/fuzz_llm_response.cc.
#include "llm/wire.h"

#include <memory>
#include <string>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace warden::llm {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ProviderConfig Config(Wire wire) {
  ProviderConfig config;
  config.wire = wire;
  config.model = "m";
  config.base_url = "http://127.0.0.1:9";
  config.stream = false;
  return config;
}

std::unique_ptr<WireProtocol> MakeWire(Wire wire) {
  switch (wire) {
    case Wire::kOpenAi:
      return NewOpenAiWire();
    case Wire::kOllama:
      return NewOllamaWire();
    case Wire::kAnthropic:
      return NewAnthropicWire();
  }
  return nullptr;
}

// Decodes a whole (not streamed) response body.
Result<ChatResponse> Decode(Wire wire, std::string_view body) {
  std::unique_ptr<WireProtocol> protocol = MakeWire(wire);
  std::unique_ptr<Decoder> decoder = protocol->NewDecoder(Config(wire), nullptr);
  RETURN_IF_ERROR(decoder->Feed(body));
  return decoder->Finish();
}

TEST(WireTest, ANegativeTokenCountFromOllamaCountsAsUnknown) {
  Result<ChatResponse> reply = Decode(Wire::kOllama, R"({"model": "m", "message": {"role":
      "assistant", "content": "done"}, "done": true, "prompt_eval_count": -1, "eval_count": 5})");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->content, "done");
  EXPECT_EQ(reply->usage.input_tokens, 0u);
  EXPECT_EQ(reply->usage.output_tokens, 5u);
}

TEST(WireTest, AFractionalTokenCountFromOpenAiCountsAsUnknown) {
  Result<ChatResponse> reply = Decode(Wire::kOpenAi, R"({"choices": [{"index": 0, "message":
      {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
      "usage": {"prompt_tokens": 1.5, "completion_tokens": 1e999}})");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->content, "hi");
  EXPECT_EQ(reply->usage.total(), 0u);
}

TEST(WireTest, ATokenCountBeyondItsTypeFromAnthropicCountsAsUnknown) {
  Result<ChatResponse> reply = Decode(Wire::kAnthropic, R"({"type": "message", "content":
      [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
      "usage": {"input_tokens": -3, "output_tokens": 1e30}})");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->content, "hi");
  EXPECT_EQ(reply->usage.total(), 0u);
}

// Arguments holding a number beyond a double, sent back in the conversation: Ollama and Anthropic
// send arguments as objects, and Boost.JSON would write that number as `Infinity`.
TEST(WireTest, ArgumentsWithANumberBeyondADoubleStillMakeAJsonRequest) {
  ChatRequest request;
  request.messages.push_back(Message{Role::kUser, "list the files", {}, "", ""});
  request.messages.push_back(
      Message{Role::kAssistant,
              "",
              {ToolCall{"c1", "run_shell", R"({"command": "ls", "n": 1e999})"}},
              "",
              ""});
  request.messages.push_back(Message{Role::kTool, "exit 0", {}, "c1", "run_shell"});
  for (Wire wire : {Wire::kOpenAi, Wire::kOllama, Wire::kAnthropic}) {
    HttpRequest http = MakeWire(wire)->BuildRequest(Config(wire), request, true);
    boost::system::error_code ec;
    json::parse(http.body, ec);
    EXPECT_FALSE(ec) << http.body;
    EXPECT_THAT(http.body, Not(HasSubstr("Infinity")));
  }
}

}  // namespace
}  // namespace warden::llm
