// The "output" events of a run: what a program wrote, chunk by chunk, as JSON that stays valid
// whatever the bytes, and those bytes exactly back from it.
//
// An output event's data is {"step", "stream": "stdout" | "stderr", "text"}: `text` is the chunk
// as UTF-8. When the program wrote bytes that are not UTF-8, `text` shows each ill-formed sequence
// as U+FFFD and "base64" holds the exact bytes of the chunk (RFC 4648, padded). A character that
// the boundary between two chunks cut in two is kept back and sent whole with the next chunk of
// its stream, so valid UTF-8 output never needs base64.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "sandbox/sandbox.h"

namespace warden::agent {

// The data of one output event for `bytes`.
json::object OutputEventData(int64_t step, sandbox::Stream stream, std::string_view bytes);

// Makes an output event's data safe to serialize: a "text" that holds bytes that are not UTF-8
// becomes their U+FFFD rendering, with the bytes themselves in "base64". Data already encoded
// (or valid) is left as it is. For data written before output was encoded.
void EncodeOutputText(json::object& data);

// The bytes an output event's data stands for: "base64" decoded when present, else "text".
std::string OutputBytes(const json::object& data);

// Turns the chunks of one run's output into the data of its output events, keeping back a
// character cut in two until the next chunk of the same stream completes it. Not thread-safe:
// the sandbox calls its output callback on one thread.
class OutputEncoder {
 public:
  explicit OutputEncoder(int64_t step) : step_(step) {}

  // The event for `bytes`, preceded by what this stream kept back; std::nullopt when all of it is
  // kept back (the beginning of a character, and nothing else).
  std::optional<json::object> Add(sandbox::Stream stream, std::string_view bytes);

  // Events for what is still kept back (characters the program never finished), at most one per
  // stream. Call once the run has ended.
  std::vector<json::object> Finish();

 private:
  int64_t step_;
  std::string held_[2];  // by stream: the unfinished character at the end of its last chunk
};

}  // namespace warden::agent
