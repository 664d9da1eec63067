// Fuzz target: what an LLM server answers (a broken or hostile one), decoded by each wire protocol
// (llm/wire.h: OpenAI, Ollama, Anthropic; streamed and whole), the body arriving in pieces; then
// the reply goes back into the conversation as the agent sends it, and the next request is built.
// Properties: no crash, no exception (nothing above the client catches one: it would end the
// worker thread, and `warden serve` with it), no sanitizer report; the next request's body is JSON
// that a strict parser accepts and reads back the same.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "llm/text_test_tools.h"
#include "llm/wire.h"

namespace warden::llm {
namespace {

std::unique_ptr<WireProtocol> MakeWire(int index, ProviderConfig& config) {
  switch (index) {
    case 0:
      config.provider = "openai";
      config.wire = Wire::kOpenAi;
      return NewOpenAiWire();
    case 1:
      config.provider = "ollama";
      config.wire = Wire::kOllama;
      return NewOllamaWire();
    default:
      config.provider = "anthropic";
      config.wire = Wire::kAnthropic;
      return NewAnthropicWire();
  }
}

// The conversation after `reply`: the task, the reply, and a result for each of its calls.
ChatRequest NextRequest(const ChatResponse& reply) {
  ChatRequest next;
  next.tools = AgentToolsForTest();
  next.messages.push_back(Message{Role::kUser, "list the files", {}, "", ""});
  next.messages.push_back(Message{Role::kAssistant, reply.content, reply.tool_calls, "", ""});
  for (const ToolCall& call : reply.tool_calls) {
    next.messages.push_back(Message{Role::kTool, "exit 0", {}, call.id, call.name});
  }
  return next;
}

void CheckRequest(const WireProtocol& wire, const ProviderConfig& config, const ChatResponse& reply,
                  bool native_tools) {
  HttpRequest http = wire.BuildRequest(config, NextRequest(reply), native_tools);
  boost::system::error_code ec;
  json::value body = json::parse(http.body, ec);
  FUZZ_CHECK(!ec) << config.provider << ": the next request is not JSON: " << ec.message() << ": "
                  << http.body.substr(0, 2000);
  FUZZ_CHECK(json::parse(json::serialize(body)) == body) << config.provider;
}

}  // namespace
}  // namespace warden::llm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace warden::llm;  // NOLINT(google-build-using-namespace): a fuzz entry point
  FuzzedDataProvider provider(data, size);
  ProviderConfig config;
  std::unique_ptr<WireProtocol> wire = MakeWire(provider.ConsumeIntegralInRange(0, 2), config);
  config.model = "model";
  config.base_url = "http://127.0.0.1:9";
  config.stream = provider.ConsumeBool();
  size_t piece = provider.ConsumeIntegralInRange<size_t>(1, 512);
  std::string body = provider.ConsumeRemainingBytesAsString();

  std::unique_ptr<Decoder> decoder = wire->NewDecoder(config, [](DeltaKind, std::string_view) {});
  for (size_t at = 0; at < body.size(); at += piece) {
    if (!decoder->Feed(std::string_view(body).substr(at, piece)).ok()) {
      return 0;
    }
  }
  warden::Result<ChatResponse> reply = decoder->Finish();
  wire->ErrorMessage(body);
  if (!reply.ok()) {
    return 0;
  }
  CheckRequest(*wire, config, *reply, true);
  CheckRequest(*wire, config, *reply, false);
  return 0;
}
