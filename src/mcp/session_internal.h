// Helpers shared by the files of Session (session.cc, session_tasks.cc). Internal.
#pragma once

#include <string>
#include <utility>

#include "base/json.h"
#include "mcp/session.h"

namespace warden::mcp {

// A request id as a map key.
inline std::string KeyOf(const json::value& id) {
  return json::serialize(id);
}

inline Handled Reply(json::object reply) {
  Handled handled;
  handled.reply = std::move(reply);
  return handled;
}

// A CallToolResult.
inline json::object ResultJson(const ToolResult& result) {
  json::object out{{"content", result.content}, {"isError", result.is_error}};
  if (!result.structured.empty()) {
    out["structuredContent"] = result.structured;
  }
  return out;
}

}  // namespace warden::mcp
