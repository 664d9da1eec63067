#include "mcp/jsonrpc.h"

#include <fmt/format.h>

namespace warden::mcp {
namespace {

json::object Invalid(const json::value& id, std::string_view why) {
  return ErrorReply(id, kInvalidRequest, fmt::format("invalid JSON-RPC request: {}", why));
}

bool IsValidId(const json::value& id) {
  return id.is_string() || id.is_int64() || id.is_uint64();
}

}  // namespace

std::variant<Message, json::object> ParseMessage(std::string_view text) {
  json::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) {
    return ErrorReply(nullptr, kParseError,
                      fmt::format("the message is not JSON ({}): send one JSON-RPC 2.0 object "
                                  "per message",
                                  ec.message()));
  }
  if (value.is_array()) {
    return Invalid(nullptr,
                   "batches (arrays) are not part of MCP since 2025-06-18; send one "
                   "message at a time");
  }
  if (!value.is_object()) {
    return Invalid(nullptr, "a message is a JSON object with \"jsonrpc\": \"2.0\"");
  }
  const json::object& object = value.get_object();
  json::value id = nullptr;
  const json::value* id_field = object.if_contains("id");
  if (id_field != nullptr) {
    if (!IsValidId(*id_field)) {
      return Invalid(nullptr, "\"id\" must be a string or an integer");
    }
    id = *id_field;
  }
  const json::value* version = object.if_contains("jsonrpc");
  if (version == nullptr || !version->is_string() || version->get_string() != "2.0") {
    return Invalid(id, "\"jsonrpc\" must be \"2.0\"");
  }
  Message message;
  message.id = id;
  const json::value* method = object.if_contains("method");
  if (method == nullptr) {
    if (id_field != nullptr && (object.contains("result") || object.contains("error"))) {
      message.kind = Message::Kind::kResponse;
      return message;
    }
    return Invalid(id, "a request needs \"method\" (a string)");
  }
  if (!method->is_string() || method->get_string().empty()) {
    return Invalid(id, "\"method\" must be a non-empty string");
  }
  message.method = method->get_string();
  message.kind = id_field == nullptr ? Message::Kind::kNotification : Message::Kind::kRequest;
  if (const json::value* params = object.if_contains("params"); params != nullptr) {
    if (!params->is_object()) {
      return ErrorReply(id, kInvalidParams,
                        fmt::format("\"params\" of {} must be an object (by name), not {}",
                                    message.method, params->is_array() ? "an array" : "a scalar"));
    }
    message.params = params->get_object();
  }
  return message;
}

json::object ResultReply(const json::value& id, json::value result) {
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json::object ErrorReply(const json::value& id, int code, std::string_view message,
                        json::value data) {
  json::object error{{"code", code}, {"message", message}};
  if (!data.is_null()) {
    error["data"] = std::move(data);
  }
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

json::object NotificationMessage(std::string_view method, json::object params) {
  return json::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

}  // namespace warden::mcp
