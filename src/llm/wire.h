// Inside llm/: what each wire protocol supplies to the shared client (client.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "llm/client.h"
#include "llm/http.h"
#include "llm/stream.h"

namespace warden::llm {

// Turns one attempt's response body, piece by piece, into a ChatResponse.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual Status Feed(std::string_view bytes) = 0;
  // The body is complete. kUnavailable when a stream ended before its end marker.
  virtual Result<ChatResponse> Finish() = 0;
};

// A response that is either streamed as Server-Sent Events (each handed to Event()) or whole
// (kept in body_ for Finish()): OpenAI's and Anthropic's decoders.
class SseOrWholeDecoder : public Decoder {
 public:
  SseOrWholeDecoder(bool stream, DeltaSink sink)
      : stream_(stream),
        sink_(std::move(sink)),
        sse_([this](const SseEvent& e) { return Event(e); }) {}

  Status Feed(std::string_view bytes) final {
    if (!stream_) {
      body_.append(bytes);
      return OkStatus();
    }
    return sse_.Feed(bytes);
  }

 protected:
  virtual Status Event(const SseEvent& event) = 0;

  bool stream_;
  DeltaSink sink_;
  std::string body_;

 private:
  SseParser sse_;
};

class WireProtocol {
 public:
  virtual ~WireProtocol() = default;
  // Runs once before the first chat request (Ollama asks the model's context and capabilities).
  virtual Status Prepare(const ProviderConfig& /*config*/, const std::atomic<bool>* /*cancel*/) {
    return OkStatus();
  }
  virtual HttpRequest BuildRequest(const ProviderConfig& config, const ChatRequest& request,
                                   bool native_tools) const = 0;
  virtual std::unique_ptr<Decoder> NewDecoder(const ProviderConfig& config,
                                              const DeltaSink& sink) const = 0;
  // The human message inside an error body of this protocol, or the body itself.
  virtual std::string ErrorMessage(std::string_view body) const = 0;
  virtual bool native_tools() const { return true; }
  virtual uint64_t context_tokens() const { return 0; }
};

std::unique_ptr<WireProtocol> NewOpenAiWire();
std::unique_ptr<WireProtocol> NewOllamaWire();
std::unique_ptr<WireProtocol> NewAnthropicWire();

// Shared by the protocols.
// Messages for a model without native tools: tool results become user messages, and the calls
// an assistant made stay in its text, where the model wrote them.
std::vector<Message> WithoutNativeTools(const std::vector<Message>& messages);
// Tools in the {"type": "function", "function": {name, description, parameters}} shape of OpenAI
// and Ollama; for Gemini without the JSON Schema keywords its endpoint rejects.
json::array FunctionTools(const std::vector<ToolSpec>& tools, bool gemini_schema);
// Parses JSON, or returns kDataLoss naming what was being parsed.
Result<json::value> ParseJson(std::string_view text, std::string_view what);
// A string member of an object, or "".
std::string StringAt(const json::object& object, std::string_view key);
// A count a server reported (tokens, a context length): a whole number from 0 up, else 0, which
// callers read as unknown. Never throws, unlike json::value::to_number() on -1, 1.5 or 1e30.
uint64_t CountOf(const json::value* value);
// Collapses a body into one line of at most `limit` characters, for an error message.
std::string Excerpt(std::string_view body, size_t limit = 300);

}  // namespace warden::llm
