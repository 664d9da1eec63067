// Framing of streamed responses: Server-Sent Events (OpenAI, Anthropic) and newline-delimited
// JSON (Ollama). Both are fed arbitrary pieces of the body as they arrive.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace warden::llm {

struct SseEvent {
  std::string event;  // the `event:` field; empty for the default "message"
  std::string data;   // the `data:` lines, joined with '\n'
};

class SseParser {
 public:
  using Handler = std::function<Status(const SseEvent&)>;
  explicit SseParser(Handler handler) : handler_(std::move(handler)) {}

  // Feeds bytes; calls the handler for every event completed by them (a blank line).
  Status Feed(std::string_view bytes);
  // True when bytes of an unfinished event are pending (the stream stopped mid-event).
  bool Pending() const { return !line_.empty() || has_data_ || !current_.event.empty(); }

 private:
  Status Line(std::string_view line);

  Handler handler_;
  std::string line_;
  SseEvent current_;
  bool has_data_ = false;
};

class LineSplitter {
 public:
  using Handler = std::function<Status(std::string_view)>;
  explicit LineSplitter(Handler handler) : handler_(std::move(handler)) {}

  // Feeds bytes; calls the handler for every complete, non-blank line.
  Status Feed(std::string_view bytes);
  // Hands over a last line that had no newline.
  Status Finish();

 private:
  Handler handler_;
  std::string line_;
};

}  // namespace warden::llm
