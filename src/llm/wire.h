// Inside llm/: what each wire protocol supplies to the shared client (client.cc).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "llm/client.h"
#include "llm/http.h"

namespace warden::llm {

// Turns one attempt's response body, piece by piece, into a ChatResponse.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual Status Feed(std::string_view bytes) = 0;
  // The body is complete. kUnavailable when a stream ended before its end marker.
  virtual Result<ChatResponse> Finish() = 0;
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
// Parses JSON, or returns kDataLoss naming what was being parsed.
Result<json::value> ParseJson(std::string_view text, std::string_view what);
// A string member of an object, or "".
std::string StringAt(const json::object& object, std::string_view key);
// Collapses a body into one line of at most `limit` characters, for an error message.
std::string Excerpt(std::string_view body, size_t limit = 300);

}  // namespace warden::llm
