// The transcript of a task: typed events, in order. `warden run` prints them (or their JSON
// lines); the job service stores them under the job and streams them to followers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/json.h"

namespace warden::agent {

enum class EventType {
  kPlan,         // data: steps (array of strings), text
  kThought,      // data: text (what the model said besides its calls)
  kAction,       // data: step, tool, arguments, call_id
  kOutput,       // data: step, stream (stdout|stderr), text: a chunk, as it is produced
  kObservation,  // data: step, tool, outcome, exit_code, ok, duration_ms, summary
  kApproval,     // data: step, tool, decision (approved|refused|denied), reason
  kUsage,        // data: input_tokens, output_tokens, total_tokens (running totals)
  kError,        // data: kind (format|llm|llm_retry|execution|policy|job), message
  kFinal,        // data: status, reason, summary, files [{path, size}], steps, usage
};

std::string_view EventTypeName(EventType type);
// The type named `name` ("plan", ...), or nullopt for any other word.
std::optional<EventType> ParseEventType(std::string_view name);

struct Event {
  uint64_t seq = 0;  // 1, 2, 3, ... within the task
  std::chrono::system_clock::time_point time;
  EventType type = EventType::kThought;
  json::object data;

  // {"seq": 1, "time": "2026-11-22T10:00:00.123Z", "type": "plan", ...data}
  json::object ToJson() const;
};

using EventSink = std::function<void(const Event&)>;

}  // namespace warden::agent
