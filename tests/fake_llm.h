// FakeLlm: a scripted LLM service for tests. Real HTTP/1.1 on 127.0.0.1 (kernel-chosen port),
// speaking OpenAI chat completions, Ollama's native API or Anthropic Messages as the real services
// do, answering chat requests from a script and misbehaving on demand (stalls, drops, bad JSON).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/unique_fd.h"

namespace warden::testing {

enum class Wire { kOpenAi, kOllama, kAnthropic };

// A native tool call in a scripted reply.
struct FakeToolCall {
  std::string name{};
  // JSON text of the arguments object. OpenAI and Anthropic streams send it as given, split into
  // fragments (so malformed text reaches the client as is); where the wire carries an object
  // (Ollama, Anthropic non-streamed) unparsable text is sent as a JSON string instead.
  std::string arguments_json{};
};

// One scripted answer to one chat request. Every member has an initializer, so that designated
// initializers compile warning-free: FakeReply{.text = "hi", .stall = std::chrono::seconds(5)}.
//
// Faults, the same on every wire unless noted ("stream" = the request asked for streaming):
// - status != 200: answers `status` with `error_body` verbatim, or, when empty, a default error in
//   the wire's own shape; never streamed (the real services fail before the stream starts).
// - headers: added to the response, whatever its status (e.g. {"Retry-After", "1"}).
// - stall: waits this long before sending anything (not even the status line); combines with the
//   faults below, which start once it ends.
// - stall_mid_stream: sends the status line, headers and the first event (stream) or half the body
//   (non-stream, with the full Content-Length), then sends nothing more until the client closes
//   the connection or the server shuts down; then closes without finishing.
// - drop_connection: the same first part, then closes the socket at once: a stream lacks its
//   terminating zero-length chunk, a non-stream body is shorter than its Content-Length.
// - truncate_stream: ends cleanly at the HTTP level (terminating chunk / matching Content-Length)
//   but without the ending: OpenAI omits the finish_reason chunk, the usage chunk and [DONE];
//   Ollama omits the done:true line; Anthropic omits message_delta and message_stop. A non-stream
//   body is cut to its first half (with a Content-Length that matches the cut body).
// - invalid_json: a non-stream body, or the second event of a stream (the first when there is
//   only one), is replaced by text that is not JSON, in the wire's framing.
// - prompt_truncated (Ollama only; OpenAI and Anthropic reject an over-long prompt with a 400
//   instead, which a script states with `status`): prompt_eval_count is exactly the context the
//   request ran with (options.num_ctx, else SetContextLength()), which is what real Ollama shows
//   after silently dropping the start of a prompt. The response also carries the header
//   "x-fake-llm-prompt-truncated: true" for test diagnostics only: a client must not read it.
//   A client detects truncation as prompt_eval_count >= the num_ctx it sent (or, if it sent
//   none, the model's context length from /api/show): Ollama never evaluates more prompt tokens
//   than that, and reaches it only when it had to cut. Unflagged replies report
//   min(request bytes / 4, num_ctx), so they reach num_ctx only for a request body of at least
//   4 * num_ctx bytes, one that real Ollama would truncate too.
struct FakeReply {
  std::string text{};  // assistant text (may contain text-format tool calls)
  std::vector<FakeToolCall> tool_calls{};
  // Separate reasoning: OpenAI `reasoning_content`, Anthropic `thinking` block, Ollama
  // `message.thinking`.
  std::string reasoning{};
  // 0: derived from sizes (input: request body bytes / 4; output: reply bytes / 4; both at least
  // 1). On Ollama a derived input count never exceeds the context the request ran with.
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  // The wire's stop word; empty: OpenAI "stop"/"tool_calls", Anthropic "end_turn"/"tool_use",
  // Ollama "stop". Set e.g. "length" or "max_tokens" to script a cut-off answer.
  std::string stop_reason{};

  int status = 200;
  std::string error_body{};
  std::map<std::string, std::string> headers{};
  std::chrono::milliseconds stall{0};
  bool stall_mid_stream = false;
  bool drop_connection = false;
  bool truncate_stream = false;
  bool invalid_json = false;
  bool prompt_truncated = false;
};

FakeReply TextReply(std::string text);
FakeReply ToolCallReply(std::string name, std::string arguments_json);
// `status` with the wire's default error body (message "fake LLM: rate limit reached" for 429,
// "Overloaded" for 529, else "fake LLM: scripted error <status>"), and Retry-After if given.
FakeReply ErrorReply(int status, std::optional<int> retry_after_seconds = std::nullopt);

struct RecordedRequest {
  std::string method{};
  std::string path{};                            // as sent, query string included
  std::map<std::string, std::string> headers{};  // names lowercased; repeats joined with ", "
  std::string body{};
};

class FakeConnection;

// Owns a listening socket, its accept thread and one thread per connection. Thread-safe: every
// public method may be called from any thread while clients are connected. The destructor wakes
// every wait (stalls included), closes the sockets and joins all threads.
//
// Besides the scripted chat endpoint each wire serves what its clients probe:
//   OpenAI:    POST /v1/chat/completions, GET /v1/models
//   Ollama:    POST /api/chat, POST /api/show, GET /api/tags, GET /api/version, GET /
//   Anthropic: POST /v1/messages
// Chat requests are checked the way the real services check them (400 in the wire's shape, no
// scripted reply used): a model is required; Anthropic also requires max_tokens, messages, the
// anthropic-version header and no "system" role in messages; OpenAI and Anthropic require every
// tool result to answer a tool call of the assistant message just before it, and every tool call
// to be answered. Unknown paths answer 404, a body that is not JSON 400, a wrong method 405.
// Only chat requests that pass these checks take a scripted reply; the other endpoints answer
// from the settings below, and list "fake-model" plus every model a chat request named.
class FakeLlm {
 public:
  // Starts listening at once. Aborts the test program when loopback cannot be bound: no test
  // that needs this fake could run on such a host.
  explicit FakeLlm(Wire wire);
  ~FakeLlm();
  FakeLlm(const FakeLlm&) = delete;
  FakeLlm& operator=(const FakeLlm&) = delete;

  // Appends replies to the script. Chat requests take them in order; once the script is
  // exhausted they get 500 with the message "fake LLM: script exhausted".
  void Script(std::vector<FakeReply> replies);
  size_t pending_replies() const {
    std::lock_guard lock(mu_);
    return script_.size();
  }

  // What a client's --base-url should be: OpenAI "http://127.0.0.1:P/v1", the others
  // "http://127.0.0.1:P".
  std::string BaseUrl() const;
  uint16_t port() const { return port_; }

  // Every request received so far, in order of arrival (recorded before it is answered).
  std::vector<RecordedRequest> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Parsed bodies of the chat requests (all that parsed as JSON, valid or not), in order.
  std::vector<json::value> ChatBodies() const {
    std::lock_guard lock(mu_);
    return chat_bodies_;
  }
  // Waits until at least `count` requests arrived; false on timeout.
  bool WaitForRequests(size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return requests_cv_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
  }

  // Ollama /api/show: "llama.context_length" (default 8192) and "capabilities" (default
  // completion, tools); the context length is also the num_ctx of requests that send none.
  void SetContextLength(uint64_t tokens) {
    std::lock_guard lock(mu_);
    context_length_ = tokens;
  }
  void SetCapabilities(std::vector<std::string> capabilities) {
    std::lock_guard lock(mu_);
    capabilities_ = std::move(capabilities);
  }
  // Every endpoint answers 401 in the wire's shape unless the request carries the key: OpenAI and
  // Ollama "Authorization: Bearer <key>", Anthropic "x-api-key: <key>".
  void RequireApiKey(std::string key) {
    std::lock_guard lock(mu_);
    api_key_ = std::move(key);
  }
  // Pause between stream events (default none).
  void SetChunkDelay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mu_);
    chunk_delay_ = delay;
  }

 private:
  struct Worker {
    std::jthread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };

  void AcceptLoop();
  void Serve(UniqueFd fd);
  // Answers one request; false when the connection must be closed afterwards.
  bool Handle(FakeConnection& conn, const RecordedRequest& request, bool keep_alive);
  bool HandleChat(FakeConnection& conn, const RecordedRequest& request, bool keep_alive);
  bool HandleShow(FakeConnection& conn, const RecordedRequest& request, bool keep_alive);
  bool SendJson(FakeConnection& conn, int status, const std::string& body, bool keep_alive);
  bool SendError(FakeConnection& conn, int status, std::string_view message, bool keep_alive);
  json::value ModelList() const;  // OpenAI /v1/models or Ollama /api/tags

  const Wire wire_;
  UniqueFd listen_fd_;
  UniqueFd wake_fd_;  // eventfd, readable once the destructor starts: every wait polls it
  uint16_t port_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable requests_cv_;
  std::deque<FakeReply> script_;
  std::vector<RecordedRequest> requests_;
  std::vector<json::value> chat_bodies_;
  std::set<std::string> models_;  // every model named in a chat request
  uint64_t context_length_ = 8192;
  std::vector<std::string> capabilities_{"completion", "tools"};
  std::optional<std::string> api_key_;
  std::chrono::milliseconds chunk_delay_{0};
  uint64_t serial_ = 0;  // numbers response and tool call ids

  std::list<Worker> workers_;  // touched by the accept thread only, then by the destructor
  std::jthread accept_thread_;
};

}  // namespace warden::testing
