#include "cli/api_client.h"

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "llm/http.h"
#include "llm/stream.h"

namespace warden::cli {
namespace {

std::string BaseUrl(const ServerFlags& flags) {
  std::string base = flags.server;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  if (base.find("://") == std::string::npos) {
    base = "http://" + base;
  }
  return base;
}

void AddKey(const ServerFlags& flags, llm::HttpRequest& request) {
  if (!flags.api_key.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + flags.api_key);
  }
}

Error Unreachable(const Error& error) {
  return Error(error.code(), fmt::format("cannot reach the server ({}): is `warden serve` running "
                                         "there? (--server or WARDEN_SERVER)",
                                         error.message()));
}

}  // namespace

void AddServerFlags(CLI::App& app, ServerFlags& flags) {
  // NOLINTBEGIN(concurrency-mt-unsafe): read at start-up
  const char* server = std::getenv("WARDEN_SERVER");
  const char* key = std::getenv("WARDEN_API_KEY");
  // NOLINTEND(concurrency-mt-unsafe)
  flags.server = server != nullptr && server[0] != '\0' ? server : "http://127.0.0.1:8000";
  flags.api_key = key != nullptr ? key : "";
  app.add_option("--server", flags.server, "The server (default $WARDEN_SERVER or 127.0.0.1:8000)");
  app.add_option("--api-key", flags.api_key, "API key (default $WARDEN_API_KEY)");
  app.add_flag("--json", flags.json, "Print JSON");
}

std::string ApiUrl(const ServerFlags& flags, const std::string& path) {
  return BaseUrl(flags) + path;
}

Result<ApiReply> CallApi(const ServerFlags& flags, const std::string& method,
                         const std::string& path, const std::string& body) {
  llm::HttpRequest request;
  request.method = method;
  request.url = BaseUrl(flags) + path;
  request.body = body;
  request.connect_timeout = std::chrono::seconds(5);
  request.idle_timeout = std::chrono::seconds(330);  // a message may wait up to 300 s
  request.headers = {{"Content-Type", "application/json"}};
  AddKey(flags, request);
  auto response = llm::PerformHttp(request, nullptr, nullptr);
  if (!response.ok()) {
    return Unreachable(response.error());
  }
  ApiReply reply{response->status, std::move(response->body), nullptr};
  boost::system::error_code ec;
  reply.value = json::parse(reply.body, ec);
  if (ec) {
    reply.value = nullptr;
  }
  return reply;
}

int PrintApiFailure(const char* verb, const Result<ApiReply>& reply) {
  if (!reply.ok()) {
    fmt::print(stderr, "warden {}: {}\n", verb, reply.error().message());
    return kExitFailed;
  }
  std::string message = reply->body;
  if (const json::object* object = reply->value.if_object()) {
    if (const json::value* error = object->if_contains("error");
        error != nullptr && error->is_object()) {
      if (std::string text = StringField(error->get_object(), "message"); !text.empty()) {
        message = text;
      }
    }
  }
  if (reply->status == 401) {
    message += " (give the key with --api-key or WARDEN_API_KEY)";
  }
  fmt::print(stderr, "warden {}: {}: {}\n", verb, reply->status, message);
  return kExitFailed;
}

std::string StringField(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

Result<std::string> FollowEvents(const ServerFlags& flags, const std::string& job_id,
                                 const EventFn& on_event, const std::atomic<bool>* cancel) {
  std::string state;
  std::string failure;  // an "error" event: the server cannot read the job's events
  llm::SseParser parser([&](const llm::SseEvent& event) -> Status {
    boost::system::error_code ec;
    json::value value = json::parse(event.data, ec);
    if (ec || !value.is_object()) {
      return OkStatus();  // a comment or a ping
    }
    const json::object& e = value.get_object();
    if (event.event == "error") {
      if (const json::value* error = e.if_contains("error");
          error != nullptr && error->is_object()) {
        failure = StringField(error->get_object(), "message");
      }
    }
    if (event.event == "state") {
      if (const json::value* data = e.if_contains("data"); data != nullptr && data->is_object()) {
        state = StringField(data->get_object(), "state");
      }
    }
    on_event(event.event, e, event.data);
    return OkStatus();
  });
  llm::HttpRequest request;
  request.method = "GET";
  request.url = BaseUrl(flags) + "/v1/jobs/" + job_id + "/events";
  request.headers = {{"Accept", "text/event-stream"}};
  AddKey(flags, request);
  request.connect_timeout = std::chrono::seconds(5);
  request.idle_timeout = std::chrono::seconds(90);  // the server pings every 15 s
  auto response = llm::PerformHttp(
      request, [&](std::string_view bytes) { return parser.Feed(bytes); }, cancel);
  if (!response.ok()) {
    return response.error().code() == ErrorCode::kCancelled ? response.error()
                                                            : Unreachable(response.error());
  }
  if (response->status != 200) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("following {}: {} {}", job_id, response->status, response->body));
  }
  if (state.empty() && !failure.empty()) {
    return Error(ErrorCode::kUnavailable, fmt::format("following {}: {}", job_id, failure));
  }
  return state;
}

}  // namespace warden::cli
