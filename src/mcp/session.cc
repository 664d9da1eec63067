#include "mcp/session.h"

#include <array>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "base/log.h"
#include "mcp/session_internal.h"

namespace warden::mcp {
namespace {

constexpr std::array<std::string_view, 4> kVersions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                       "2024-11-05"};

constexpr std::string_view kInstructions =
    "Warden runs code in isolated Linux sandboxes (no network, capped memory, CPU and time). "
    "Call sandbox_run with python or bash code or a command; it creates a sandbox on first use and "
    "returns its sandbox_id. Pass that id to later calls to keep files in /workspace between "
    "runs. Destroy a sandbox with sandbox_destroy when done; idle ones expire.";

bool HasTool(const json::array& tools, std::string_view name) {
  for (const json::value& tool : tools) {
    const json::value* tool_name = tool.as_object().if_contains("name");
    if (tool_name != nullptr && tool_name->is_string() && tool_name->get_string() == name) {
      return true;
    }
  }
  return false;
}

// The progress callback of a call: notifications/progress with the client's token, or nothing.
ProgressFn ProgressFor(const json::object& params, SendFn send) {
  const json::value* meta = params.if_contains("_meta");
  const json::value* token = meta != nullptr && meta->is_object()
                                 ? meta->get_object().if_contains("progressToken")
                                 : nullptr;
  if (token == nullptr || !(token->is_string() || token->is_int64() || token->is_uint64())) {
    return [](double, std::optional<double>, std::string_view) {
    };
  }
  return [token = *token, send = std::move(send)](double progress, std::optional<double> total,
                                                  std::string_view text) {
    json::object note{{"progressToken", token}, {"progress", progress}};
    if (total) {
      note["total"] = *total;
    }
    if (!text.empty()) {
      note["message"] = text;
    }
    send(NotificationMessage("notifications/progress", std::move(note)));
  };
}

}  // namespace

std::span<const std::string_view> SupportedVersions() {
  return kVersions;
}

json::object TextContent(std::string_view text) {
  return json::object{{"type", "text"}, {"text", text}};
}

Session::Session(ToolSet& tools, std::string owner, std::string api_base, TaskRunner* tasks)
    : tools_(tools), owner_(std::move(owner)), api_base_(std::move(api_base)), tasks_(tasks) {}

std::string Session::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

Handled Session::Handle(std::string_view text, SendFn send) {
  auto parsed = ParseMessage(text);
  if (auto* error = std::get_if<json::object>(&parsed)) {
    return Reply(std::move(*error));
  }
  const Message& message = std::get<Message>(parsed);
  if (message.kind == Message::Kind::kResponse) {
    return {};  // this server sends no requests; a stray reply needs no answer
  }
  if (message.kind == Message::Kind::kNotification) {
    if (message.method == "notifications/cancelled") {
      Cancel(message.params);
    }
    // notifications/initialized and the others change nothing here.
    return {};
  }
  const json::value& id = message.id;
  if (message.method == "initialize") {
    if (!message.params.contains("protocolVersion") ||
        !message.params.at("protocolVersion").is_string()) {
      return Reply(ErrorReply(id, kInvalidParams,
                              "initialize needs params.protocolVersion (a string such as "
                              "\"2025-06-18\")"));
    }
    return Reply(ResultReply(id, Initialize(message)));
  }
  if (message.method == "ping") {
    return Reply(ResultReply(id, json::object{}));
  }
  if (version().empty()) {
    return Reply(ErrorReply(id, kInvalidRequest,
                            fmt::format("{} before initialize: send initialize first, then "
                                        "notifications/initialized",
                                        message.method)));
  }
  if (message.method == "tools/list") {
    return Reply(ResultReply(id, json::object{{"tools", tools_.List()}}));
  }
  if (message.method == "tools/call") {
    return CallTool(message, std::move(send));
  }
  if (message.method.starts_with("tasks/") && tasks_ != nullptr) {
    return HandleTask(message, std::move(send));
  }
  return Reply(
      ErrorReply(id, kMethodNotFound,
                 fmt::format("method \"{}\" not found: this server offers initialize, ping, "
                             "tools/list and tools/call",
                             message.method)));
}

json::object Session::Initialize(const Message& message) {
  std::string_view asked = message.params.at("protocolVersion").get_string();
  std::string_view agreed = kVersions.front();
  for (std::string_view version : kVersions) {
    if (version == asked) {
      agreed = version;
    }
  }
  {
    std::lock_guard lock(mu_);
    version_ = agreed;
  }
  json::object capabilities{{"tools", json::object{{"listChanged", false}}}};
  if (tasks_ != nullptr && agreed == kVersions.front()) {  // tasks came with 2025-11-25
    capabilities["tasks"] =
        json::object{{"list", json::object{}},
                     {"cancel", json::object{}},
                     {"requests", json::object{{"tools", json::object{{"call", json::object{}}}}}}};
  }
  return json::object{
      {"protocolVersion", agreed},
      {"capabilities", std::move(capabilities)},
      {"serverInfo",
       json::object{{"name", "warden"}, {"title", "Warden sandbox"}, {"version", "0.1.0"}}},
      {"instructions", kInstructions}};
}

Handled Session::CallTool(const Message& message, SendFn send) {
  const json::value& id = message.id;
  const json::value* name = message.params.if_contains("name");
  if (name == nullptr || !name->is_string()) {
    return Reply(
        ErrorReply(id, kInvalidParams, "tools/call needs params.name (a tool from tools/list)"));
  }
  const json::value* arguments = message.params.if_contains("arguments");
  if (arguments != nullptr && !arguments->is_object()) {
    return Reply(
        ErrorReply(id, kInvalidParams, "params.arguments of tools/call must be an object"));
  }
  json::array tools = tools_.List();
  if (!HasTool(tools, name->get_string())) {
    return Reply(
        ErrorReply(id, kInvalidParams,
                   fmt::format("unknown tool \"{}\": call tools/list for the tools there are",
                               name->get_string())));
  }
  json::object args = arguments != nullptr ? arguments->get_object() : json::object{};
  if (message.params.contains("task")) {
    return CallAsTask(message, name->get_string(), args);
  }
  auto token = std::make_shared<sandbox::CancelToken>();
  CallContext context = ContextFor(message, std::move(send), token);
  auto call = [this, id, tool = std::string(name->get_string()), args = std::move(args),
               context = std::move(context), token]() -> json::object {
    ToolResult result;
    try {
      auto called = tools_.Call(tool, args, context);
      if (called.ok()) {
        result = std::move(called).value();
      } else {
        result.is_error = true;
        result.content.push_back(TextContent(called.error().message()));
      }
    } catch (const std::exception& e) {
      LOG_ERROR("tool {} threw: {}", tool, e.what());
      result.is_error = true;
      result.content.push_back(TextContent(fmt::format("internal error: {}", e.what())));
    }
    {
      std::lock_guard lock(mu_);
      running_.erase(KeyOf(id));
    }
    return ResultReply(id, ResultJson(result));
  };
  return {std::nullopt, std::move(call), id};
}

CallContext Session::ContextFor(const Message& message, SendFn send,
                                const std::shared_ptr<sandbox::CancelToken>& token) {
  {
    std::lock_guard lock(mu_);
    running_[KeyOf(message.id)] = token;
  }
  return CallContext{owner_, token.get(), ProgressFor(message.params, std::move(send)), api_base_};
}

void Session::Cancel(const json::object& params) {
  if (const json::value* request_id = params.if_contains("requestId"); request_id != nullptr) {
    CancelCall(*request_id);
  }
}

void Session::CancelCall(const json::value& id) {
  std::lock_guard lock(mu_);
  if (auto it = running_.find(KeyOf(id)); it != running_.end()) {
    it->second->Cancel();
  }
}

void Session::CancelAll() {
  std::lock_guard lock(mu_);
  for (auto& [id, token] : running_) {
    token->Cancel();
  }
}

}  // namespace warden::mcp
