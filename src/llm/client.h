// One interface to any LLM: OpenAI-compatible chat completions, Ollama's native /api/chat, and
// Anthropic Messages. Streaming, native tool calls, retries with backoff that honour Retry-After,
// timeouts and token accounting live here; the agent sees only Chat().
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "llm/types.h"

namespace warden::llm {

enum class Wire { kOpenAi, kOllama, kAnthropic };

struct ProviderConfig {
  std::string provider;  // openai, openrouter, gemini, ollama, anthropic, openai-compatible
  Wire wire = Wire::kOpenAi;
  std::string model;
  std::string base_url;        // without a trailing slash
  std::string api_key;         // never logged, never part of an error or an event
  std::string api_key_source;  // where the key came from ("OPENAI_API_KEY"), for messages
  bool stream = true;
  // Ollama: the context window to ask for (num_ctx), capped by the model's own; 0: the model's,
  // up to 32768.
  uint64_t context_tokens = 0;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{120'000};  // no byte for this long: retry
  int max_retries = 4;
  std::chrono::milliseconds retry_base{1'000};  // first backoff; doubles, with jitter
  std::chrono::milliseconds retry_cap{30'000};  // no single wait is longer (Retry-After too)

  // "openai gpt-4.1-mini at https://api.openai.com/v1": for messages; never the key.
  std::string Describe() const;
};

// What happens while Chat() runs, for display: text as it streams, and retries. After on_retry,
// the next attempt streams its text from the start again: a display drops what it showed.
struct ChatObserver {
  DeltaSink on_delta;
  std::function<void(int attempt, std::chrono::milliseconds wait, const std::string& why)> on_retry;
};

class Client {
 public:
  virtual ~Client() = default;

  // One model turn. Retries transient failures (connection errors, timeouts, 429, 5xx, a stream
  // cut short) up to max_retries; fails at once, with a message that says what to fix, on 400,
  // 401, 403 and 404. Error codes: kUnauthenticated, kPermissionDenied, kNotFound,
  // kInvalidArgument, kResourceExhausted (rate limit, retries spent), kUnavailable,
  // kDeadlineExceeded, kCancelled.
  // kAborted: the server refused the tools parameter; the client now works without native tools
  // (native_tools() is false), and the caller should rebuild its prompt and ask again.
  virtual Result<ChatResponse> Chat(const ChatRequest& request, const ChatObserver& observer,
                                    const std::atomic<bool>* cancel) = 0;

  // Learns what the model can do before the first request (Ollama: context and tools), so that
  // native_tools() and context_tokens() are right from the start. Chat() does it when not done.
  virtual Status Prepare(const std::atomic<bool>* cancel) = 0;

  // False when the model cannot take tools natively (the agent then describes the tools in the
  // prompt and reads calls from the text). Decided on first use: an Ollama model without the
  // "tools" capability, or a server that rejected the tools parameter.
  virtual bool native_tools() const = 0;

  // The model's context window in tokens, when known (0 otherwise).
  virtual uint64_t context_tokens() const = 0;

  const ProviderConfig& config() const { return config_; }

 protected:
  explicit Client(ProviderConfig config) : config_(std::move(config)) {}
  ProviderConfig config_;
};

std::unique_ptr<Client> MakeClient(ProviderConfig config);

// A made-up call id: 9 alphanumerics (Mistral's templates refuse any other length).
std::string NewCallId();

}  // namespace warden::llm
