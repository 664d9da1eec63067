// JSON-RPC 2.0 as MCP uses it: one message per text (no batches since MCP 2025-06-18), requests
// with a string or integer id, notifications without one, and the error replies of the standard.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "base/json.h"

namespace warden::mcp {

// The error codes of JSON-RPC 2.0 (section 5.1).
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;

// One message read from a client, checked against JSON-RPC 2.0.
struct Message {
  enum class Kind {
    kRequest,       // method and id: answered with a result or an error
    kNotification,  // method, no id: never answered
    kResponse,      // result or error: a reply to a request of the server's
  };
  Kind kind = Kind::kRequest;
  json::value id;       // string or integer; null for a notification
  std::string method;   // empty for a response
  json::object params;  // {} when the message had none
};

// Parses one message. A text that is not JSON, or JSON that is not a valid message, yields the
// error reply to send instead (with the request's id when it could be read, else null), whose
// message says what is wrong and what a valid message looks like.
std::variant<Message, json::object> ParseMessage(std::string_view text);

// {"jsonrpc":"2.0","id":id,"result":result}
json::object ResultReply(const json::value& id, json::value result);
// {"jsonrpc":"2.0","id":id,"error":{"code","message"[,"data"]}}
json::object ErrorReply(const json::value& id, int code, std::string_view message,
                        json::value data = nullptr);
// {"jsonrpc":"2.0","method":method,"params":params}
json::object NotificationMessage(std::string_view method, json::object params);

}  // namespace warden::mcp
