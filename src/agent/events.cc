#include "agent/events.h"

#include <ctime>

#include <fmt/format.h>

namespace warden::agent {

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kPlan:
      return "plan";
    case EventType::kThought:
      return "thought";
    case EventType::kAction:
      return "action";
    case EventType::kOutput:
      return "output";
    case EventType::kObservation:
      return "observation";
    case EventType::kApproval:
      return "approval";
    case EventType::kUsage:
      return "usage";
    case EventType::kError:
      return "error";
    case EventType::kFinal:
      return "final";
  }
  return "unknown";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (EventType type : {EventType::kPlan, EventType::kThought, EventType::kAction,
                         EventType::kOutput, EventType::kObservation, EventType::kApproval,
                         EventType::kUsage, EventType::kError, EventType::kFinal}) {
    if (EventTypeName(type) == name) {
      return type;
    }
  }
  return std::nullopt;
}

json::object Event::ToJson() const {
  json::object out;
  out["seq"] = seq;
  auto since_epoch = time.time_since_epoch();
  time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
  struct tm utc {};
  ::gmtime_r(&seconds, &utc);
  out["time"] =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  out["type"] = EventTypeName(type);
  for (const auto& [key, value] : data) {
    out[key] = value;
  }
  return out;
}

}  // namespace warden::agent
